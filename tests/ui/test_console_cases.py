"""Handlers work cases in the web console in Chromium, as they would at their desks: sign in
through the provider's own page, find the case in the inbox, verify the subject's identity,
read the extract as the subject will and release it; a second person approves an erasure
plan another prepared; the data protection officer sees no action and a forged form is
refused. Screenshots of the inbox, the case page and the extract go to build/screenshots/."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import Select, WebDriverWait

from contract.case import CaseState
from demo.archive import PROTECTED_ADDRESS
from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS
from infra.idp import demo_password
from tests.oidc import device_login
from tests.serving import Desk, reaches, registered

pytestmark = pytest.mark.asyncio(loop_scope="session")


def sign_in(browser: webdriver.Chrome, base: str, login: str) -> WebDriverWait[Any]:
    # A condition checked while a submitted form's page replaces the old one may meet the old
    # page's node gone (Chrome: "Node with given id does not belong to the document"); the wait
    # looks again, and still fails if the condition never holds.
    wait = WebDriverWait(browser, 30, ignored_exceptions=(WebDriverException,))
    browser.get(f"{base}/")
    wait.until(seen.presence_of_element_located((By.NAME, "password")))
    browser.find_element(By.NAME, "login").send_keys(login)
    browser.find_element(By.NAME, "password").send_keys(demo_password(login))
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(seen.title_contains("Mina ärenden"))
    return wait


def sign_out(browser: webdriver.Chrome, wait: WebDriverWait[Any]) -> None:
    browser.find_element(By.CSS_SELECTOR, "#utloggning button").click()
    wait.until(seen.presence_of_element_located((By.NAME, "logout")))
    browser.find_element(By.NAME, "logout").click()
    wait.until(seen.title_contains("Du är utloggad"))


def submit(browser: webdriver.Chrome, path: str) -> None:
    browser.find_element(By.CSS_SELECTOR, f"#atgard-{path} button[type=submit]").click()


def shown_after_reloads(browser: webdriver.Chrome, by: str, what: str) -> None:
    """The page reloaded, as a handler would, until it shows `what` (the case moves on in the
    background: collecting, building, preparing copies); fails after 30 s."""
    deadline = time.monotonic() + 30
    while not browser.find_elements(by, what):
        assert time.monotonic() < deadline, main_text(browser)
        time.sleep(0.5)
        browser.refresh()


def main_text(browser: webdriver.Chrome) -> str:
    return str(browser.find_element(By.TAG_NAME, "main").text)


async def test_a_handler_verifies_reviews_and_releases_and_a_second_approves_erasure(
    counter: Desk, browser: webdriver.Chrome, screenshots: Path
) -> None:
    base = counter.service.url
    async with counter.service.api(await device_login(counter.service.idp, "anna")) as anna:
        # Sanna Ek has protected personal data: her extract goes out only after proof.
        access = await registered(anna, "access", DEMO_SUBJECTS["protected"], assignee="anna")
        erasure = await registered(anna, "erasure", DEMO_SUBJECTS["joint_a"], assignee="anna")
        await reaches(anna, access, CaseState.AWAITING_IDENTITY)
        await reaches(anna, erasure, CaseState.AWAITING_IDENTITY)
        assert (
            await anna.post(f"/cases/{erasure}/verify-identity", json={"method": "id_checked"})
        ).status_code == 200
        await reaches(anna, erasure, CaseState.AWAITING_DECISION)
        assert (
            await anna.post(f"/cases/{erasure}/prepare-erasure-plan", json={})
        ).status_code == 200

        def handler() -> None:
            wait = sign_in(browser, base, "anna")
            # The inbox: her case, what it waits for, days left in colour.
            row = browser.find_element(By.XPATH, f"//tr[th/a[text()='{access}']]")
            assert "Väntar på identitetsbevis" in row.text and "anna" in row.text
            assert row.find_element(By.CSS_SELECTOR, ".dagar.gott")
            browser.save_screenshot(str(screenshots / "1-inkorg.png"))
            row.find_element(By.LINK_TEXT, access).click()
            wait.until(seen.title_contains(access))
            assert "Väntar på identitetsbevis" in main_text(browser)
            browser.save_screenshot(str(screenshots / "2-arende-identitet.png"))
            # The form with the keyboard: the method chosen, then sent.
            Select(browser.find_element(By.ID, "verify-identity-method")).select_by_value(
                "id_checked"
            )
            submit(browser, "verify-identity")
            wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "main"), "Klart"))
            # Collecting and building take a moment: the page says when the extract waits.
            shown_after_reloads(browser, By.LINK_TEXT, "Granska utdraget")
            browser.save_screenshot(str(screenshots / "3-arende-granskning.png"))
            browser.find_element(By.LINK_TEXT, "Granska utdraget").click()
            wait.until(seen.title_contains("Utdrag"))
            frame = browser.find_element(By.CSS_SELECTOR, "iframe.brev")
            browser.save_screenshot(str(screenshots / "4-utdrag.png"))
            browser.switch_to.frame(frame)
            letter = browser.find_element(By.TAG_NAME, "body").text
            browser.switch_to.default_content()
            assert access in letter and "Registerutdrag" in letter, letter[:300]
            submit(browser, "approve-release")
            wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "main"), "Klart"))
            assert "Klart: Godkänn och skicka" in main_text(browser)
            assert "Utlämnandet godkändes" in main_text(browser)
            sign_out(browser, wait)

        await asyncio.to_thread(handler)
        released = (await anna.get(f"/cases/{access}")).json()
        assert released["state"] != CaseState.AWAITING_REVIEW.value
        assert [s["actor"] for s in released["steps"] if s["action"] == "approve_release"] == [
            "anna"
        ]
        await reaches(anna, erasure, CaseState.AWAITING_APPROVAL)

        def preparer_may_not_approve() -> None:
            wait = sign_in(browser, base, "anna")
            browser.get(f"{base}/arenden/{erasure}")
            wait.until(seen.title_contains(erasure))
            # anna is a handler, not a team lead: no approval is offered to her.
            assert not browser.find_elements(By.ID, "atgard-approve-erasure-plan")
            sign_out(browser, wait)

        await asyncio.to_thread(preparer_may_not_approve)

        def approver() -> None:
            wait = sign_in(browser, base, "bo")
            browser.get(f"{base}/arenden/{erasure}")
            wait.until(seen.title_contains(erasure))
            text = main_text(browser)
            assert "Raderingsplan" in text and "Väntar på godkännande av raderingsplan" in text
            browser.save_screenshot(str(screenshots / "5-raderingsplan.png"))
            submit(browser, "approve-erasure-plan")
            wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "main"), "Klart"))
            assert "Raderingsplanen godkändes" in main_text(browser)
            sign_out(browser, wait)

        await asyncio.to_thread(approver)
        approved = (await anna.get(f"/cases/{erasure}")).json()
        assert [s["actor"] for s in approved["steps"] if s["action"] == "approve_erasure_plan"] == [
            "bo"
        ]


async def test_no_role_no_action_and_a_forged_form_is_refused(
    counter: Desk, browser: webdriver.Chrome, screenshots: Path
) -> None:
    base = counter.service.url
    async with counter.service.api(await device_login(counter.service.idp, "anna")) as anna:
        case = await registered(anna, "erasure", DEMO_SUBJECTS["tolvan"])
        before = await reaches(anna, case, CaseState.AWAITING_IDENTITY)

        def officer() -> None:
            wait = sign_in(browser, base, "dataskyddsombud")
            browser.get(f"{base}/arenden/{case}")
            wait.until(seen.title_contains(case))
            assert not browser.find_elements(By.CSS_SELECTOR, "form.atgard")
            assert "Inga åtgärder som dina roller tillåter" in main_text(browser)
            browser.save_screenshot(str(screenshots / "1-dataskyddsombud.png"))
            # A form made by hand in the page, with the officer's own valid token.
            browser.execute_script(
                """
                const form = document.createElement('form');
                form.method = 'post';
                form.action = arguments[0];
                const token = document.querySelector('#utloggning input[name=csrf]').cloneNode();
                form.appendChild(token);
                const method = document.createElement('input');
                method.name = 'method'; method.value = 'id_checked';
                form.appendChild(method);
                document.body.appendChild(form);
                form.submit();
                """,
                f"/arenden/{case}/atgard/verify-identity",
            )
            wait.until(seen.title_contains("inte tillåten"))
            text = main_text(browser)
            assert "Ingenting har ändrats" in text and "data protection officer" in text
            browser.save_screenshot(str(screenshots / "2-nekad.png"))

        await asyncio.to_thread(officer)
        after = await reaches(anna, case, CaseState.AWAITING_IDENTITY)
        assert after["steps"] == before["steps"] and after["identity"] is None


async def test_a_passage_masked_in_the_review_is_gone_from_the_preview_and_the_copy_sent(
    counter: Desk, browser: webdriver.Chrome, screenshots: Path
) -> None:
    base = counter.service.url
    settings = counter.service.settings
    async with counter.service.api(await device_login(counter.service.idp, "anna")) as anna:
        opened = await anna.post(
            "/public-requests",
            json={
                "description": "Skrivelser om flytt av elmätare",
                "query": {"types": ["correspondence"], "text": "elmätare"},
                "contact": {"email": "begaran@example.org"},
                "assignee": "anna",
            },
        )
        case = opened.json()["case_number"]
        located = await reaches(anna, case, CaseState.AWAITING_CONFIRMATION)
        first = located["public"]["candidates"][0]

        def reviewer() -> None:
            wait = sign_in(browser, base, "anna")
            browser.get(f"{base}/arenden/{case}")
            wait.until(seen.title_contains(case))
            box = browser.find_element(
                By.CSS_SELECTOR,
                f"#atgard-confirm-documents input[value='{first['document_id']}']",
            )
            box.click()
            submit(browser, "confirm-documents")
            wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "main"), "Klart"))
            shown_after_reloads(browser, By.LINK_TEXT, first["title"])
            browser.find_element(By.LINK_TEXT, first["title"]).click()
            wait.until(seen.title_contains("Sekretessprövning"))
            text = browser.find_element(By.ID, "handlingstext")
            assert "Sanna Ek" in text.text and PROTECTED_ADDRESS.split()[0] in text.text
            # The reviewer selects the name in the text: it becomes a part to mask.
            browser.execute_script(
                """
                const pre = arguments[0], part = arguments[1];
                const node = pre.firstChild, at = node.textContent.indexOf(part);
                const range = document.createRange();
                range.setStart(node, at);
                range.setEnd(node, at + part.length);
                const selection = window.getSelection();
                selection.removeAllRanges();
                selection.addRange(range);
                pre.dispatchEvent(new MouseEvent("mouseup", {bubbles: true}));
                """,
                text,
                "Sanna Ek",
            )
            assert browser.find_element(By.ID, "mask-0").get_attribute("value") == "Sanna Ek"
            # And types the protected address, which runs over a line break in the text.
            browser.find_element(By.ID, "mask-1").send_keys(PROTECTED_ADDRESS)
            for row in (0, 1):
                Select(browser.find_element(By.ID, f"grund-{row}")).select_by_value("OSL 21:3")
            browser.save_screenshot(str(screenshots / "1-sekretessprovning.png"))
            browser.find_element(By.CSS_SELECTOR, "#provning button[type=submit]").click()
            wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "main"), "Klart"))
            shown_after_reloads(browser, By.LINK_TEXT, "Förhandsgranska det som skickas")
            browser.save_screenshot(str(screenshots / "2-arende-provat.png"))
            browser.find_element(By.LINK_TEXT, "Förhandsgranska det som skickas").click()
            wait.until(seen.title_contains("Förhandsvisning"))
            shown = main_text(browser)
            assert "Sanna Ek" not in shown and "[maskerat enligt OSL 21:3]" in shown
            assert "begär att elmätaren flyttas" in shown  # the rest is there
            browser.save_screenshot(str(screenshots / "3-forhandsvisning.png"))
            submit(browser, "approve-release")
            wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "main"), "Klart"))
            sign_out(browser, wait)

        await asyncio.to_thread(reviewer)
        await reaches(anna, case, CaseState.AWAITING_DECISION_REQUEST)
    folder = settings.outbox_dir / "email" / f"{case}-copies"
    message = json.loads((folder / "message.json").read_text())
    [copy] = [name for name in message["attachments"] if name.startswith("handling-")]
    sent = (folder / copy).read_text()
    assert "sanna" not in sent.lower() and "[maskerat enligt OSL 21:3]" in sent
    assert "begär att elmätaren flyttas" in sent


async def test_a_request_by_telephone_is_registered_and_the_supervisor_sees_it(
    counter: Desk, browser: webdriver.Chrome, screenshots: Path
) -> None:
    base = counter.service.url

    def registrar() -> str:
        wait = sign_in(browser, base, "bo")
        browser.find_element(By.LINK_TEXT, "Registrera").click()
        wait.until(seen.title_contains("Registrera en begäran"))
        form = browser.find_element(By.ID, "registrera-gdpr")
        Select(form.find_element(By.ID, "kind")).select_by_value("erasure")
        # A digit wrong: said beside the number, the form kept as typed, nothing registered.
        form.find_element(By.ID, "subject").send_keys(FILLER_SUBJECTS["lund"][:-1] + "0")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(seen.presence_of_element_located((By.ID, "fel-gdpr-subject")))
        assert "Begäran registrerades inte" in main_text(browser)
        browser.save_screenshot(str(screenshots / "0-registrera-fel.png"))
        form = browser.find_element(By.ID, "registrera-gdpr")
        assert form.find_element(By.ID, "subject").get_attribute("aria-invalid") == "true"
        Select(form.find_element(By.ID, "kind")).select_by_value("erasure")
        form.find_element(By.ID, "subject").clear()
        form.find_element(By.ID, "subject").send_keys(FILLER_SUBJECTS["lund"])
        Select(form.find_element(By.ID, "gdpr-channel")).select_by_value("phone")
        Select(form.find_element(By.ID, "gdpr-assignee")).select_by_value("cecilia")
        browser.save_screenshot(str(screenshots / "1-registrera.png"))
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "main"), "registrerad"))
        number = browser.current_url.rsplit("/", 1)[1].split("?")[0]
        text = main_text(browser)
        assert "Radering (art. 17)" in text and "via telefon" in text and "cecilia" in text
        browser.find_element(By.LINK_TEXT, "Översikt").click()
        wait.until(seen.title_contains("Översikt"))
        assert "Radering (art. 17)" in main_text(browser)
        browser.save_screenshot(str(screenshots / "2-oversikt.png"))
        sign_out(browser, wait)
        return number

    number = await asyncio.to_thread(registrar)
    async with counter.service.api(await device_login(counter.service.idp, "bo")) as bo:
        status = (await bo.get(f"/cases/{number}")).json()
    assert status["kind"] == "erasure" and status["channel"] == "phone"
    assert status["assignee"] == "cecilia"
