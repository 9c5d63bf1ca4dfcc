"""The console's pages over the running service, a worker and the local provider: the inbox
shows a handler's cases and the team's unassigned ones with days left and filters; the case
page offers as forms exactly the actions the person's roles allow in the case's state; an
action taken there is the signed-in person's; a forged form, a missing role, or an action in
the wrong state is refused with the engine's message and changes nothing.

The browser here is an HTTP client with a cookie jar (the pages are looked at in Chromium in
tests/ui)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from contract.case import CaseState
from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS
from tests.oidc import device_login
from tests.serving import Desk, console_sign_in, reaches, registered

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def in_browser(step: Callable[[], Any]) -> Any:
    return await asyncio.to_thread(step)


def row(page: httpx.Response, case: str) -> str:
    """The inbox's row of `case`, as text with its classes ('' if it is not listed)."""
    found = re.search(
        rf"<tr>\s*<th scope=\"row\"><a href=\"/arenden/{case}\">.*?</tr>", page.text, re.S
    )
    return found.group(0) if found else ""


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, "no form on the page"
    return found.group(1)


def forms_on(page: httpx.Response) -> set[str]:
    return set(re.findall(r'action="/arenden/[^"]+/atgard/([a-z-]+)"', page.text))


async def test_the_inbox_shows_mine_and_the_unassigned_with_days_left(counter: Desk) -> None:
    base = counter.service.url
    async with counter.service.api(await device_login(counter.service.idp, "anna")) as anna:
        mine = await registered(anna, "access", DEMO_SUBJECTS["protected"], assignee="anna")
        nobodys = await registered(anna, "erasure", DEMO_SUBJECTS["tolvan"])
        hers = await registered(anna, "erasure", DEMO_SUBJECTS["joint_b"], assignee="cecilia")
        await reaches(anna, mine, CaseState.AWAITING_IDENTITY)

    def look() -> None:
        browser, page = console_sign_in(base, "anna")
        assert page.status_code == 200 and "<h1>Mina ärenden</h1>" in page.text
        listed = row(page, mine)
        assert "Registerutdrag (art. 15)" in listed and "Väntar på identitetsbevis" in listed
        assert "den registrerade: identitetsbevis" in listed
        assert "(i dag)" in listed, "since when it waits"
        # A month to answer: green.
        assert 'class="dagar gott"' in listed and ">anna<" in listed
        assert ">otilldelat<" in row(page, nobodys)
        assert row(page, hers) == "", "another handler's case is not in anna's inbox"

        erasures = browser.get("/", params={"typ": "erasure"})
        assert row(erasures, nobodys) and not row(erasures, mine)
        waiting = browser.get("/", params={"status": "awaiting_identity"})
        assert row(waiting, mine)
        everyone = browser.get("/", params={"vy": "alla", "handlaggare": "cecilia"})
        assert row(everyone, hers) and not row(everyone, mine) and not row(everyone, nobodys)
        # Nothing is due within five days yet.
        assert not row(browser.get("/", params={"frist": "5"}), mine)
        # Sorted by deadline, the nearest first: the two registered today in order of number.
        numbers = re.findall(r'<a href="/arenden/(DSR-[0-9-]+)">', page.text)
        assert numbers.index(mine) < numbers.index(nobodys)
        # A filter value that is no kind or state shows everything rather than failing.
        assert browser.get("/", params={"typ": "nonsense", "status": "x"}).status_code == 200
        browser.close()

    await in_browser(look)


async def test_the_case_page_offers_what_the_roles_allow_and_refusals_change_nothing(
    counter: Desk,
) -> None:
    base = counter.service.url
    async with counter.service.api(await device_login(counter.service.idp, "anna")) as anna:
        case = await registered(anna, "erasure", DEMO_SUBJECTS["joint_a"], assignee="anna")
        await reaches(anna, case, CaseState.AWAITING_IDENTITY)

        def handler() -> None:
            browser, _ = console_sign_in(base, "anna")
            page = browser.get(f"/arenden/{case}")
            assert page.status_code == 200
            assert "Väntar på identitetsbevis" in page.text and "Radering (art. 17)" in page.text
            offered = forms_on(page)
            assert {"verify-identity", "close-unverified", "withdraw", "reassign"} <= offered
            # Refusing takes delegation; approving a plan is for another state and role.
            assert "refuse" not in offered and "approve-erasure-plan" not in offered
            # A form without the session's token (sent from another site) is refused.
            forged = browser.post(
                f"/arenden/{case}/atgard/verify-identity", data={"method": "id_checked"}
            )
            assert forged.status_code == 403 and "Kontrollkoden" in forged.text
            # Bad input: a day in the future is the case's own refusal, word for word.
            token = csrf(page)
            future = browser.post(
                f"/arenden/{case}/atgard/verify-identity",
                data={"csrf": token, "method": "id_checked", "supplied_on": "2099-01-01"},
            )
            assert future.status_code == 409 and "in the future" in future.text
            assert "Ingenting har ändrats" in future.text
            malformed = browser.post(
                f"/arenden/{case}/atgard/verify-identity",
                data={"csrf": token, "method": "telepathy"},
            )
            assert malformed.status_code == 422 and "Hur identiteten styrktes" in malformed.text
            done = browser.post(
                f"/arenden/{case}/atgard/verify-identity",
                data={"csrf": token, "method": "id_checked"},
            )
            assert done.status_code == 200 and "Klart: Styrk identiteten" in done.text
            # Acted as who signed in: the page's timeline names anna.
            assert re.search(r"Identiteten styrktes.*?<td>anna</td>", done.text, re.S)
            browser.close()

        await in_browser(handler)
        status = await reaches(anna, case, CaseState.AWAITING_DECISION)
        assert status["identity"]["verified_by"] == "anna"
        assert status["identity"]["method"] == "id_checked"
        steps_before = len(status["steps"])

        def officer() -> None:
            # The data protection officer reads the case but takes no action on it.
            browser, _ = console_sign_in(base, "dataskyddsombud")
            page = browser.get(f"/arenden/{case}")
            assert page.status_code == 200 and forms_on(page) == set()
            assert "Inga åtgärder som dina roller tillåter" in page.text
            # A POST made by hand, with the officer's own valid token: the role decides.
            forged = browser.post(
                f"/arenden/{case}/atgard/prepare-erasure-plan", data={"csrf": csrf(page)}
            )
            assert forged.status_code == 403 and "data protection officer" in forged.text
            unknown = browser.post(
                f"/arenden/{case}/atgard/erase-everything", data={"csrf": csrf(page)}
            )
            assert unknown.status_code == 404
            browser.close()

        await in_browser(officer)
        after = await reaches(anna, case, CaseState.AWAITING_DECISION)
        assert len(after["steps"]) == steps_before, "nothing changed"


async def test_bad_addresses_unknown_cases_and_no_sign_in_get_pages(counter: Desk) -> None:
    base = counter.service.url
    async with counter.service.api(await device_login(counter.service.idp, "bo")) as bo:
        case = await registered(bo, "erasure", FILLER_SUBJECTS["bjork"], assignee="bo")
        await reaches(bo, case, CaseState.AWAITING_IDENTITY)

    def look() -> None:
        with httpx.Client(base_url=base, timeout=20) as stranger:
            away = stranger.get("/arenden/DSR-2026-000001")
            assert away.status_code == 303 and away.headers["location"] == "/logga-in"
            posted = stranger.post("/arenden/DSR-2026-000001/atgard/withdraw", data={})
            assert posted.status_code == 303
        browser, _ = console_sign_in(base, "bo")
        missing = browser.get("/arenden/DSR-1999-999999")
        assert missing.status_code == 404 and "Finns inte" in missing.text
        wrong = browser.get("/arenden/not-a-case")
        assert wrong.status_code == 404 and "Finns inte" in wrong.text
        assert "frame-ancestors 'none'" in wrong.headers["content-security-policy"]
        assert browser.get(f"/arenden/{case}/handlingar/abc").status_code == 404
        # A page number that is none is the first page.
        assert browser.get("/", params={"sida": "x"}).status_code == 200
        assert browser.get("/", params={"sida": "0"}).status_code == 200
        # "Done" is said once after an action, from the session: a link cannot claim it.
        claimed = browser.get(f"/arenden/{case}", params={"klart": "approve-release"})
        assert claimed.status_code == 200 and "Klart" not in claimed.text
        # The letter's frame says what is wrong inside the frame, and only there.
        frame = browser.get(f"/arenden/{case}/utdrag/brev")
        assert frame.status_code == 409 and "Brevet kan inte visas" in frame.text
        assert frame.headers["x-frame-options"] == "SAMEORIGIN"
        assert "sandbox" in frame.headers["content-security-policy"]
        browser.close()

    await in_browser(look)


async def test_a_request_received_by_letter_is_registered_from_the_form(counter: Desk) -> None:
    base = counter.service.url

    def registrar() -> tuple[str, str]:
        browser, _ = console_sign_in(base, "bo")
        form = browser.get("/registrera")
        assert form.status_code == 200 and "Registrera en begäran" in form.text
        token = csrf(form)
        typed = {
            "csrf": token,
            "vad": "personuppgifter",
            "kind": "rectification",
            "subject": "191212121213",  # the check digit is wrong
            "channel": "letter",
            "assignee": "anna",
            "falt-0": "street",
            "nytt-0": "Lindvägen 12",
            "underlag-0": "Flyttanmälan",
        }
        wrong = browser.post("/registrera", data=typed)
        assert wrong.status_code == 422 and "Begäran registrerades inte" in wrong.text
        assert "check digit" in wrong.text or "kontrollsiffra" in wrong.text, wrong.text[-800:]
        # Said beside the field it is about, and what was typed is still there to correct.
        beside = wrong.text.split('id="subject"')[1].split("</div>")[0]
        assert 'aria-invalid="true"' in beside and 'id="fel-gdpr-subject"' in beside
        assert 'value="Lindvägen 12"' in wrong.text
        forged = browser.post("/registrera", data={**typed, "csrf": "x"})
        assert forged.status_code == 403
        future = browser.post(
            "/registrera",
            data={**typed, "subject": DEMO_SUBJECTS["coordination"], "received": "2099-01-01"},
        )
        assert future.status_code == 422 and "future" in future.text
        assert 'id="fel-gdpr-received"' in future.text
        done = browser.post("/registrera", data={**typed, "subject": DEMO_SUBJECTS["coordination"]})
        assert done.status_code == 200 and "Begäran är registrerad" in done.text
        gdpr = str(done.url).rsplit("/", 1)[1].split("?")[0]
        assert "Rättelse (art. 16)" in done.text and "via brev" in done.text
        public = browser.post(
            "/registrera",
            data={
                "csrf": token,
                "vad": "allmanna-handlingar",
                "description": "Avbrottsrapporter 2025",
                "types": "outage_report",
                "channel": "phone",
                "assignee": "",
            },
        )
        assert public.status_code == 200 and "Allmänna handlingar (TF 2 kap.)" in public.text
        browser.close()
        return gdpr, str(public.url).rsplit("/", 1)[1].split("?")[0]

    gdpr, public = await in_browser(registrar)
    async with counter.service.api(await device_login(counter.service.idp, "bo")) as bo:
        rectification = (await bo.get(f"/cases/{gdpr}")).json()
        assert rectification["kind"] == "rectification" and rectification["channel"] == "letter"
        assert rectification["assignee"] == "anna"
        assert [s["actor"] for s in rectification["steps"][:1]] != [], rectification["steps"]
        asked = (await bo.get(f"/cases/{public}")).json()
        assert asked["kind"] == "public_access" and asked["assignee"] is None
        assert asked["channel"] == "phone"
        # Only one rectification for the subject: the refused tries registered nothing.
        listed = (await bo.get("/cases", params={"kind": "rectification", "open": "true"})).json()
        assert sum(1 for row in listed["cases"] if row["case_number"] == gdpr) == 1


async def test_the_overview_counts_and_shows_the_overdue_and_escalated(counter: Desk) -> None:
    base = counter.service.url
    async with counter.service.api(await device_login(counter.service.idp, "bo")) as bo:
        late = await registered(
            bo,
            "access",
            FILLER_SUBJECTS["karimi"],
            received=(date.today() - timedelta(days=40)).isoformat(),
            details={"deliver_elsewhere": True},
        )
        objection = await registered(bo, "objection", FILLER_SUBJECTS["falk"])
        await reaches(bo, objection, CaseState.CLOSED)
        deadline = time.monotonic() + 30
        while (await bo.get(f"/cases/{late}")).json()["escalation"] != "overdue":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.3)

    def supervisor() -> None:
        browser, _ = console_sign_in(base, "bo")
        page = browser.get("/oversikt")
        assert page.status_code == 200 and "<h1>Översikt</h1>" in page.text
        overdue = page.text.split('id="rubrik-forsenade"')[1].split("</section>")[0]
        assert f"/arenden/{late}" in overdue and "försenat" in overdue
        assert f"/namespaces/default/workflows/{late}" in overdue, "the Web UI link"
        escalated = page.text.split('id="rubrik-eskalerade"')[1].split("</section>")[0]
        assert f"/arenden/{late}" in escalated
        closed = page.text.split('id="rubrik-avslutade"')[1].split("</section>")[0]
        assert "Invändning mot direktmarknadsföring" in closed and "Alla typer" in closed
        counts = page.text.split('id="rubrik-antal"')[1].split("</section>")[0]
        assert "Registerutdrag (art. 15)" in counts and "Väntar på identitetsbevis" in counts
        browser.close()

    await in_browser(supervisor)


async def test_a_rectification_is_decided_per_field_and_a_refusal_in_part_takes_delegation(
    counter: Desk,
) -> None:
    base = counter.service.url
    async with counter.service.api(await device_login(counter.service.idp, "anna")) as anna:
        case = await registered(
            anna,
            "rectification",
            FILLER_SUBJECTS["hedlund"],
            assignee="anna",
            details={
                "changes": [
                    {"field": "street", "new_value": "Lindvägen 12", "evidence": "Flyttanmälan"},
                    {"field": "email", "new_value": "ny@example.se"},
                ]
            },
        )
        await reaches(anna, case, CaseState.AWAITING_IDENTITY)
        verified = await anna.post(f"/cases/{case}/verify-identity", json={"method": "id_checked"})
        assert verified.status_code == 200, verified.text
        await reaches(anna, case, CaseState.AWAITING_DECISION)

        def in_part(browser: httpx.Client, page: httpx.Response) -> httpx.Response:
            """The street corrected, the e-mail address not: a decision in part."""
            return browser.post(
                f"/arenden/{case}/atgard/decide-rectification",
                data={
                    "csrf": csrf(page),
                    "decision": "partly",
                    "accepted_fields": "street",
                    "reason": "E-postadressen är redan rätt.",
                },
            )

        def decide() -> None:
            browser, _ = console_sign_in(base, "anna")
            page = browser.get(f"/arenden/{case}")
            form = page.text.split('id="atgard-decide-rectification"')[1].split("</form>")[0]
            # Only the fields asked to be corrected can be accepted.
            assert set(re.findall(r'name="accepted_fields" value="([a-z_]+)"', form)) == {
                "street",
                "email",
            }
            part = in_part(browser, page)
            # A refusal in part is a formal decision: the case refuses it from a handler.
            assert part.status_code == 403 and "Ingenting har ändrats" in part.text
            assert "delegation" in part.text
            browser.close()
            lawyer, page = console_sign_in(base, "chef.jurist")
            page = lawyer.get(f"/arenden/{case}")
            done = in_part(lawyer, page)
            assert done.status_code == 200 and "Klart: Beslut om rättelse" in done.text
            lawyer.close()

        await in_browser(decide)
        deadline = time.monotonic() + 30
        while (status := (await anna.get(f"/cases/{case}")).json())["decision"] is None:
            assert time.monotonic() < deadline, status
            await asyncio.sleep(0.3)
        assert status["decision"] == "partly"
