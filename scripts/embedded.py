"""The embedded stack's parts: the Temporal dev server, the demo systems, the worker, the local
identity provider and the case service, started and stopped together (`running_stack`); the
demo's people at the command line and the customer e-service (`Stack`, `Person`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cli.signin import DEFAULT_SERVICE_URL
from contract import search
from demo.archive import seed_archive
from demo.systems import seed_demo_systems
from infra.binaries import temporal_binary
from infra.config import PROJECT_ROOT, Settings
from infra.idp import (
    ESERVICE_CLIENT,
    IdentityProviderError,
    LocalIdentityProvider,
    command_line_sign_in,
    demo_password,
    start_identity_provider,
)
from infra.outbox import FakeEidProvider
from infra.roster import load_roster


def port_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, *, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if time.monotonic() > deadline:
            sys.exit(f"{what} did not come up on {host}:{port} within {timeout:.0f} s")
        time.sleep(0.3)


@contextlib.contextmanager
def running_stack(settings: Settings) -> Iterator[Stack]:
    """The stack up until the block ends; what it yields signs people in and acts as them."""
    host, port = settings.temporal_address.rsplit(":", 1)
    if port_open(host, int(port)):
        sys.exit(
            f"something already listens on {settings.temporal_address}: is `make run` up? "
            "Stop it first (Ctrl-C in its terminal)."
        )
    log_dir = settings.var_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    ui_port = settings.ui_url.rsplit(":", 1)[1].strip("/")
    codec_host, codec_port = settings.codec_address.rsplit(":", 1)
    # The UI cannot send a bearer token without an identity provider: in development its codec
    # endpoint carries one in the path (the codec server refuses that in production).
    codec_flags = (
        ["--ui-codec-endpoint", f"{settings.codec_url}/t/{settings.codec_token_values[0]}"]
        if settings.payload_encryption
        else []
    )
    server = subprocess.Popen(
        [
            temporal_binary(),
            "server",
            "start-dev",
            "--ip",
            host,
            "--port",
            port,
            "--ui-port",
            ui_port,
            "--db-filename",
            str(settings.var_dir / "temporal.db"),
            "--namespace",
            settings.temporal_namespace,
            "--log-level",
            "warn",
            *search.cli_flags(),
            *codec_flags,
        ],
        stdout=open(log_dir / "temporal.log", "ab"),  # noqa: SIM115 - lives as long as the server
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker: subprocess.Popen[bytes] | None = None
    codec: subprocess.Popen[bytes] | None = None
    service: subprocess.Popen[bytes] | None = None
    idp: LocalIdentityProvider | None = None
    try:
        wait_for_port(host, int(port), what="the Temporal dev server")
        wait_for_port(host, int(ui_port), what="the Temporal Web UI")
        seed_if_missing(settings)
        # As an operator does before starting workers of a new version.
        subprocess.run([sys.executable, "-m", "infra.migrate", "upgrade"], check=True)
        worker = subprocess.Popen(
            [sys.executable, str(PROJECT_ROOT / "worker.py")],
            stdout=open(log_dir / "worker.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            env={**os.environ, "DSR_LOG_FORMAT": "json"},
            start_new_session=True,
        )
        if settings.payload_encryption:
            if port_open(codec_host, int(codec_port)):
                sys.exit(f"something already listens on {settings.codec_address} (codec server)")
            codec = subprocess.Popen(
                [sys.executable, str(PROJECT_ROOT / "codec_server.py")],
                stdout=open(log_dir / "codec_server.log", "ab"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
                env={**os.environ, "DSR_LOG_FORMAT": "json"},
                start_new_session=True,
            )
            wait_for_port(codec_host, int(codec_port), what="the codec server")
        idp = local_identity_provider(settings, log_dir)
        service_host, service_port = settings.service_address.rsplit(":", 1)
        if port_open(service_host, int(service_port)):
            sys.exit(f"something already listens on {settings.service_address} (case service)")
        service = subprocess.Popen(
            [sys.executable, "-m", "service"],
            cwd=PROJECT_ROOT,
            stdout=open(log_dir / "service.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "DSR_LOG_FORMAT": "json",
                "DSR_OIDC_ISSUER": idp.issuer,
                # The console's sign-in: the local provider's secret for it, made at its start.
                "DSR_OIDC_CONSOLE_CLIENT_SECRET": idp.console_secret,
                "DSR_CONSOLE_URL": settings.service_url,
            },
            start_new_session=True,
        )
        wait_for_port(service_host, int(service_port), what="the case service")
        time.sleep(1.0)
        if worker.poll() is not None:
            sys.exit(f"the worker stopped at start; see {log_dir / 'worker.log'}")
        yield Stack(settings, idp)
    finally:
        if idp is not None:
            idp.stop()
        for process in (service, codec, worker, server):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (service, codec, worker, server):
            if process is not None:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


def local_identity_provider(settings: Settings, log_dir: Path) -> LocalIdentityProvider:
    """The local OpenID Connect provider at the configured issuer's port, the roster's staff
    as its users."""
    port = int(settings.oidc_issuer.rstrip("/").rsplit(":", 1)[1])
    if port_open("127.0.0.1", port):
        sys.exit(f"something already listens on {settings.oidc_issuer} (identity provider)")
    try:
        return start_identity_provider(
            demo_logins(settings),
            console_redirects=[f"{settings.service_url}/auth/callback"],
            port=port,
            log=open(log_dir / "idp.log", "a"),  # noqa: SIM115 - lives as long as the provider
        )
    except IdentityProviderError as error:
        sys.exit(str(error))


def demo_logins(settings: Settings) -> list[str]:
    return list(load_roster(settings.roster).staff)


def print_sign_in(settings: Settings) -> None:
    """Where the web console and the API are, how a person signs in, and the demo logins."""
    print(
        f"Web console: {settings.service_url}/ (sign in in a browser with a demo login below); "
        f"the API at {settings.service_url}/api/v1 (described in "
        f"{settings.service_url}/api/v1/openapi.json); sign-in at {settings.oidc_issuer}",
        flush=True,
    )
    prefix = (
        ""
        if settings.service_url == DEFAULT_SERVICE_URL
        else f"DSR_SERVICE_URL={settings.service_url} "
    )
    print(
        f"At the command line, sign in first: {prefix}python starter.py login (open the page it "
        "shows, enter the code, sign in with a demo login); every command then acts as you.",
        flush=True,
    )
    logins = ", ".join(f"{login} / {demo_password(login)}" for login in demo_logins(settings))
    print(f"Demo logins (login / password): {logins}", flush=True)


# --- people at the command line, and the customer e-service ---------------------------------

STARTER = PROJECT_ROOT / "starter.py"


@dataclass(frozen=True)
class Person:
    """Someone at the command line in front of the stack's case service: `starter.py` as they
    run it, with their sign-in (kept under `home`) and nothing of the engine in its
    environment."""

    login: str
    service_url: str
    home: Path

    @property
    def env(self) -> dict[str, str]:
        kept = {key: value for key, value in os.environ.items() if not key.startswith("DSR_")}
        return {**kept, "DSR_SERVICE_URL": self.service_url, "XDG_CONFIG_HOME": str(self.home)}

    def sign_in(self) -> list[str]:
        """`python starter.py login`, and the person's part in the identity provider's page
        (the demo types their password); the lines the command printed."""
        try:
            return command_line_sign_in(self.env, self.login)
        except IdentityProviderError as error:
            sys.exit(str(error))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(STARTER), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def quiet(self, *args: str) -> dict[str, Any]:
        """A CLI command as this person, whose JSON answer is returned and not shown."""
        done = self.run(*args, "--json")
        if done.returncode != 0:
            sys.exit(f"{self.login}: starter.py {args[0]} failed: {done.stderr.strip()}")
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    def cli(self, *args: str) -> dict[str, Any]:
        """Run one CLI command as this person, show it, and return its JSON answer."""
        print(f"{self.login}$ python starter.py {shlex.join(args)}", flush=True)
        answer = self.quiet(*args)
        print(f"  {json.dumps(answer, ensure_ascii=False)[:300]}", flush=True)
        return answer

    def wait_for(self, case_number: str, states: set[str], timeout: float = 60.0) -> dict[str, Any]:
        """The case's status once it is in one of `states` (`status` as this person)."""
        deadline = time.monotonic() + timeout
        while True:
            done = self.run("status", case_number, "--json")
            if done.returncode == 0:
                current: dict[str, Any] = json.loads(done.stdout)
                if current["state"] in states:
                    return current
            if time.monotonic() > deadline:
                sys.exit(f"{case_number} did not reach {sorted(states)} within {timeout:.0f} s")
            time.sleep(0.5)


@dataclass
class Stack:
    """The running stack: its settings, its identity provider, and the people signed in to its
    case service (each once in the stack's life: the provider's keys are made at each start,
    so an earlier run's sign-in is worth nothing)."""

    settings: Settings
    idp: LocalIdentityProvider
    people: dict[str, Person] = field(default_factory=dict)

    def person(self, login: str) -> Person:
        """`login` at the command line, signed in (the first time by `starter.py login`)."""
        if login not in self.people:
            self.sign_in(login)
        return self.people[login]

    def sign_in(self, *logins: str) -> None:
        """Sign these people in side by side (each waits out the provider's polling interval),
        each in a config directory of their own under var/sign-ins/."""
        new = [
            Person(login, self.settings.service_url, self.settings.var_dir / "sign-ins" / login)
            for login in dict.fromkeys(logins)
            if login not in self.people
        ]
        if not new:
            return
        with ThreadPoolExecutor(max_workers=len(new)) as pool:
            said = list(pool.map(Person.sign_in, new))
        for person, lines in zip(new, said, strict=True):
            print(f"{person.login}$ python starter.py login", flush=True)
            for line in lines:
                print(f"  {line}", flush=True)
            self.people[person.login] = person

    def eservice_token(self) -> str:
        """The customer e-service's access token (OAuth 2.0 client credentials)."""
        with httpx.Client(timeout=10) as http:
            issuer = self.idp.issuer
            metadata = http.get(f"{issuer}/.well-known/openid-configuration").json()
            answer = http.post(
                metadata["token_endpoint"],
                data={"grant_type": "client_credentials", "scope": "api"},
                auth=(ESERVICE_CLIENT, self.idp.eservice_secret),
            )
        if answer.status_code != 200:
            sys.exit(f"the e-service could not sign in: {answer.status_code} {answer.text[:200]}")
        return str(answer.json()["access_token"])

    def eservice_submit(
        self, kind: str, subject: str, details: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A request the person signed with BankID in the customer e-service, sent to the case
        service's e-service door with BankID's answer for the completed order as its proof
        (the service checks it with the e-ID provider); shown, and its receipt returned."""
        provider = FakeEidProvider(self.settings.eid_dir)
        proof = asyncio.run(provider.completion_data(provider.sign(subject)))
        url = f"{self.settings.service_url}/api/v1/eservice/requests"
        body = {"kind": kind, "details": details or {}, "eid": proof}
        shown = {"kind": kind, "details": details or {}, "eid": "<BankID: completed order>"}
        print(f"e-service$ POST {url} {json.dumps(shown, ensure_ascii=False)}", flush=True)
        headers = {"Authorization": f"Bearer {self.eservice_token()}"}
        answer = httpx.post(url, json=body, headers=headers, timeout=90)
        if answer.status_code != 201:
            sys.exit(
                f"the e-service's request was refused: {answer.status_code} {answer.text[:300]}"
            )
        receipt: dict[str, Any] = answer.json()
        print(f"  {json.dumps(receipt, ensure_ascii=False)}", flush=True)
        return receipt


def seed_if_missing(settings: Settings) -> None:
    """Seed the demo systems once, and again whenever the demo schema or data changed."""
    marker = settings.var_dir / "systems" / ".seeded"
    sources = sorted((PROJECT_ROOT / "demo").glob("*.py")) + [
        PROJECT_ROOT / "systems" / "document_archive.py"
    ]
    version = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()
    if marker.exists() and marker.read_text().strip() == version:
        return
    print(
        "Seeding the demo systems (billing, network, marketing, disclosure log, document "
        "archive) ...",
        flush=True,
    )
    asyncio.run(seed_demo_systems(settings.all_system_urls()))
    asyncio.run(seed_archive(settings.archive_url))
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(version + "\n")
