"""Delivery when the easy way is closed: no digital mailbox, handlers acting at the same time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowUpdateFailedError

from app.worker_setup import build_activities, create_worker
from contract.actions import (
    ActionResult,
    ApproveReleaseInput,
    CloseUnverifiedInput,
    RecordManualDeliveryInput,
    RequestChangesInput,
)
from contract.case import CaseResult, CaseState, DeliveryMethod, Outcome
from demo.people import DEMO_SUBJECTS
from infra.config import Settings
from tests.helpers import submit_access, wait_for_state

pytestmark = pytest.mark.asyncio(loop_scope="session")
NO_MAILBOX = frozenset({DEMO_SUBJECTS["tolvan"], DEMO_SUBJECTS["unknown"]})


@pytest_asyncio.fixture(loop_scope="session")
async def mailboxless(client: Client, settings: Settings) -> AsyncIterator[Settings]:
    """A worker whose digital mailbox provider knows some people have no mailbox."""
    custom = settings.model_copy(update={"outbox_without_mailbox": NO_MAILBOX})
    async with build_activities(custom) as activities:
        async with create_worker(client, custom, activities):
            yield custom


async def test_no_mailbox_falls_back_to_a_letter_to_the_registered_address(
    client: Client, mailboxless: Settings
) -> None:
    submitted = await submit_access(client, mailboxless, DEMO_SUBJECTS["tolvan"], bankid=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
    result = await handle.result()
    assert result.outcome is Outcome.DELIVERED
    assert result.delivery is not None and result.delivery.method is DeliveryMethod.LETTER
    assert (Path(result.delivery.location) / "letter.html").exists()
    assert not (mailboxless.outbox_dir / "digital-mailbox").exists()


async def test_no_mailbox_and_no_address_goes_to_a_handler(
    client: Client, mailboxless: Settings
) -> None:
    submitted = await submit_access(client, mailboxless, DEMO_SUBJECTS["unknown"], bankid=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
    manual = await wait_for_state(handle, CaseState.AWAITING_MANUAL_DELIVERY)
    assert manual.manual_handling_reason == "no_digital_mailbox"
    await handle.execute_update(
        "record_manual_delivery", RecordManualDeliveryInput(handler="bo", note="Hämtades.")
    )
    assert (await handle.result()).outcome is Outcome.DELIVERED_MANUALLY


async def test_an_unverified_notice_without_mailbox_goes_to_a_handler(
    client: Client, mailboxless: Settings
) -> None:
    submitted = await submit_access(
        client, mailboxless, DEMO_SUBJECTS["tolvan"], deliver_elsewhere=True
    )
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_IDENTITY)
    await handle.execute_update(
        "close_unverified", CloseUnverifiedInput(handler="anna", reason="Ingen legitimation.")
    )
    manual = await wait_for_state(handle, CaseState.AWAITING_MANUAL_DELIVERY)
    assert manual.manual_handling_reason == "no_digital_mailbox"
    await handle.execute_update(
        "record_manual_delivery", RecordManualDeliveryInput(handler="anna", note="Brev skickat.")
    )
    assert (await handle.result()).outcome is Outcome.CLOSED_UNVERIFIED


async def test_two_handlers_deciding_at_once_one_wins_the_other_is_told(
    client: Client, worker: Settings
) -> None:
    submitted = await submit_access(client, worker, DEMO_SUBJECTS["joint_b"], bankid=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    outcomes = await asyncio.gather(
        handle.execute_update(
            "approve_release", ApproveReleaseInput(handler="anna"), result_type=ActionResult
        ),
        handle.execute_update(
            "request_changes",
            RequestChangesInput(handler="bo", reason="Kontrollera fakturorna."),
            result_type=ActionResult,
        ),
        handle.execute_update(
            "approve_release", ApproveReleaseInput(handler="cecilia"), result_type=ActionResult
        ),
        return_exceptions=True,
    )
    won = [o for o in outcomes if isinstance(o, ActionResult)]
    lost = [o for o in outcomes if isinstance(o, WorkflowUpdateFailedError)]
    assert len(won) == 1 and len(lost) == 2, outcomes
    for refusal in lost:
        message = str(refusal.cause)
        assert (
            "another handler has already decided" in message
            or "is being checked; try again" in message
            or "you can" in message
        )
    status = await wait_for_state(
        handle,
        CaseState.CLOSED if won[0].state is CaseState.DELIVERING else CaseState.AWAITING_REVIEW,
    )
    decisions = [s for s in status.steps if s.action in ("approve_release", "request_changes")]
    assert len(decisions) == 1, "exactly one decision was recorded"
    if status.state is CaseState.AWAITING_REVIEW:
        await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
    await handle.result()
