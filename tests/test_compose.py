"""docker-compose.yml, the Dockerfile and deploy/, checked without Docker.

(a) The compose file follows the Compose Specification (its JSON schema, as vendored by the
    check-jsonschema package: offline). (b) Every DSR_* variable the deployment files name is a
    field of infra.config.Settings, so a renamed setting fails here and not in production.
(c) The services the engine needs exist and point at each other. (d) The settings each engine
    container gets (its environment, the image's, and the secrets as deploy/entrypoint.sh turns
    them into variables, with fresh placeholder secrets from deploy/make_secrets.py) build a
    production Settings that passes its validators.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from activities.roster import check_declarations
from contract import search
from infra.codec import KeyRing
from infra.config import SYSTEM_NAMES, Settings
from tests.support.docker import DOCKERFILE, dockerfile_environment, instructions

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy"
DOCS = ROOT / "docs" / "deployment.md"

# The engine's containers: one image, settings from DSR_* variables.
ENGINE_SERVICES = ("worker", "codec-server", "migrate", "case-service", "demo-systems")
# What deploy/entrypoint.sh turns from a file under /run/secrets into a variable.
VARIABLE_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
DSR_NAME = re.compile(r"\bDSR_[A-Z0-9_]*[A-Z0-9]\b")
# Settings that are secrets: never written into the compose file, only handed over as secrets.
SECRET_SETTINGS = {
    "DSR_SUBJECT_REFERENCE_SECRET",
    "DSR_CODEC_TOKENS",
    "DSR_ENCRYPTION_KEYS",
    "DSR_TEMPORAL_API_KEY",
    "DSR_SMTP_PASSWORD",
}


def load(path: Path = COMPOSE) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load()


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    assert name in compose["services"], f"docker-compose.yml has no service {name!r}"
    found: dict[str, Any] = compose["services"][name]
    return found


def environment(compose: dict[str, Any], name: str) -> dict[str, str]:
    """A service's environment as the container sees it (a map in this file, by convention)."""
    env = service(compose, name).get("environment", {})
    assert isinstance(env, dict), f"{name}: write `environment` as a map"
    return {key: "" if value is None else str(value) for key, value in env.items()}


def published(compose: dict[str, Any], name: str) -> dict[int, tuple[str, int]]:
    """Container port -> (host address, host port) for a service's published ports."""
    ports: dict[int, tuple[str, int]] = {}
    for entry in service(compose, name).get("ports", []):
        if isinstance(entry, dict):
            ports[int(entry["target"])] = (entry.get("host_ip", ""), int(entry["published"]))
            continue
        parts = str(entry).split(":")
        host_ip = parts[0] if len(parts) == 3 else ""
        ports[int(parts[-1].split("/")[0])] = (host_ip, int(parts[-2]))
    return ports


def host_and_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


# (a) The Compose Specification -----------------------------------------------------------


def check_compose_schema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_compose_file_follows_the_compose_specification() -> None:
    done = check_compose_schema(COMPOSE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_refuses_what_compose_would_refuse(tmp_path: Path) -> None:
    # Misspelt keys (`replica` for `replicas`, `secret` for `secrets`): compose refuses them,
    # and so must the check, or (a) proves nothing.
    broken = load()
    broken["services"]["worker"]["deploy"] = {"replica": 2}
    broken["secret"] = broken.pop("secrets")
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    done = check_compose_schema(path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "'replica'" in done.stdout and "'secret'" in done.stdout


# (b) Every DSR_* name is a setting ----------------------------------------------------------


def is_setting(name: str) -> bool:
    """DSR_X is the field x of Settings; DSR_X__KEY sets one key of the field x."""
    field = name.removeprefix("DSR_").split("__")[0].lower()
    return field in Settings.model_fields


def deployment_files() -> list[Path]:
    files = [COMPOSE, DOCKERFILE, DOCS]
    files += sorted(
        path
        for path in DEPLOY.rglob("*")
        if path.suffix in {".py", ".sh", ".yaml", ".yml", ".md"} and "secrets" not in path.parts
    )
    return files


def test_every_dsr_variable_named_in_the_deployment_is_a_setting() -> None:
    named: dict[str, set[str]] = {}
    for path in deployment_files():
        for name in DSR_NAME.findall(path.read_text(encoding="utf-8")):
            named.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    unknown = {name: sorted(where) for name, where in named.items() if not is_setting(name)}
    assert not unknown, f"not fields of infra.config.Settings: {unknown}"
    # Not vacuous: the compose file alone names a good many settings.
    in_compose = set(DSR_NAME.findall(COMPOSE.read_text(encoding="utf-8")))
    assert len(in_compose) >= 15, sorted(in_compose)


def test_every_secret_target_named_like_a_setting_is_one(compose: dict[str, Any]) -> None:
    for name in ENGINE_SERVICES:
        for secret in service(compose, name).get("secrets", []):
            target = secret if isinstance(secret, str) else secret.get("target", secret["source"])
            if target.startswith("DSR_"):
                assert is_setting(target), f"{name}: secret target {target} is no setting"


def test_a_renamed_setting_would_be_caught() -> None:
    assert is_setting("DSR_TEMPORAL_ADDRESS") and is_setting("DSR_SYSTEM_URLS__BILLING")
    assert not is_setting("DSR_TEMPORAL_ADRESS") and not is_setting("DSR_UI_ORIGINS")


# (c) The services and their wiring ----------------------------------------------------------


def test_the_services_the_engine_needs_exist(compose: dict[str, Any]) -> None:
    needed = {
        "postgresql",
        "temporal-schema",
        "temporal",
        "temporal-admin-tools",
        "temporal-ui",
        "migrate",
        "worker",
        "codec-server",
    }
    assert needed <= set(compose["services"]), sorted(needed - set(compose["services"]))
    assert service(compose, "postgresql")["image"].startswith("postgres:")
    assert service(compose, "temporal")["image"].startswith("temporalio/")
    assert service(compose, "temporal-ui")["image"].startswith("temporalio/ui:")
    assert service(compose, "worker")["command"] == ["python", "worker.py"]
    assert service(compose, "codec-server")["command"] == ["python", "codec_server.py"]
    for name in ENGINE_SERVICES:
        assert service(compose, name)["build"]["dockerfile"] == "Dockerfile", name
        assert service(compose, name)["image"] == service(compose, "worker")["image"], name
        assert environment(compose, name)["DSR_ENVIRONMENT"] == "production", name


def temporal_frontend(compose: dict[str, Any]) -> tuple[str, int]:
    """The temporal service's name and the port its frontend serves (gRPC)."""
    port = int(environment(compose, "temporal").get("FRONTEND_GRPC_PORT", "7233"))
    return "temporal", port


def test_engine_reaches_temporal_by_its_service_and_port(compose: dict[str, Any]) -> None:
    expected = temporal_frontend(compose)
    for name in ENGINE_SERVICES:
        address = environment(compose, name)["DSR_TEMPORAL_ADDRESS"]
        assert host_and_port(address) == expected, f"{name}: {address}"
    for name in ("temporal-admin-tools", "temporal-ui"):
        address = environment(compose, name)["TEMPORAL_ADDRESS"]
        assert host_and_port(address) == expected, f"{name}: {address}"
    # The server listens on every interface of its container, at that port.
    assert environment(compose, "temporal")["BIND_ON_IP"] == "0.0.0.0"
    assert str(expected[1]) in service(compose, "temporal")["healthcheck"]["test"]
    assert expected[1] in published(compose, "temporal")


def engine_database_urls(env: dict[str, str]) -> dict[str, str]:
    urls = {
        "DSR_REGISTER_URL": env["DSR_REGISTER_URL"],
        "DSR_DOCUMENT_ARCHIVE_URL": env["DSR_DOCUMENT_ARCHIVE_URL"],
    }
    systems = json.loads(env["DSR_SYSTEM_URLS"])
    assert set(systems) == set(SYSTEM_NAMES), "DSR_SYSTEM_URLS names every connected system"
    urls.update({f"DSR_SYSTEM_URLS[{name}]": url for name, url in systems.items()})
    return urls


def test_database_urls_name_the_postgresql_service(compose: dict[str, Any]) -> None:
    postgres = environment(compose, "postgresql")
    created = set(postgres["ENGINE_DATABASES"].split())
    for name in ENGINE_SERVICES:
        for setting, text in engine_database_urls(environment(compose, name)).items():
            url = make_url(text)
            where = f"{name} {setting}"
            assert url.drivername == "postgresql+asyncpg", where
            assert (url.host, url.port or 5432) == ("postgresql", 5432), where
            assert url.username == postgres["POSTGRES_USER"], where
            assert url.password is None, f"{where}: the password comes from PGPASSWORD"
            assert url.database in created, f"{where}: {url.database} is not created"


def test_temporal_keeps_its_data_on_the_postgresql_service(compose: dict[str, Any]) -> None:
    postgres = environment(compose, "postgresql")
    server, schema = environment(compose, "temporal"), environment(compose, "temporal-schema")
    assert server["DB"] == "postgres12"
    assert (server["POSTGRES_SEEDS"], server["DB_PORT"]) == ("postgresql", "5432")
    assert (schema["SQL_HOST"], schema["SQL_PORT"]) == ("postgresql", "5432")
    assert server["POSTGRES_USER"] == schema["SQL_USER"] == postgres["POSTGRES_USER"]
    assert (server["DBNAME"], server["VISIBILITY_DBNAME"]) == (
        schema["TEMPORAL_DB"],
        schema["VISIBILITY_DB"],
    )
    # Temporal's databases are its own, not the engine's.
    engine = set(postgres["ENGINE_DATABASES"].split())
    assert not {server["DBNAME"], server["VISIBILITY_DBNAME"]} & engine
    # The schema is set up before the server starts, and the server's image matches the tools'.
    depends = service(compose, "temporal")["depends_on"]
    assert depends["temporal-schema"]["condition"] == "service_completed_successfully"
    server_version = service(compose, "temporal")["image"].rpartition(":")[2]
    for name in ("temporal-schema", "temporal-admin-tools"):
        assert service(compose, name)["image"] == f"temporalio/admin-tools:{server_version}"


def test_admin_tools_register_the_engines_search_attributes(compose: dict[str, Any]) -> None:
    admin = environment(compose, "temporal-admin-tools")
    registered = dict(pair.split("=") for pair in admin["SEARCH_ATTRIBUTES"].split())
    kinds = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}
    expected = {key.name: kinds[key.indexed_value_type.name] for key in search.ALL}
    assert registered == expected
    # In the namespace the engine uses.
    for name in ENGINE_SERVICES:
        assert environment(compose, name)["DSR_TEMPORAL_NAMESPACE"] == admin["NAMESPACE"], name
    assert "register-search-attributes.sh" in " ".join(
        service(compose, "temporal-admin-tools")["entrypoint"]
    )


def ui_origins(compose: dict[str, Any]) -> set[str]:
    """Where a browser reaches the Web UI, as published: its origin by address and by name."""
    ui_port = int(environment(compose, "temporal-ui").get("TEMPORAL_UI_PORT", "8080"))
    host_ip, host_port = published(compose, "temporal-ui")[ui_port]
    assert host_ip in ("127.0.0.1", ""), "the UI is published on the loopback address"
    return {f"http://127.0.0.1:{host_port}", f"http://localhost:{host_port}"}


def test_ui_codec_endpoint_is_the_codec_servers_published_port(compose: dict[str, Any]) -> None:
    # The browser, not the UI's server, calls the codec server: the endpoint is the codec
    # server's published address, which leads to the port DSR_CODEC_ADDRESS listens on.
    endpoint = urlsplit(environment(compose, "temporal-ui")["TEMPORAL_CODEC_ENDPOINT"])
    listen_host, listen_port = host_and_port(
        environment(compose, "codec-server")["DSR_CODEC_ADDRESS"]
    )
    assert listen_host == "0.0.0.0", "the codec server must listen beyond its container"
    host_ip, host_port = published(compose, "codec-server")[listen_port]
    assert endpoint.scheme == "http" and endpoint.port == host_port
    assert endpoint.hostname in {host_ip, "127.0.0.1", "localhost"} - {""}
    assert str(listen_port) in " ".join(service(compose, "codec-server")["healthcheck"]["test"])


def test_worker_healthcheck_probes_the_health_port(compose: dict[str, Any]) -> None:
    host, port = host_and_port(environment(compose, "worker")["DSR_WORKER_HEALTH_ADDRESS"])
    assert host == "0.0.0.0", "the health endpoint must answer beyond the container's loopback"
    probe = " ".join(service(compose, "worker")["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/healthz" in probe


def test_workers_scale_on_one_task_queue(compose: dict[str, Any]) -> None:
    worker = service(compose, "worker")
    assert worker["deploy"]["replicas"] >= 2
    assert "container_name" not in worker and "ports" not in worker, "replicas cannot share them"
    # Docker waits longer than the worker lets its activities finish.
    grace = float(environment(compose, "worker")["DSR_WORKER_SHUTDOWN_GRACE_SECONDS"])
    stop = worker["stop_grace_period"]
    assert stop.endswith("s") and float(stop[:-1]) > grace
    # Every worker and the case service share the extract store.
    volume = "engine-data:/var/lib/dsr"
    assert volume in worker["volumes"] and volume in service(compose, "case-service")["volumes"]
    assert dockerfile_environment()["DSR_VAR_DIR"] == "/var/lib/dsr"


def test_worker_starts_after_migrations_and_search_attributes(compose: dict[str, Any]) -> None:
    depends = service(compose, "worker")["depends_on"]
    for one_shot in ("migrate", "temporal-admin-tools"):
        assert depends[one_shot]["condition"] == "service_completed_successfully"
    assert service(compose, "migrate")["command"] == ["python", "-m", "infra.migrate", "upgrade"]
    assert service(compose, "migrate")["depends_on"]["postgresql"]["condition"] == (
        "service_healthy"
    )
    # The command exists (a renamed one fails here, not in the first deployment).
    done = subprocess.run(
        [sys.executable, "-m", "infra.migrate", "upgrade", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_secrets_are_files_and_never_in_the_compose_file(compose: dict[str, Any]) -> None:
    declared = compose["secrets"]
    for source in declared.values():
        assert source["file"].startswith("./deploy/secrets/")
    for name, spec in compose["services"].items():
        for secret in spec.get("secrets", []):
            source = secret if isinstance(secret, str) else secret["source"]
            assert source in declared, f"{name}: secret {source} is not declared"
        env = environment(compose, name)
        assert not SECRET_SETTINGS & set(env), f"{name}: a secret setting in its environment"
        assert "POSTGRES_PASSWORD" not in env and "POSTGRES_PWD" not in env, name
    # Made on the host, kept out of git and out of the image.
    ignored = (DEPLOY / "secrets" / ".gitignore").read_text().split()
    assert ignored[ignored.index("*") :] == ["*", "!.gitignore"]
    assert "deploy/secrets/" in (ROOT / ".dockerignore").read_text().split()


def test_mounted_files_exist(compose: dict[str, Any]) -> None:
    for config in compose["configs"].values():
        assert (ROOT / config["file"]).is_file(), config["file"]
    for name, spec in compose["services"].items():
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), f"{name}: {source}"


def test_image_runs_the_worker_as_a_non_root_user() -> None:
    (base,) = instructions("FROM")
    assert base.value == ("python:3.11-slim",)
    (user,) = instructions("USER")
    assert user.value[0] not in ("root", "0")
    (entrypoint,) = instructions("ENTRYPOINT")
    assert entrypoint.json and entrypoint.value == ("/app/deploy/entrypoint.sh",)
    assert (DEPLOY / "entrypoint.sh").stat().st_mode & 0o111, "the entrypoint is executable"
    (command,) = instructions("CMD")
    assert command.json and command.value == ("python", "worker.py")
    # Every RUN is valid shell (what the build would run, short of running it).
    for run in instructions("RUN"):
        done = subprocess.run(["sh", "-n", "-c", run.value[0]], capture_output=True, text=True)
        assert done.returncode == 0, f"line {run.start_line}: {done.stderr}"
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "var/", "tests/histories/new/", ".pytest_cache/"):
        assert entry in ignored, entry


# (d) Each engine container's settings --------------------------------------------------------


@pytest.fixture(scope="module")
def placeholder_secrets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fresh secrets, made as an operator makes them (deploy/make_secrets.py)."""
    directory = tmp_path_factory.mktemp("secrets") / "secrets"
    done = subprocess.run(
        [sys.executable, str(DEPLOY / "make_secrets.py"), "--dir", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return directory


def container_environment(compose: dict[str, Any], name: str, secrets: Path) -> dict[str, str]:
    """What a container's process sees: the image's ENV, the service's environment, each
    secret named like a variable as that variable (deploy/entrypoint.sh), the other secrets and
    the configs as files (here: their paths on this machine instead of /run/secrets, /etc/dsr)."""
    spec = service(compose, name)
    env = {**dockerfile_environment(), **environment(compose, name)}
    mounted: dict[str, Path] = {}
    for secret in spec.get("secrets", []):
        source = secret if isinstance(secret, str) else secret["source"]
        target = secret if isinstance(secret, str) else secret.get("target", source)
        file = secrets / Path(compose["secrets"][source]["file"]).name
        if VARIABLE_NAME.fullmatch(target):
            env.setdefault(target, file.read_text(encoding="utf-8").rstrip("\n"))
        else:
            mounted[f"/run/secrets/{target}"] = file
    for config in spec.get("configs", []):
        mounted[config["target"]] = ROOT / compose["configs"][config["source"]]["file"]
    for inside, outside in mounted.items():
        env = {key: value.replace(inside, str(outside)) for key, value in env.items()}
    return env


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for key in list(os.environ):
        if key.startswith(("DSR_", "PG")):
            monkeypatch.delenv(key)
    yield monkeypatch


def settings_for(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings()


@pytest.mark.parametrize("name", ENGINE_SERVICES)
def test_engine_settings_pass_the_production_checks(
    name: str,
    compose: dict[str, Any],
    placeholder_secrets: Path,
    clean_environment: pytest.MonkeyPatch,
) -> None:
    env = container_environment(compose, name, placeholder_secrets)
    settings = settings_for(env, clean_environment)
    assert settings.environment == "production"
    ring = settings.key_ring()
    assert ring is not None and ring.current in ring.keys
    assert settings.accept_unsealed_payloads is False
    assert settings.var_dir == Path("/var/lib/dsr")
    assert env["PGPASSWORD"] == (placeholder_secrets / "postgres_password").read_text().strip()
    if "configs" in service(compose, name):
        check_declarations(settings)  # the roster and delegations the worker starts with


def test_codec_server_allows_the_ui_origin(
    compose: dict[str, Any], placeholder_secrets: Path, clean_environment: pytest.MonkeyPatch
) -> None:
    env = container_environment(compose, "codec-server", placeholder_secrets)
    allowed = set(settings_for(env, clean_environment).ui_origins)
    assert ui_origins(compose) <= allowed, (sorted(ui_origins(compose)), sorted(allowed))


def test_without_its_secrets_the_worker_is_refused(
    compose: dict[str, Any], clean_environment: pytest.MonkeyPatch
) -> None:
    # The production checks are what (d) relies on: without the secrets they refuse.
    env = {**dockerfile_environment(), **environment(compose, "worker")}
    env.pop("DSR_ENCRYPTION_KEY_FILE")
    with pytest.raises(ValidationError, match="DSR_SUBJECT_REFERENCE_SECRET"):
        settings_for(env, clean_environment)


# The tools under deploy/ ----------------------------------------------------------------------


def test_entrypoint_turns_secret_files_into_variables(tmp_path: Path) -> None:
    (tmp_path / "DSR_SUBJECT_REFERENCE_SECRET").write_text("from the file\n")
    (tmp_path / "PGPASSWORD").write_text("pw")
    (tmp_path / "DSR_LOG_LEVEL").write_text("DEBUG")
    (tmp_path / "payload_keys.json").write_text("{}")  # a file setting: stays a file
    done = subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), "env"],
        env={"PATH": os.environ["PATH"], "SECRETS_DIR": str(tmp_path), "DSR_LOG_LEVEL": "INFO"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert seen["DSR_SUBJECT_REFERENCE_SECRET"] == "from the file"
    assert seen["PGPASSWORD"] == "pw"
    assert seen["DSR_LOG_LEVEL"] == "INFO", "a variable already set wins"
    assert not any(key.startswith("payload") for key in seen)


def run_make_secrets(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEPLOY / "make_secrets.py"), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_make_secrets_never_overwrites_and_rotates_payload_keys(tmp_path: Path) -> None:
    directory = tmp_path / "secrets"
    assert run_make_secrets("--dir", str(directory)).returncode == 0
    before = {path.name: path.read_text() for path in directory.iterdir()}
    assert set(before) == {
        "postgres_password",
        "subject_reference_secret",
        "codec_tokens",
        "payload_keys.json",
    }
    assert run_make_secrets("--dir", str(directory)).returncode == 0
    assert {path.name: path.read_text() for path in directory.iterdir()} == before
    assert len(json.loads(before["codec_tokens"])[0]) >= 16  # what the codec server demands

    first = KeyRing.from_file(directory / "payload_keys.json")
    assert run_make_secrets("--dir", str(directory), "--add-payload-key").returncode == 0
    added = KeyRing.from_file(directory / "payload_keys.json")
    assert added.current == first.current and len(added.keys) == 2
    (new,) = set(added.keys) - set(first.keys)
    assert run_make_secrets("--dir", str(directory), "--make-current", new).returncode == 0
    rotated = KeyRing.from_file(directory / "payload_keys.json")
    assert rotated.current == new
    assert rotated.keys[first.current] == first.keys[first.current], "the old key stays"
    assert run_make_secrets("--dir", str(directory), "--make-current", "nope").returncode != 0
    assert base64.b64decode(json.loads(before["payload_keys.json"])["keys"][first.current])


def test_replay_tool_replays_histories_and_catches_a_nondeterministic_change(
    tmp_path: Path,
) -> None:
    history = ROOT / "tests" / "histories" / "objection.json"
    changed = tmp_path / "objection_as_restriction.json"
    changed.write_text(
        history.read_text().replace('"name": "ObjectionWorkflow"', '"name": "RestrictionWorkflow"')
    )

    def replay(path: Path) -> subprocess.CompletedProcess[str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("DSR_")}
        env["DSR_ENVIRONMENT"] = "development"  # the committed histories' key is development's
        return subprocess.run(
            [sys.executable, str(DEPLOY / "replay.py"), str(path)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    good = replay(history)
    assert good.returncode == 0 and "replayed 1 histories, 0 failed" in good.stdout, good.stdout
    bad = replay(changed)
    assert bad.returncode == 1 and "1 failed" in bad.stdout, bad.stdout


def test_people_get_no_container_with_the_engines_secrets(compose: dict[str, Any]) -> None:
    """Staff act through the case service; no CLI container holds payload keys or Temporal."""
    assert "cli" not in compose["services"]
    case_service = service(compose, "case-service")
    assert case_service["command"] == ["python", "-m", "service"]
    host, port = host_and_port(environment(compose, "case-service")["DSR_SERVICE_ADDRESS"])
    assert published(compose, "case-service") == {port: ("127.0.0.1", port)}
    assert f"127.0.0.1:{port}/healthz" in " ".join(case_service["healthcheck"]["test"])
    issuer = environment(compose, "case-service")["DSR_OIDC_ISSUER"]
    assert issuer.startswith("${DSR_OIDC_ISSUER:?"), "the provider is the organisation's own"


def test_the_web_ui_signs_people_in_and_the_codec_server_judges_their_token(
    compose: dict[str, Any],
) -> None:
    """Issue 20, point 5: supervisors sign in to the UI at the organisation's provider, the UI
    passes their access token on, and the codec server checks it like the case service (the
    same audience and roster) before it decodes, recording who decoded which case."""
    ui = environment(compose, "temporal-ui")
    assert ui["TEMPORAL_AUTH_ENABLED"] == "true" and ui["TEMPORAL_AUTH_TYPE"] == "oidc"
    assert ui["TEMPORAL_AUTH_PROVIDER_URL"].startswith("${DSR_OIDC_ISSUER:?")
    assert ui["TEMPORAL_AUTH_CLIENT_SECRET"].startswith("${WEB_UI_OIDC_CLIENT_SECRET:?")
    assert ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true"
    assert ui["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    codec = environment(compose, "codec-server")
    for name in ("DSR_OIDC_AUDIENCE", "DSR_OIDC_LOGIN_CLAIM", "DSR_OIDC_ISSUER", "DSR_ROSTER"):
        assert codec[name] == environment(compose, "case-service")[name], name
    assert (
        service(compose, "codec-server")["configs"] == service(compose, "case-service")["configs"]
    )
    assert "migrate" in service(compose, "codec-server")["depends_on"], "it writes the trail"
