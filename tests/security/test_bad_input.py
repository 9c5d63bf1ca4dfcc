"""Point 7 of the boundary: bad input that used to get through. Each refusal is clear and
changes nothing; each place that shows or files stored text shows it inert."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.deadlines import DeadlineActivities
from activities.rendering import csv_zip
from activities.store import ExtractStore
from app.worker_setup import load_declarations
from cli import api
from contract.case import DeadlineInput
from contract.vocabulary import Kind
from infra.adapters import PermanentDeliveryError
from infra.config import Settings
from infra.db import Case, create_engine, sessionmaker
from infra.idp import LocalIdentityProvider
from infra.logging import redact_fields, redact_personal_data, redact_text
from infra.smtp import SmtpServer
from systems.fields import validate_rectification
from tests.helpers import Mailbox
from tests.oidc import device_login
from tests.serving import running_service
from tests.support.api import problem

TWO_RECIPIENTS = [
    "a@b.se,root",
    "a@b.se, c@d.se",
    "a@b.se;c@d.se",
    "Anna <a@b.se>",
    "a@b.se\nBcc: c@d.se",
    "=?utf-8?q?a=2C_root=40evil.se?=@b.se",  # an encoded word: decoded, two recipients
    "a@b⒈se.se",  # IDNA would make it b1.se.se
]
REFUSED = r"not one e-mail address|contains control characters"


async def registered_cases(settings: Settings) -> int:
    engine = create_engine(settings.register_database_url)
    try:
        async with sessionmaker(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(Case)) or 0)
    finally:
        await engine.dispose()


@pytest.mark.asyncio(loop_scope="session")
async def test_an_address_that_would_mail_two_recipients_is_refused_at_the_door(
    client: Client, worker: Settings, idp: LocalIdentityProvider
) -> None:
    before = await registered_cases(worker)
    async with (
        running_service(client, worker, idp) as service,
        service.api(await device_login(idp, "anna")) as anna,
    ):
        for address in TWO_RECIPIENTS:
            public = await anna.post(
                "/public-requests",
                json={
                    "description": "Protokoll 2024",
                    "query": {"types": ["correspondence"]},
                    "contact": {"email": address},
                },
            )
            assert re.search(REFUSED, problem(public, 422)), address
            change = {"field": "email", "new_value": address}
            rectification = await anna.post(
                "/requests",
                json={
                    "kind": "rectification",
                    "subject": "191212121212",
                    "details": {"changes": [change]},
                },
            )
            assert re.search(REFUSED, problem(rectification, 422)), address
    assert await registered_cases(worker) == before, "nothing was registered"


@pytest.mark.asyncio(loop_scope="session")
async def test_the_mail_server_is_never_asked_to_mail_two_recipients(
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox
    server = SmtpServer("127.0.0.1", port, sender="dsr@exempelstad-energi.example")
    mail = EmailMessage()
    mail["To"], mail["Subject"] = "a@b.se,root@b.se", "Beslut"
    mail.set_content("x")
    with pytest.raises(PermanentDeliveryError, match="not one e-mail address"):
        await server.send(mail)
    one = EmailMessage()
    one["To"], one["Subject"] = "a@b.se", "Beslut"
    one.set_content("x")
    await server.send(one)
    assert [message["To"] for message in box.messages] == ["a@b.se"]


def test_one_address_passes_and_is_kept_as_written() -> None:
    assert validate_rectification("email", "Anna.O'Neil+el@Bücher.SE") == "Anna.O'Neil+el@bücher.se"
    for address in TWO_RECIPIENTS:
        with pytest.raises(
            ValueError, match="^email: (is not one e-mail address|contains control)"
        ):
            validate_rectification("email", address)


def test_portability_cells_that_a_spreadsheet_would_run_are_text() -> None:
    rows = [
        {"note": '=HYPERLINK("http://evil","klicka")', "kwh": -12.5, "ref": "@SUM(A1)"},
        {"note": "+46 70 123", "kwh": 3, "ref": "-2+3"},
        {"note": "vanlig text", "kwh": 0, "ref": "\tdolt"},
    ]
    bundle = zipfile.ZipFile(io.BytesIO(csv_zip({"readings": rows})))
    cells = list(csv.DictReader(io.StringIO(bundle.read("readings.csv").decode())))
    assert [cell["note"] for cell in cells] == [
        '\'=HYPERLINK("http://evil","klicka")',
        "'+46 70 123",
        "vanlig text",
    ]
    assert [cell["ref"] for cell in cells] == ["'@SUM(A1)", "'-2+3", "'\tdolt"]
    assert [cell["kwh"] for cell in cells] == ["-12.5", "3", "0"], "numbers stay numbers"


def test_the_command_line_shows_stored_text_but_never_obeys_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the service answers (a requester's description, a handler's reason) may hold
    terminal control: a fake hyperlink, a cleared screen, a new window title. The CLI shows the
    words and drops the control, in JSON answers, raw files and refusals alike."""
    hostile = (
        "Begäran\x1b]8;;http://evil.example\x07klicka\x1b]8;;\x07\x1b[2J\x1b]0;title\x1b\\ ok\x9b"
    )
    answers: list[tuple[int, bytes]] = []

    def exchange(request: Any, timeout: float) -> tuple[int, bytes]:
        return answers.pop(0)

    monkeypatch.setattr(api.signin, "service_url", lambda: "http://127.0.0.1:9")
    monkeypatch.setattr(api.signin, "access_token", lambda service: "token")
    monkeypatch.setattr(api.signin, "exchange", exchange)
    answers.append((200, api.json.dumps({"description": hostile, "tabbed\ttext": "a\nb"}).encode()))
    assert api.call("GET", "/cases/x") == {
        "description": "Begäranklicka ok",
        "tabbed\ttext": "a\nb",
    }
    answers.append((200, hostile.encode()))
    assert api.call("GET", "/cases/x/extract", raw=True) == "Begäranklicka ok"
    answers.append((200, "gömd\x1b]text efter".encode()))
    assert api.call("GET", "/cases/x/extract", raw=True) == "gömdtext efter", "none hidden"
    answers.append((409, api.json.dumps({"detail": hostile}).encode()))
    with pytest.raises(api.ApiError, match="^Begäranklicka ok$"):
        api.call("POST", "/cases/x/approve")


def test_extract_store_references_match_in_full_and_no_name_is_hidden(
    settings: Settings,
) -> None:
    store = ExtractStore(settings.extract_dir, settings.key_ring())
    for ref in [
        "DSR-2026-000001/v1/extract.json\n",
        "DSR-2026-000001/v1/..",
        "DSR-2026-000001/v1/.extract.json.tmp",
        "x/DSR-2026-000001/v1/extract.json",
    ]:
        with pytest.raises(ValueError, match="not an extract store reference"):
            store.path(ref)
    with pytest.raises(ValueError, match="not an extract store reference"):
        store.ref("DSR-2026-000001", 1, "..")
    assert store.ref("DSR-2026-000001", 1, "billing.json") == "DSR-2026-000001/v1/billing.json"


@pytest.mark.asyncio(loop_scope="session")
async def test_a_date_beyond_the_holiday_table_fails_at_once_with_a_message(
    settings: Settings,
) -> None:
    far = DeadlineInput(
        case_number="DSR-2026-000001",
        kind=Kind.ACCESS,
        received_at=datetime(2199, 3, 5, tzinfo=UTC),
    )
    with pytest.raises(ApplicationError) as failed:
        await ActivityEnvironment().run(DeadlineActivities(settings).plan_deadline, far)
    assert failed.value.non_retryable
    assert "no Swedish holiday table for 2199" in str(failed.value)


def test_the_log_redaction_reaches_keys_spaced_numbers_streets_and_declared_fields(
    settings: Settings,
) -> None:
    assert "9874" not in redact_text("kund 811228 9874 ringde")
    assert "Nygatan" not in redact_text("flyttar till Stora Nygatan 5B, 123 45 Exempelstad")
    assert "Exempelstad" not in redact_text("123 45 Exempelstad")
    assert "Tolvansson" not in redact_text("namn: Tolvan Tolvansson")
    assert redact_text("DSR-2026-000042 klar 2026-11-28T04:29:50.012345Z") == (
        "DSR-2026-000042 klar 2026-11-28T04:29:50.012345Z"
    )
    redact_fields(load_declarations(settings).personal_fields())
    event = redact_personal_data(
        None,
        "info",
        {
            "event": "collected",
            "by_subject": {"19121212-1212": 3},
            "facility_street": "Byvägen",
            "rows": 3,
            "kind": "access",
        },
    )
    assert event["by_subject"] == {"[redacted]": 3}
    assert event["facility_street"] == "[redacted]", "a declared system's field"
    assert event["rows"] == 3 and event["kind"] == "access"
