"""Signing in to the web console in a browser: the authorization code flow with the local
provider (its own login form), the session's cookie, CSRF on the sign-out form, the session's
idle timeout, and sign-out that leaves a copied cookie worth nothing.

The browser here is an HTTP client with a cookie jar that fills in the pages' forms; the
pages themselves are looked at in Chromium in tests/ui."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from infra.config import Settings
from infra.idp import LocalIdentityProvider, submit_form
from tests.serving import SignIns, console_sign_in as sign_in, desk_for

pytestmark = pytest.mark.asyncio(loop_scope="session")


def callback_cookie(page: httpx.Response) -> str:
    [back] = [r for r in page.history if r.url.path == "/auth/callback"]
    return back.headers["set-cookie"]


async def in_browser(step: Callable[[], Any]) -> Any:
    # The service answers on this test's event loop: the blocking browser runs beside it.
    return await asyncio.to_thread(step)


async def test_a_handler_signs_in_and_out_and_the_old_cookie_is_worth_nothing(
    client: Client, worker: Settings, idp: LocalIdentityProvider, sign_ins: SignIns
) -> None:
    async with desk_for(client, worker, idp, sign_ins) as desk:
        base = desk.service.url

        def session() -> None:
            browser, page = sign_in(base, "bo")
            assert page.status_code == 200 and str(page.url) == f"{base}/"
            assert "Inloggad som" in page.text and "bo" in page.text
            assert "teamledare" in page.text
            cookie = callback_cookie(page)
            assert "dsr_session=" in cookie and "httponly" in cookie.lower()
            assert "samesite=lax" in cookie.lower()
            assert "secure" not in cookie.lower()  # development: plain http on loopback
            assert page.headers["cache-control"] == "no-store"
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
            [kept] = [c.value for c in browser.cookies.jar if c.name == "dsr_session"]

            # A sign-out form without its token (a forged form from elsewhere) is refused.
            forged = browser.post("/logga-ut", data={"csrf": "forged"})
            assert forged.status_code == 403 and "Kontrollkoden" in forged.text
            assert "Inloggad som" in browser.get("/").text, "still signed in"

            # The page's own form signs out here and at the provider.
            out = submit_form(browser, browser.get("/"), {}, "utloggning")
            assert "/session/end" in str(out.url) or "Logga ut" in out.text
            if "op.logoutForm" in out.text:
                out = submit_form(browser, out, {"logout": "yes"}, "op.logoutForm")
            assert out.status_code == 200 and "Du är utloggad" in out.text
            # The cookie copied before sign-out no longer opens anything.
            with httpx.Client(base_url=base, timeout=20) as thief:
                thief.cookies.set("dsr_session", kept)
                again = thief.get("/")
            assert again.status_code == 303 and again.headers["location"] == "/logga-in"
            # And the provider's session ended too: signing in asks for the password again.
            page = browser.get("/")
            assert "/interaction/" in str(page.url) and 'name="password"' in page.text
            browser.close()

        await in_browser(session)


async def test_no_to_signing_out_at_the_provider_still_asks_the_next_person_for_a_password(
    client: Client, worker: Settings, idp: LocalIdentityProvider, sign_ins: SignIns
) -> None:
    async with desk_for(client, worker, idp, sign_ins) as desk:

        def session() -> None:
            browser, page = sign_in(desk.service.url, "bo")
            assert "Inloggad som" in page.text
            out = submit_form(browser, page, {}, "utloggning")  # the console's "Logga ut"
            assert "op.logoutForm" in out.text
            submit_form(browser, out, {}, "op.logoutForm")  # "Nej": the provider's session stays
            again = browser.get("/")
            assert "/interaction/" in str(again.url) and 'name="password"' in again.text
            assert "Inloggad som" not in again.text
            browser.close()

        await in_browser(session)


async def test_a_session_ends_after_its_idle_timeout(
    client: Client, worker: Settings, idp: LocalIdentityProvider, sign_ins: SignIns
) -> None:
    idle = worker.model_copy(update={"session_idle_seconds": 2})
    async with desk_for(client, idle, idp, sign_ins) as desk:

        def session() -> None:
            browser, page = sign_in(desk.service.url, "anna")
            assert "Inloggad som" in page.text
            assert "efter 2 sekunder utan aktivitet" in page.text
            time.sleep(2.5)
            late = browser.get("/", follow_redirects=False)
            assert late.status_code == 303 and late.headers["location"] == "/logga-in"
            browser.close()

        await in_browser(session)


async def test_the_cookie_is_secure_outside_development(
    client: Client, worker: Settings, idp: LocalIdentityProvider, sign_ins: SignIns
) -> None:
    production = worker.model_copy(update={"session_cookie_secure": True})
    async with desk_for(client, production, idp, sign_ins) as desk:
        async with httpx.AsyncClient(base_url=desk.service.url) as browser:
            started = await browser.get("/logga-in")
    assert started.status_code == 302
    cookie = started.headers["set-cookie"].lower()
    assert "dsr_session=" in cookie and "secure" in cookie and "httponly" in cookie


async def test_a_wrong_password_or_a_forged_callback_signs_nobody_in(
    client: Client, worker: Settings, idp: LocalIdentityProvider, sign_ins: SignIns
) -> None:
    async with desk_for(client, worker, idp, sign_ins) as desk:
        base = desk.service.url

        def attempts() -> None:
            browser, page = sign_in(base, "anna", "fel-lösenord")
            assert "/interaction/" in str(page.url) and "Inloggad som" not in page.text
            # A callback nobody started (no state of ours): refused, no session.
            forged = browser.get("/auth/callback?code=stolen&state=guessed")
            assert forged.status_code == 400 and "Inloggningen misslyckades" in forged.text
            assert "/interaction/" in str(browser.get("/").url)
            browser.close()

        await in_browser(attempts)
