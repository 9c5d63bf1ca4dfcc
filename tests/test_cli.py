"""The handler's CLI as a handler runs it: a real process, signed in with `dsr login` (the
device flow, against the local identity provider), talking to the running case service in
front of the real dev server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import Client

from contract.calendar import STOCKHOLM
from demo.archive import PROTECTED_ADDRESS
from infra.config import Settings
from infra.idp import LocalIdentityProvider
from infra.masking import occurrences
from tests.serving import Desk, SignIns, desk_for

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_handler_drives_a_case_from_submission_to_delivery(desk: Desk) -> None:
    cli = await desk.login("anna")
    # The answer is wanted elsewhere than the subject's own mailbox: identity first.
    submitted = await cli.json(
        "submit",
        "access",
        "--subject",
        "19121212-1212",
        "--received",
        "2026-03-05",
        "--deliver-elsewhere",
    )
    assert submitted["deadline"] == "2026-04-07"  # 5 April is Easter Sunday, 6 April Easter Monday
    case = submitted["case_number"]
    assert case.startswith("DSR-") and not submitted["existing"]

    status = await cli.wait_for(case, "awaiting_identity")
    assert {"case_number", "kind", "state", "received_at", "deadline"} <= status.keys()
    assert status["kind"] == "access" and status["deadline"] == "2026-04-07"
    assert status["received_at"] == "2026-03-05T00:00:00+01:00"  # the day began in Stockholm

    again = await cli.json("submit", "access", "--subject", "191212121212")
    assert again["case_number"] == case and again["existing"] is True

    code, out, err = await cli.run("approve", case)
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [
        f"error: case {case} is awaiting_identity; you can approve the release only while it "
        "is awaiting_review"
    ]

    # The day the proof was supplied is in the future: refused; a day that has come is kept.
    tomorrow = (datetime.now(STOCKHOLM).date() + timedelta(days=1)).isoformat()
    code, _, err = await cli.run(
        "verify-identity",
        case,
        "--method",
        "id_checked",
        "--supplied",
        tomorrow,
    )
    assert code == 1 and "--supplied: that day has not come yet" in err
    today = datetime.now(STOCKHOLM).date().isoformat()
    await cli.json("verify-identity", case, "--method", "id_checked", "--supplied", today)
    await cli.wait_for(case, "awaiting_review")
    listed = await cli.json("list", "--open", "--kind", "access")
    assert case in [row["case_number"] for row in listed["cases"]]

    # A reason is shown as written: never taken for formatting or a terminal link.
    reason = "[/b] fel [link=http://example.org]här[/link]"
    await cli.json("request-changes", case, "--reason", reason)
    await cli.wait_for(case, "awaiting_review")
    code, out, err = await cli.run("status", case)
    assert code == 0 and "[/b] fel" in out and "[link=" in out, out
    await cli.json("approve", case)
    await cli.wait_for(case, "awaiting_manual_delivery")
    await cli.json("record-manual-delivery", case, "--note", "Till ombudet")
    done = await cli.wait_for(case, "closed")
    assert done["outcome"] == "delivered_manually"
    # Sealed at rest; the handler reads it through the service, and the reading is evidence.
    sealed = desk.service.settings.extract_dir / done["extract"]["html_ref"]
    assert sealed.is_file() and b"Tolvan" not in sealed.read_bytes()
    code, letter, _ = await cli.run("show-extract", case)
    assert code == 0 and "Tolvan" in letter
    trail_file = desk.service.settings.var_dir / "trail.json"
    exported = await cli.json("audit", "export", case, "--out", str(trail_file))
    trail = json.loads(Path(exported["path"]).read_text())
    reads = [e for e in trail["events"] if e["action"] == "read:extract"]
    assert [(e["actor"], e["detail"]) for e in reads] == [("anna", {"note": "html"})]
    assert done["delivery"]["method"] == "manual"
    assert [s["action"] for s in done["steps"]][-2:] == [
        "approve_release",
        "record_manual_delivery",
    ]

    code, out, _ = await cli.run("status", case)
    assert code == 0 and "closed" in out and case in out

    # Answered in the subject's own digital mailbox: no proof is asked at all.
    own = (await cli.json("submit", "access", "--subject", "19850367-2340"))["case_number"]
    review = await cli.wait_for(own, "awaiting_review")
    assert review["identity"] is None and review["identity_basis"] == "digital_mailbox"
    code, out, _ = await cli.run("status", own)
    words = " ".join(out.split())  # the table wraps long values
    assert code == 0 and "no proof needed" in words and "digital" in words


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("submit", "access", "--subject", "19121212-1213"), "check digit is wrong"),
        (("submit", "access", "--subject", "19121312-1212"), "impossible date"),
        (("submit", "access", "--subject", "1912121212121"), "must have 10 or 12 digits"),
        # Folkbokföringslagen 18 §: a 12-digit number names the century 18, 19 or 20.
        (("submit", "access", "--subject", "211212121212"), "starts with 18, 19 or 20"),
        (("submit", "access", "--subject", "19121212-121X"), "only digits"),
        (
            ("submit", "access", "--subject", "191212121212", "--received", "2026-02-30"),
            "received: not a date",
        ),
        (
            ("submit", "access", "--subject", "191212121212", "--received", "2026-03-05T10:00"),
            "needs a time zone",
        ),
        (
            ("submit", "access", "--subject", "191212121212", "--received", "2999-01-01"),
            "in the future",
        ),
        (("submit", "access", "--subject", "191212121212", "--assign", "a b"), "assignee: a"),
        # A new case goes only to a handler of the staff roster.
        (
            ("submit", "access", "--subject", "191212121212", "--assign", "okand"),
            "okand is not in the staff roster, so may not be assigned a case",
        ),
        (
            ("submit", "access", "--subject", "191212121212", "--assign", "dataskyddsombud"),
            "data protection officer",
        ),
        (
            ("submit", "access", "--subject", "191212121212", "--assign", "191212121212"),
            "no run of six digits",
        ),
        (
            ("submit", "access", "--subject", "191212121212", "--received", "2019-01-01"),
            "more than two years ago",
        ),
        (
            ("submit", "rectification", "--subject", "191212121212", "--change", "email=x@y"),
            "change: email: is not one e-mail address",
        ),
        (
            ("submit", "rectification", "--subject", "191212121212", "--change", "shoe=42"),
            "--change: unknown field; use one of name, street",
        ),
        (("status", "DSR-2026-999999"), "unknown case DSR-2026-999999"),
        (("list", "--due-within", "7x"), "--due-within: write a number of days or weeks"),
        (("list", "--assignee", "a b"), "assignee: a handler id is"),
        (
            ("reassign", "DSR-2026-999996", "--to", "191212121212"),
            "no run of six digits",
        ),
        (
            ("extend", "DSR-2026-999995", "--reason", " "),
            "must not be blank",
        ),
        (("status", "191212121212"), "not a case number"),
        (("approve", "DSR-2026-999998"), "unknown case DSR-2026-999998"),
        (
            ("close-unverified", "DSR-2026-999997", "--reason", "x" * 2001),
            "at most 2000 characters",
        ),
        (
            (
                "request-documents",
                "--description",
                "Avtal, svar till x@example.org",
                "--text",
                "avtal",
            ),
            "description is public",
        ),
        (
            ("request-documents", "--description", "Avtal", "--type", "minutes"),
            "unknown document type 'minutes'; use one of invoice, contract",
        ),
        (
            ("request-documents", "--description", "Avtal", "--from", "2024-13-01"),
            "--from: not a date",
        ),
        (
            (
                "request-documents",
                "--description",
                "Avtal",
                "--from",
                "2025-01-01",
                "--to",
                "2024-01-01",
            ),
            "the date range ends before it starts",
        ),
        (("request-documents", "--description", "Avtal"), "say what is asked for"),
        (
            (
                "request-documents",
                "--description",
                "Avtal",
                "--text",
                "avtal",
                "--contact-name",
                "Bo",
            ),
            "a name alone is no contact",
        ),
        (
            ("request-documents", "--description", "Avtal", "--text", "avtal", "--email", "bo@"),
            "not one e-mail address",
        ),
        (
            (
                "review-document",
                "DSR-2026-999994",
                "7",
                "--withhold",
                "OSL 99:9",
            ),
            "unknown ground; use one of OSL 21:3, OSL 21:7",
        ),
        (
            ("review-document", "DSR-2026-999994", "7", "--mask", "Sanna Ek"),
            "--mask: write TEXT=GROUND",
        ),
        (
            (
                "review-document",
                "DSR-2026-999994",
                "7",
                "--release",
                "--withhold",
                "21:7",
            ),
            "exactly one of --release, --mask",
        ),
        (
            (
                "confirm-documents",
                "DSR-2026-999994",
                "--all",
                "--document",
                "7",
            ),
            "either --document (repeatable) or --all",
        ),
        (("show-document", "DSR-2026-999994", "99999"), "unknown case DSR-2026-999994"),
        (("show-document", "DSR-2026-999994", "sju"), "a document id is a number"),
        (("link", "DSR-2026-999993", "DSR-2026-999992"), "unknown case DSR-2026-999993"),
        (
            ("link", "DSR-2026-999993", "dsr-2026-999993"),
            "cannot be linked with itself",
        ),
    ],
)
async def test_bad_input_is_one_line_a_failure_and_changes_nothing(
    client: Client, worker: Settings, desk: Desk, args: tuple[str, ...], message: str
) -> None:
    cli = await desk.login("anna")
    before = [e.id async for e in client.list_workflows(f'TaskQueue = "{worker.task_queue}"')]
    files_before = sorted(worker.var_dir.rglob("*"))
    code, out, err = await cli.run(*args)
    assert code == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert "191212121212" not in err and "1212121212" not in err
    after = [e.id async for e in client.list_workflows(f'TaskQueue = "{worker.task_queue}"')]
    assert after == before
    assert sorted(worker.var_dir.rglob("*")) == files_before, "no file was written"


async def test_the_roster_shows_who_may_decide_on_a_day(desk: Desk) -> None:
    cli = await desk.login("anna")
    today = await cli.json("roster")
    assert today["staff"]["anna"] == ["handler"]
    assert "decides_gdpr" in today["staff"]["chef.jurist"]
    # The registrar's delegation ends with 2030.
    last_day = await cli.json("roster", "--on", "2030-12-31")
    assert last_day["staff"]["registrator.ek"] == ["decides_public_access", "handler"]
    later = await cli.json("roster", "--on", "2031-01-01")
    assert later["staff"]["registrator.ek"] == ["handler"]
    code, out, _ = await cli.run("roster")
    assert code == 0 and "dataskyddsombud" in out and "team_lead" in out
    code, _, err = await cli.run("roster", "--on", "2031-02-30")
    assert code == 1 and "--on: not a date" in err


@pytest.mark.parametrize("kind", ["access", "rectification", "restriction", "objection"])
async def test_every_kind_explains_itself(desk: Desk, kind: str) -> None:
    cli = await desk.login("anna")
    code, out, _ = await cli.run("submit", kind, "--help")
    assert code == 0 and "--subject" in out and "--handler" not in out
    # Who acts is who signed in: there is no option to say otherwise.
    code, _, err = await cli.run("approve", "DSR-2026-999998", "--handler", "bo")
    assert code == 2 and "No such option: --handler" in err


async def test_an_erasure_from_the_cli_takes_two_people_and_leaves_a_follow_up(
    client: Client, writable: Settings, idp: LocalIdentityProvider, sign_ins: SignIns
) -> None:
    async with desk_for(client, writable, idp, sign_ins) as desk:
        await erasure_by_two(client, desk)


async def erasure_by_two(client: Client, desk: Desk) -> None:
    cli, bo, cecilia, archivist = [
        await desk.login(who) for who in ("anna", "bo", "cecilia", "arkiv.eva")
    ]
    submitted = await cli.json("submit", "erasure", "--subject", "191212121212")
    case = submitted["case_number"]
    await cli.wait_for(case, "awaiting_identity")
    await cli.json("verify-identity", case, "--method", "id_checked")
    await cli.wait_for(case, "awaiting_decision")
    code, _, err = await cli.run("retention", case)
    assert code == 1 and "has no retention follow-up" in err, "nothing kept yet"
    # Approving takes a team lead; and four eyes between logins: the one who prepared the plan
    # cannot approve it, another team lead can.
    await bo.json("prepare-erasure-plan", case)
    code, _, err = await cli.run("approve-erasure-plan", case)
    assert code == 1 and "anna may not approve the erasure plan" in err
    code, _, err = await bo.run("approve-erasure-plan", case)
    assert code == 1 and "another person must approve it" in err
    await cecilia.json("approve-erasure-plan", case)
    await cli.wait_for(case, "closed")

    # Kept while the contracts run and in the archive: followed from tomorrow.
    progress = await cli.json("retention", case)
    assert progress["runs"] == 0 and progress["next_due"] is not None
    code, out, _ = await cli.run("retention", case)
    assert code == 0 and "next run:" in out
    # No run has found archived rows waiting yet: no disposal decision to record.
    code, _, err = await archivist.run(
        "record-disposal-decision", case, "--reference", "Gallring 2027:1"
    )
    assert code == 1 and "no archived rows are kept waiting" in err
    code, _, err = await archivist.run("record-disposal-decision", case, "--reference", "  ")
    assert code == 1 and "reference" in err and "blank" in err
    await client.get_workflow_handle(f"{case}-retention").terminate("test over")


async def test_a_supervisor_finds_the_late_case_and_hands_it_to_someone_else(desk: Desk) -> None:
    cli = await desk.login("anna")
    received = (datetime.now(UTC) - timedelta(days=40)).date().isoformat()
    submitted = await cli.json(
        "submit", "access", "--subject", "191212121212", "--received", received, "--assign", "anna"
    )
    case = submitted["case_number"]
    await cli.wait_for(case, "awaiting_review")

    async def listed(*options: str) -> list[str]:
        for _ in range(100):
            cases = [row["case_number"] for row in (await cli.json("list", *options))["cases"]]
            if case in cases:
                return cases
            await asyncio.sleep(0.2)
        return cases

    assert case in await listed("--overdue")
    assert case in await listed("--due-within", "7d")
    code, out, _ = await cli.run("status", case)
    assert code == 0 and "escalation" in out and "overdue" in out
    code, _, err = await cli.run("extend", case, "--reason", "Mer tid.")
    assert code == 1 and "the original deadline" in err and "has passed" in err
    # As the roster spells it, whatever the case it was typed in.
    moved = await cli.json("reassign", case, "--to", "BO")
    assert moved["state"] == "awaiting_review"
    assert case in await listed("--assignee", "bo")
    assert case in await listed("--assignee", "Bo")
    assert (await cli.json("status", case))["assignee"] == "bo"
    code, _, err = await cli.run("reassign", case, "--to", "bo")
    assert code == 1 and "already assigned to bo" in err


async def test_an_anonymous_request_for_documents_from_request_to_appeal(desk: Desk) -> None:
    cli = await desk.login("anna")
    submitted = await cli.json(
        "request-documents",
        "--description",
        "Skrivelser om flytt av elmätare",
        "--type",
        "correspondence",
        "--text",
        "elmätare",
        "--email",
        "x@example.org",
        "--assign",
        "anna",
    )
    case = submitted["case_number"]
    assert submitted["kind"] == "public_access" and not submitted["existing"]
    located = await cli.wait_for(case, "awaiting_confirmation")
    assert located["public"]["sender"] == "anonymous" and located["public"]["contact"] is True
    candidates = located["public"]["candidates"]
    assert len(candidates) >= 2 and located["public"]["confirmed"] == []
    first, second = (str(c["document_id"]) for c in candidates[:2])

    # Commands that only read run side by side: the file stays fast.
    found, (code, out, _), shown = await asyncio.gather(
        cli.json("documents", case),
        cli.run("documents", case),
        cli.json("show-document", case, first),
    )
    assert {**located["public"], "state": "awaiting_confirmation"} == found
    assert code == 0 and "correspondence" in out and f"{len(candidates)} found" in out
    # What the reviewer must find, over a line break as the letter has it.
    assert occurrences(shown["text"], PROTECTED_ADDRESS) == 1

    confirmed = await cli.json("confirm-documents", case, "--document", first, "--document", second)
    assert confirmed["state"] == "secrecy_review"
    mask = f"{PROTECTED_ADDRESS}=OSL 21:3"
    await cli.json("review-document", case, first, "--mask", mask)
    await cli.json("review-document", case, second, "--withhold", "21:7")
    # The handler sees exactly what will go out, then sends it.
    await cli.wait_for(case, "awaiting_review")
    preview = await cli.json("preview-copies", case)
    assert "svar.html" in preview["files"] and f"handling-{first}.txt" in preview["files"]
    assert "gläntans" not in preview["files"][f"handling-{first}.txt"].lower()
    await cli.json("approve", case)
    answered = (await cli.wait_for(case, "awaiting_decision_request"))["public"]
    decisions = {r["document_id"]: (r["decision"], r["grounds"]) for r in answered["reviews"]}
    assert decisions == {
        int(first): ("mask", ["OSL 21:3"]),
        int(second): ("withhold", ["OSL 21:7"]),
    }
    assert answered["pages"] is not None and answered["fee_sek"] is not None
    assert "Gläntans" not in json.dumps(answered)  # the grounds, never the secret

    (code, out, _), asked = await asyncio.gather(
        cli.run("documents", case),
        cli.json("request-formal-decision", case),
    )
    assert code == 0 and "withhold: OSL 21:7" in out and "fee" in out
    assert asked["state"] == "awaiting_formal_decision"
    code, out, err = await cli.run("decide", case)
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "anna may not make the formal decision" in lines[0]
    assert "decision maker with delegation for public-access decisions" in lines[0]
    await (await desk.login("chef.jurist")).json("decide", case)
    decided = await cli.wait_for(case, "awaiting_appeal")
    assert decided["public"]["formal_decision_by"] == "chef.jurist"
    assert decided["public"]["appeal_window_end"] is not None

    today = datetime.now(STOCKHOLM).date().isoformat()
    appealed = await cli.json("register-appeal", case, "--received", today)
    assert appealed["state"] == "closed"
    code, out, _ = await cli.run("status", case)
    assert code == 0 and "appeal_forwarded" in out and "chef.jurist" in out
    assert "in time: forwarded to the court" in out


async def test_an_access_case_and_a_public_access_case_are_linked(desk: Desk) -> None:
    cli = await desk.login("anna")
    submitted, requested = await asyncio.gather(
        cli.json("submit", "access", "--subject", "191212121212"),
        cli.json(
            "request-documents",
            "--description",
            "Fakturor om nätavgift",
            "--sender",
            "Tolvan",
            "--type",
            "invoice",
            "--party",
            "Tolvan Tolvansson",
        ),
    )
    access, public = submitted["case_number"], requested["case_number"]
    # Each kind's commands are refused, in one line, on the other kind.
    (code, _, err), (code2, _, err2) = await asyncio.gather(
        cli.run("documents", access),
        cli.run("request-changes", public, "--reason", "Fel fil"),
    )
    assert code == 1 and f"case {access} is not a public-access request" in err
    assert code2 == 1 and err2 == f"error: case {public} does not accept request-changes\n"

    linked = await cli.json("link", access, public)
    assert linked["linked"] == [access, public]
    one, other, (code, out, _) = await asyncio.gather(
        cli.json("status", access), cli.json("status", public), cli.run("status", public)
    )
    assert one["linked"] == [public] and other["linked"] == [access]
    assert other["public"]["sender"] == "Tolvan"
    assert code == 0 and access in out and "Tolvan" in out
