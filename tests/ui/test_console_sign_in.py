"""A handler signs in to the web console in Chromium, sees who they are, and signs out: the
provider's own login page, the console's inbox, the provider's sign-out, the console's
"signed out" page. Screenshots of each go to build/screenshots/."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from infra.idp import demo_password
from tests.serving import Desk

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_handler_signs_in_to_the_console_and_out_again(
    desk: Desk, browser: webdriver.Chrome, screenshots: Path
) -> None:
    base = desk.service.url

    def person() -> None:
        wait = WebDriverWait(browser, 20)
        browser.get(f"{base}/")
        wait.until(seen.presence_of_element_located((By.NAME, "password")))
        assert browser.title.startswith("Logga in")
        browser.save_screenshot(str(screenshots / "1-logga-in.png"))
        browser.find_element(By.NAME, "login").send_keys("cecilia")
        browser.find_element(By.NAME, "password").send_keys(demo_password("cecilia"))
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(seen.title_contains("Mina ärenden"))
        assert browser.current_url == f"{base}/"
        text = browser.find_element(By.TAG_NAME, "main").text
        assert "Inloggad som cecilia" in browser.find_element(By.TAG_NAME, "header").text
        assert "Roller i dag: handläggare, teamledare" in text
        # The session cookie is out of the page's reach (HttpOnly).
        assert "dsr_session" not in browser.execute_script("return document.cookie")
        browser.save_screenshot(str(screenshots / "2-mina-arenden.png"))
        browser.find_element(By.CSS_SELECTOR, "#utloggning button").click()
        wait.until(seen.presence_of_element_located((By.NAME, "logout")))
        browser.find_element(By.NAME, "logout").click()
        wait.until(seen.title_contains("Du är utloggad"))
        browser.save_screenshot(str(screenshots / "3-utloggad.png"))
        # Back to the console: signed out here and at the provider, so the password is asked.
        browser.get(f"{base}/")
        wait.until(seen.presence_of_element_located((By.NAME, "password")))

    await asyncio.to_thread(person)
