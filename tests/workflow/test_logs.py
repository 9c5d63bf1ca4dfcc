"""Logs of a full run (worker, activities, workflows, SDK) contain no identity number."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from temporalio.client import Client

from contract.actions import VerifyIdentityInput
from contract.case import CaseResult, CaseState
from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS
from infra.config import Settings
from infra.logging import configure_logging
from tests.helpers import release_and_hand_over, submit_access, wait_for_state

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging(level="DEBUG", fmt="json")
    root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def identity_number_forms(canonical: str) -> list[str]:
    short = canonical[2:]
    return [canonical, short, f"{short[:6]}-{short[6:]}", f"{canonical[:8]}-{canonical[8:]}"]


async def test_a_full_run_logs_ids_and_never_identity_numbers(
    client: Client, worker: Settings, captured_logs: io.StringIO
) -> None:
    subject = DEMO_SUBJECTS["coordination"]
    submitted = await submit_access(client, worker, subject, assignee=None, deliver_elsewhere=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_IDENTITY)
    await handle.execute_update(
        "verify_identity", VerifyIdentityInput(method="id_checked", handler="anna")
    )
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    await release_and_hand_over(handle)
    # A library that logs a payload anyway is caught by the redaction processor.
    logging.getLogger("some.library").warning("payload was %s", {"subject_id": subject})

    logs = captured_logs.getvalue()
    assert submitted.case_number in logs, "the run was logged (by case number)"
    assert "[redacted]" in logs
    for person in [*DEMO_SUBJECTS.values(), *FILLER_SUBJECTS.values()]:
        for form in identity_number_forms(person):
            assert form not in logs
