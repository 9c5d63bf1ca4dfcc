"""Proof that the engine keeps no personal data in the clear where it stores its own data.

`make demo`'s requests of every kind run on `make run`'s stack (dev server with its database
file, worker, identity provider, case service; the e-service's door and the CLI signed in), on
free ports and a private var directory. Then every seeded identity
number, name, street address, e-mail and phone is looked for in the Temporal server's database
files, in `temporal workflow show` of every workflow, in the logs, in the case register's
columns that are not secret by design (the keyed subject reference is an HMAC), and in every
file of the extract store. The same search
on a stack with payload encryption switched off finds them: the test can fail.

In production the demo adapters are refused: deliveries go to the organisation's e-ID provider,
digital mailbox, print service and recipients' channel (here tests/security/adapters.py, which
keep what they are handed in the worker's memory, as the real services keep it on their side)
and notices by e-mail (a real SMTP server). Requests of the kinds a handler registers run to
their end on such a stack, and then every file under the var directory is searched, the
outbox, print and e-ID folders with the rest: nothing is there in the clear. Only the demo's
own source systems are left out (billing, network, marketing, the archive: the company's data
as it is, the engine's sources, not its stores).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from demo.people import DEMO_SUBJECTS, seeded_personal_data
from infra.binaries import temporal_binary
from infra.codec import new_key
from infra.config import Settings
from scripts.demo_cases import DEMO_CASES, drive_to_end, register, run_demo
from scripts.embedded import Stack, running_stack
from tests.helpers import Mailbox, free_port

# What the demo's rectification writes (new personal data, through the case's input).
DEMO_CHANGES = ["Lindvägen 12", "nytt@example.se"]
# Register columns that hold a keyed reference (HMAC of the identity number), secret by design.
SECRET_COLUMNS = {
    ("cases", "subject_ref"),
    ("cases", "open_key"),
    ("restriction_holds", "subject_ref"),
}


ADAPTER = "tests.security.adapters:{}"


def production_env(tmp_path: Path, smtp_port: int) -> dict[str, str]:
    """What a production deployment sets: its own secrets and keys, the organisation's
    adapters by import path, e-mail over SMTP."""
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps({"current": "p1", "keys": {"p1": new_key()}}))
    return {
        "DSR_ENVIRONMENT": "production",
        "DSR_SUBJECT_REFERENCE_SECRET": secrets.token_urlsafe(40),
        "DSR_CODEC_TOKENS": json.dumps([secrets.token_urlsafe(40)]),
        "DSR_ENCRYPTION_KEY_FILE": str(key_file),
        "DSR_ACCEPT_UNSEALED_PAYLOADS": "false",
        "DSR_EID_PROVIDER": ADAPTER.format("eid_provider"),
        "DSR_DIGITAL_MAILBOX": ADAPTER.format("digital_mailbox"),
        "DSR_LETTER_SERVICE": ADAPTER.format("letter_service"),
        "DSR_RECIPIENT_CHANNEL": ADAPTER.format("recipient_channel"),
        "DSR_STAFF_CHANNEL": "smtp",
        "DSR_REQUESTER_EMAIL_CHANNEL": "smtp",
        "DSR_SMTP_HOST": "127.0.0.1",
        "DSR_SMTP_PORT": str(smtp_port),
    }


@contextmanager
def stack(
    tmp_path: Path, *, encryption: bool, production: dict[str, str] | None = None
) -> Iterator[Stack]:
    port, ui_port, metrics_port = free_port(), free_port(), free_port()
    with pytest.MonkeyPatch.context() as env:
        for name, value in (production or {}).items():
            env.setenv(name, value)
        env.setenv("DSR_TEMPORAL_ADDRESS", f"127.0.0.1:{port}")
        env.setenv("DSR_UI_URL", f"http://127.0.0.1:{ui_port}")
        env.setenv("DSR_VAR_DIR", str(tmp_path / "var"))
        env.setenv("DSR_TASK_QUEUE", "dsr-at-rest")
        env.setenv("DSR_METRICS_ADDRESS", f"127.0.0.1:{metrics_port}")
        env.setenv("DSR_WORKER_HEALTH_ADDRESS", f"127.0.0.1:{free_port()}")
        env.setenv("DSR_CODEC_ADDRESS", f"127.0.0.1:{free_port()}")
        env.setenv("DSR_SERVICE_ADDRESS", f"127.0.0.1:{free_port()}")
        env.setenv("DSR_OIDC_ISSUER", f"http://127.0.0.1:{free_port()}")
        env.setenv("DSR_PAYLOAD_ENCRYPTION", "true" if encryption else "false")
        settings = Settings()
        with running_stack(settings) as running:
            yield running


BASE64 = re.compile(rb"[A-Za-z0-9+/]{16,}={0,2}")


def readable(text: str) -> str:
    """The text and what its base64 runs hold: `temporal workflow show` prints a payload with
    metadata beyond its encoding (the model's name) as its proto, the data in base64, which
    anyone reading it decodes as easily."""
    decoded = []
    for run in BASE64.findall(text.encode()):
        try:
            decoded.append(base64.b64decode(run, validate=True).decode())
        except (binascii.Error, UnicodeDecodeError):
            continue
    return "\n".join([text, *decoded])


def workflow_shows(settings: Settings) -> str:
    """`temporal workflow show` of every workflow, as a supervisor's terminal shows it."""
    address = ["--address", settings.temporal_address, "--namespace", settings.temporal_namespace]
    listed = subprocess.run(
        [temporal_binary(), "workflow", "list", *address, "--output", "json", "--limit", "500"],
        capture_output=True,
        text=True,
        check=True,
    )
    shown = []
    for line in json.loads(listed.stdout or "[]"):
        execution = line["execution"]
        shown.append(
            subprocess.run(
                [
                    temporal_binary(),
                    "workflow",
                    "show",
                    *address,
                    "--workflow-id",
                    execution["workflowId"],
                    "--detailed",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
    assert shown, "no workflows listed"
    return readable("\n".join(shown))


def first_case(running: Stack) -> str:
    """The demo's first case: Tolvan's access request."""
    return str(min(row["case_number"] for row in running.person("bo").quiet("list")["cases"]))


def show_with_codec(settings: Settings, workflow_id: str) -> str:
    shown = subprocess.run(
        [
            temporal_binary(),
            "workflow",
            "show",
            "--address",
            settings.temporal_address,
            "--workflow-id",
            workflow_id,
            "--detailed",
            "--codec-endpoint",
            settings.codec_url,
            "--codec-auth",
            f"Bearer {settings.codec_token_values[0]}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return readable(shown)


def register_text(settings: Settings) -> str:
    """Every value of the register's columns that are not secret by design."""
    database = settings.register_database_url.removeprefix("sqlite+aiosqlite:///")
    values: list[str] = []
    with closing(sqlite3.connect(database)) as conn:
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            wanted = [c for c in columns if (table, c) not in SECRET_COLUMNS]
            if not wanted:
                continue
            query = f"SELECT {', '.join(wanted)} FROM {table}"  # noqa: S608 - names from the schema
            values += [str(v) for row in conn.execute(query) for v in row if v is not None]
    return "\n".join(values)


def places(settings: Settings) -> dict[str, bytes]:
    """Where the engine keeps its own data, as bytes to search."""
    var = settings.var_dir
    found = {path.name: path.read_bytes() for path in var.glob("temporal.db*") if path.is_file()}
    found["temporal workflow show"] = workflow_shows(settings).encode()
    found |= {f"log/{p.name}": p.read_bytes() for p in (var / "log").glob("*.log")}
    found["case register"] = register_text(settings).encode()
    # The extract store: collected data, extracts, plans, copies (scratch files included).
    found |= {
        f"extracts/{p.relative_to(settings.extract_dir)}": p.read_bytes()
        for p in settings.extract_dir.rglob("*")
        if p.is_file()
    }
    return found


def source_systems(settings: Settings) -> set[Path]:
    """The demo's own source systems' database files (with their -wal and -shm)."""
    urls = [*settings.all_system_urls().values(), settings.archive_url]
    databases = [Path(url.split(":///", 1)[1]) for url in urls if url.startswith("sqlite")]
    return {
        path
        for database in databases
        for path in database.parent.glob(f"{database.name}*")
        if path.is_file()
    }


def everything_under_var(settings: Settings) -> dict[str, bytes]:
    """The engine's stores as `places` reads them, and every other file under the var
    directory, the outbox, print and e-ID folders included; not the source systems."""
    found = places(settings)
    sources = source_systems(settings)
    assert sources, "the demo's source systems are where the settings say"
    found |= {
        str(path.relative_to(settings.var_dir)): path.read_bytes()
        for path in settings.var_dir.rglob("*")
        if path.is_file() and path not in sources
    }
    return found


def leaks(settings: Settings, searched: dict[str, bytes] | None = None) -> dict[str, list[str]]:
    """Which personal data is found in the clear, and where (UTF-8 and, for SQLite's own
    files, as stored)."""
    wanted = [*seeded_personal_data(), *DEMO_CHANGES]
    found: dict[str, list[str]] = {}
    for where, content in (searched if searched is not None else places(settings)).items():
        # As written, and as JSON writes it (JSON logs escape "å" as "\u00e5").
        hits = sorted(
            {
                text
                for text in wanted
                if text.encode() in content or json.dumps(text)[1:-1].encode() in content
            }
        )
        if hits:
            found[where] = hits
    return found


def test_a_demo_of_every_kind_leaves_no_personal_data_in_the_clear(tmp_path: Path) -> None:
    with stack(tmp_path, encryption=True) as running:
        settings = running.settings
        run_demo(running)
        kinds = {row["kind"] for row in running.person("bo").quiet("list")["cases"]}
        assert kinds >= {
            "access",
            "rectification",
            "restriction",
            "objection",
            "erasure",
            "portability",
            "public_access",
        }
        found = leaks(settings)
        # A supervisor holding a token reads the cases through the codec server.
        decoded = show_with_codec(settings, first_case(running))
    assert found == {}, f"personal data in the clear: {found}"
    assert DEMO_SUBJECTS["tolvan"] in decoded


def test_without_encryption_the_same_search_finds_personal_data(tmp_path: Path) -> None:
    with stack(tmp_path, encryption=False) as running:
        running.person("anna").quiet("submit", "access", "--subject", DEMO_SUBJECTS["tolvan"])
        found = leaks(running.settings)
    assert DEMO_SUBJECTS["tolvan"] in found.get("temporal workflow show", [])
    assert any(name.startswith("temporal.db") for name in found), found


def test_in_production_nothing_under_var_holds_personal_data_in_the_clear(
    tmp_path: Path, mailbox: tuple[Mailbox, int]
) -> None:
    box, smtp_port = mailbox
    handled = [case for case in DEMO_CASES if not case.bankid]
    with stack(
        tmp_path, encryption=True, production=production_env(tmp_path, smtp_port)
    ) as running:
        settings = running.settings
        assert settings.environment == "production"
        running.sign_in(*{case.handler for case in handled}, "cecilia")
        closed = []
        for case in handled:
            number = register(running, case)
            closed.append(drive_to_end(running, number, case.handler))
        searched = everything_under_var(settings)
        found = leaks(settings, searched)
    assert {case["kind"] for case in closed} == {"access", "objection", "erasure"}
    assert all(case["state"] == "closed" for case in closed)
    assert any(name.startswith("extracts/") for name in searched), "the extracts were searched"
    # The demo adapters' folders (the print folder is outbox/letters): production writes none.
    for demo_folder in ("outbox", "eid"):
        assert not any(name.startswith(f"{demo_folder}/") for name in searched), demo_folder
    assert found == {}, f"personal data in the clear: {found}"
    assert box.messages, "staff notices went by e-mail"
