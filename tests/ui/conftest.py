"""Debian's Chromium, headless, for the tests that look at pages as a person would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from infra.config import PROJECT_ROOT

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    assert not missing, f"install Debian's chromium and chromium-driver ({', '.join(missing)})"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--lang=sv",
        "--window-size=1600,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Path:
    """Where a test keeps what it saw: build/screenshots/<test>/, left after the run for a
    person to look at (git ignores build/); each run replaces a test's own."""
    where = PROJECT_ROOT / "build" / "screenshots" / request.node.name
    where.mkdir(parents=True, exist_ok=True)
    for old in where.glob("*.png"):
        old.unlink()
    return where
