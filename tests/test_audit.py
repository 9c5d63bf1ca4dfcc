"""The tamper-evident trail, as an auditor uses it: `audit verify` and `audit export` in a real
process, signed in and through the case service, against a real case on the dev server, after
rows were edited, removed or cut off directly in the register's database."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from demo.people import DEMO_SUBJECTS
from infra.config import Settings
from tests.databases import sync_url
from tests.helpers import Cli
from tests.serving import Desk

pytestmark = pytest.mark.asyncio(loop_scope="session")


def tamper(settings: Settings, sql: str, **params: object) -> None:
    """What someone with the database's password and its shell could do, around the engine."""
    engine = sa.create_engine(sync_url(settings.register_database_url))
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                # An administrator can switch the foreign keys' checks off for a session, as
                # a plain sqlite3 connection has them off.
                conn.execute(sa.text("SET session_replication_role = replica"))
            conn.execute(sa.text(sql), params)
    finally:
        engine.dispose()


async def a_case_in_review(cli: Cli, subject: str = "tolvan") -> str:
    """An access case answered in the subject's own digital mailbox (no proof asked), its
    extract built and waiting for review."""
    opened = await cli.json("submit", "access", "--subject", DEMO_SUBJECTS[subject])
    case = str(opened["case_number"])
    await cli.wait_for(case, "awaiting_review")
    return case


async def test_an_untouched_trail_verifies_and_exports_as_evidence(
    desk: Desk, tmp_path: Path
) -> None:
    case = await a_case_in_review(await desk.login("anna"))
    # The data protection officer acts on no case, but may check its trail.
    dpo = await desk.login("dataskyddsombud")
    verified = await dpo.json("audit", "verify", case)
    assert verified["intact"] is True and verified["problems"] == []
    assert verified["chained"] == verified["events"] >= 4  # register, collect, build, review
    assert verified["compared_with_workflow"] is True

    target = tmp_path / "evidence.json"
    exported = await dpo.json("audit", "export", case, "--out", str(target))
    assert exported["intact"] is True and exported["head"] == verified["head"]
    evidence = json.loads(target.read_text())
    actions = [(e["action"], e["actor"]) for e in evidence["events"]]
    assert [action for action, _ in actions][:2] == [
        "register",
        "identity_not_needed:digital_mailbox",
    ]
    # Reads are evidence too: anna opened the case while she waited for its extract.
    assert ("read:case", "anna") in actions
    assert all(e["hash"] and e["prev_hash"] for e in evidence["events"])
    assert evidence["events"][-1]["hash"] == verified["head"]
    assert DEMO_SUBJECTS["tolvan"] not in target.read_text()  # no payload data


async def test_an_edited_row_is_found(desk: Desk) -> None:
    worker = desk.service.settings
    cli = await desk.login("anna")
    case = await a_case_in_review(cli)
    tamper(
        worker,
        "UPDATE case_events SET actor = 'mallory' WHERE case_number = :case AND step = 1",
        case=case,
    )
    code, out, err = await cli.run("audit", "verify", case)
    assert code == 1
    assert "step 1: the row was changed after it was written" in err


async def test_removing_the_links_hides_nothing_and_a_recomputed_link_does_not_fit(
    desk: Desk,
) -> None:
    worker = desk.service.settings
    cli = await desk.login("anna")
    unlinked = await a_case_in_review(cli)
    edit = "UPDATE case_events SET actor = 'mallory' WHERE case_number = :case AND step = 1"
    tamper(worker, edit, case=unlinked)
    tamper(worker, "DELETE FROM audit_links WHERE case_number = :case", case=unlinked)
    code, _, err = await cli.run("audit", "verify", unlinked)
    assert code == 1 and "the row has no link" in err

    # Without the register's secret a changed row's link cannot be made to fit: a link
    # recomputed with a plain SHA-256 is found out.
    relinked = await a_case_in_review(cli, "joint_a")
    tamper(worker, edit, case=relinked)
    engine = sa.create_engine(sync_url(worker.register_database_url))
    try:
        with engine.begin() as conn:
            event_id, prev = conn.execute(
                sa.text(
                    "SELECT e.id, l.prev_hash FROM case_events e "
                    "JOIN audit_links l ON l.event_id = e.id "
                    "WHERE e.case_number = :case AND e.step = 1"
                ),
                {"case": relinked},
            ).one()
            forged = hashlib.sha256(f"{prev}\nforged".encode()).hexdigest()
            conn.execute(
                sa.text("UPDATE audit_links SET hash = :hash WHERE event_id = :id"),
                {"hash": forged, "id": event_id},
            )
    finally:
        engine.dispose()
    code, _, err = await cli.run("audit", "verify", relinked)
    assert code == 1 and "step 1: the row was changed after it was written" in err


async def test_a_removed_row_is_found_in_the_middle_and_at_the_end(desk: Desk) -> None:
    worker = desk.service.settings
    cli = await desk.login("anna")
    middle = await a_case_in_review(cli)
    tamper(worker, "DELETE FROM case_events WHERE case_number = :case AND step = 1", case=middle)
    code, _, err = await cli.run("audit", "verify", middle)
    assert code == 1
    assert "the row before it was changed or removed" in err and "missing: removed" in err

    # The newest row and its link removed together leave a shorter, valid chain: the
    # workflow's own count of its transitions shows the cut.
    end = await a_case_in_review(cli, "joint_a")
    last = "SELECT max(id) FROM case_events WHERE case_number = :case AND step < 10000"
    tamper(worker, f"DELETE FROM audit_links WHERE event_id = ({last})", case=end)  # noqa: S608
    tamper(worker, f"DELETE FROM case_events WHERE id = ({last})", case=end)  # noqa: S608
    code, _, err = await cli.run("audit", "verify", end)
    assert code == 1
    assert "rows were removed from its end" in err


async def test_an_unknown_case_is_a_clear_error(desk: Desk) -> None:
    cli = await desk.login("anna")
    code, out, err = await cli.run("audit", "verify", "DSR-2026-999999")
    assert code == 1 and out == ""
    assert err.strip() == "error: case DSR-2026-999999 is not in the register"
