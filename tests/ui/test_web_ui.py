"""The Temporal Web UI as a supervisor uses it: the stack of `make run`, real headless Chromium.

The stack (dev server with its UI, demo systems, worker) is started by the same code as `make
run`, on free ports and a private var directory. A case registered 40 days late is overdue at
once; the supervisor's query in the UI's workflow list shows it. The screenshot is kept in
var/test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from urllib.request import urlopen

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from dsr.config import Settings
from dsr.metrics import OPEN_CASES, OVERDUE_CASES
from scripts.stack import quiet_cli as cli
from scripts.stack import running_stack
from tests.helpers import free_port
from workflows.case import ESCALATIONS_METRIC

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@dataclass(frozen=True)
class Stack:
    settings: Settings
    overdue_case: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`make run`'s stack on free ports, with a case registered 40 days late: overdue at once.
    The worker, the CLI and this test read the same environment."""
    port, ui_port, metrics_port = free_port(), free_port(), free_port()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DSR_TEMPORAL_ADDRESS", f"127.0.0.1:{port}")
        env.setenv("DSR_UI_URL", f"http://127.0.0.1:{ui_port}")
        env.setenv("DSR_VAR_DIR", str(tmp_path_factory.mktemp("stack") / "var"))
        env.setenv("DSR_TASK_QUEUE", "dsr-ui-test")
        env.setenv("DSR_METRICS_ADDRESS", f"127.0.0.1:{metrics_port}")
        env.setenv("DSR_CODEC_ADDRESS", f"127.0.0.1:{free_port()}")
        env.setenv("DSR_SERVICE_ADDRESS", f"127.0.0.1:{free_port()}")
        env.setenv("DSR_OIDC_ISSUER", f"http://127.0.0.1:{free_port()}")
        env.setenv("DSR_METRICS_INTERVAL_SECONDS", "1")
        settings = Settings()
        with running_stack(settings):
            received = (datetime.now(UTC) - timedelta(days=40)).date().isoformat()
            case = cli(
                "submit",
                "access",
                "--subject",
                "191212121212",
                "--verified-by",
                "bankid",
                "--received",
                received,
                "--handler",
                "anna",
            )["case_number"]
            deadline = time.monotonic() + 60
            while case not in [row["case_number"] for row in cli("list", "--overdue")["cases"]]:
                assert time.monotonic() < deadline, f"{case} never showed as overdue"
                time.sleep(0.5)
            yield Stack(settings, case)


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
        "--window-size=1600,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_a_supervisor_finds_the_overdue_case_in_the_web_ui(
    stack: Stack, browser: webdriver.Chrome
) -> None:
    case, settings = stack.overdue_case, stack.settings
    query = quote('DsrEscalation="overdue" AND ExecutionStatus="Running"')
    browser.get(
        f"{settings.ui_url}/namespaces/{settings.temporal_namespace}/workflows?query={query}"
    )
    try:
        WebDriverWait(browser, 60, poll_frequency=0.5).until(lambda d: case in d.page_source)
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "web-ui-overdue.png"))
    assert "191212121212" not in browser.page_source, "no identity number in the UI's list"


def scrape(address: str) -> dict[str, float]:
    """`name{labels}` -> value, from the Prometheus text format."""
    with urlopen(f"http://{address}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_the_worker_serves_the_sdk_and_the_engine_metrics(stack: Stack) -> None:
    address = stack.settings.metrics_address
    deadline = time.monotonic() + 30
    while True:
        samples = scrape(address)
        overdue = sum(v for name, v in samples.items() if name.split("{")[0] == OVERDUE_CASES)
        if overdue >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert overdue == 1, "the late case is the stack's one overdue case"
    waiting = [
        value
        for name, value in samples.items()
        if name.startswith(OPEN_CASES + "{")
        and 'kind="access"' in name
        and 'state="awaiting_review"' in name
    ]
    assert waiting == [1]
    steps = {
        step: value
        for name, value in samples.items()
        if name.startswith(ESCALATIONS_METRIC)
        for step in ("reminded", "escalated", "overdue")
        if f'step="{step}"' in name
    }
    assert steps == {"reminded": 1, "escalated": 1, "overdue": 1}, "each step once"
    # The SDK's own: workflow tasks and activities the worker ran.
    assert any(name.startswith("temporal_activity_execution_latency") for name in samples)
    assert any(name.startswith("temporal_workflow_task_execution_latency") for name in samples)
    assert not any("191212121212" in name for name in samples), "no personal data in labels"


def test_a_supervisor_reads_a_sealed_case_through_the_codec_server(
    stack: Stack, browser: webdriver.Chrome
) -> None:
    """Temporal stores the case's input sealed; the UI, pointed at the codec server by the
    stack, shows it readable to the supervisor."""
    case, settings = stack.overdue_case, stack.settings
    browser.get(f"{settings.ui_url}/namespaces/{settings.temporal_namespace}/workflows/{case}")
    try:
        WebDriverWait(browser, 60, poll_frequency=0.5).until(
            lambda d: "191212121212" in d.page_source
        )
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "web-ui-decoded.png"))
