"""The Temporal Web UI as a supervisor uses it: the stack of `make run`, real headless Chromium.

The stack (dev server with its UI, demo systems, worker, identity provider, case service) is
started by the same code as `make run`, on free ports and a private var directory. A handler
signed in at the command line registers a case 40 days late: it is overdue at once; the
supervisor's query in the UI's workflow list shows it. The screenshot is kept in
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
from selenium.webdriver.support.ui import WebDriverWait

from infra.config import Settings
from infra.metrics import OPEN_CASES, OVERDUE_CASES
from scripts.embedded import running_stack
from tests.helpers import free_port
from workflows.case.clock import ESCALATIONS_METRIC

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
    The stack and this test read the same environment; the CLI runs as anna, signed in to the
    stack's case service (`starter.py login`), with nothing of the engine in its own."""
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
        with running_stack(settings) as running:
            anna = running.person("anna")
            received = (datetime.now(UTC) - timedelta(days=40)).date().isoformat()
            # Answered in the subject's own digital mailbox: no identity proof, straight to review.
            case = anna.quiet(
                "submit",
                "access",
                "--subject",
                "191212121212",
                "--received",
                received,
                "--assign",
                "anna",
            )["case_number"]
            deadline = time.monotonic() + 60
            while case not in [
                row["case_number"] for row in anna.quiet("list", "--overdue")["cases"]
            ]:
                assert time.monotonic() < deadline, f"{case} never showed as overdue"
                time.sleep(0.5)
            yield Stack(settings, case)


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
