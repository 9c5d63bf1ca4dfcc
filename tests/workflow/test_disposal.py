"""A delivered case's files leave the extract store when their days have passed: a workflow of
their own starts when the case closes, waits on a durable timer (a month in seconds on the
time-skipping server), deletes them, and the case's trail records it."""

from __future__ import annotations

import os
import stat
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.store import ExtractStore
from app.worker_setup import build_activities, create_worker
from contract.actions import ApproveReleaseInput
from contract.case import CaseResult, CaseState, Outcome
from contract.extracts import ExtractDisposalInput, ExtractDisposalResult
from contract.intake import RegisterCaseInput, SubmitRequestInput
from contract.vocabulary import Kind
from demo.people import DEMO_SUBJECTS
from infra import plugins
from infra.adapters import Attachment, Letter, MailboxMessage
from infra.config import Settings
from infra.db import CaseEvent
from infra.notes import open_note
from infra.outbox import FakeEidProvider
from tests.databases import sync_url
from tests.helpers import record_history, submit_access, wait_for_state
from workflows.disposal import ExtractDisposalWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def demo_deliveries(settings: Settings, case: str) -> list[Path]:
    """A letter and a digital-mailbox message for `case` through the demo's adapters, and an
    e-ID order signed two hours ago; the paths they wrote (the order last)."""
    letters = plugins.letter_service(settings)
    mailbox = plugins.digital_mailbox(settings)
    eid = plugins.eid_provider(settings)
    assert isinstance(eid, FakeEidProvider)
    enclosure = Attachment("a.html", b"<p>Tolvan</p>")
    letter = await letters.post(
        Letter(
            case, ("Tolvan Tolvansson", "Storgatan 1"), "<p>Hej</p>", (Attachment("a.html", b"x"),)
        )
    )
    message = await mailbox.send(
        MailboxMessage(f"{case}-notice", DEMO_SUBJECTS["tolvan"], "Svar", "Se bilaga", (enclosure,))
    )
    order = settings.eid_dir / f"{eid.sign(DEMO_SUBJECTS['tolvan'])}.json"
    two_hours_ago = time.time() - 7200
    os.utime(order, (two_hours_ago, two_hours_ago))
    return [Path(letter), *Path(letter).iterdir(), Path(message), *Path(message).iterdir(), order]


async def test_a_delivered_case_schedules_the_deletion_of_its_files(
    client: Client, worker: Settings
) -> None:
    submitted = await submit_access(client, worker, DEMO_SUBJECTS["tolvan"], bankid=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
    assert (await handle.result()).outcome is Outcome.DELIVERED
    disposal = client.get_workflow_handle(f"{submitted.case_number}-extract-disposal")
    described = await disposal.describe()
    assert described.status is WorkflowExecutionStatus.RUNNING
    assert described.workflow_type == "ExtractDisposalWorkflow"
    # Still there, sealed, until the days have passed.
    assert (worker.extract_dir / submitted.case_number).is_dir()
    await disposal.terminate("test over")


async def test_the_files_go_after_the_configured_days_and_the_trail_says_so(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    settings = settings.model_copy(update={"extract_retention_days": 30})
    async with build_activities(settings) as activities:
        by_name = {getattr(a, "__name__", ""): a for a in activities}
        opened = await ActivityEnvironment().run(
            by_name["register_case"],
            RegisterCaseInput(
                request=SubmitRequestInput(
                    kind=Kind.ACCESS,
                    subject_id=DEMO_SUBJECTS["tolvan"],
                    received_at=await skipping_env.get_current_time(),
                ),
                intake_id=f"test-{uuid.uuid4()}",
            ),
        )
        case = opened.case_number
        store = ExtractStore(settings.extract_dir, settings.key_ring())
        store.write(store.ref(case, 1, "extract.html"), "<p>Tolvan Tolvansson</p>")
        store.write(store.ref(case, 1, "billing.json"), "{}")
        # Rows a crash left in the scratch area, never sealed: they go too.
        store.scratch(store.ref(case, 1, "network.json")).write_text("[]")
        assert stat.S_IMODE(store.path(store.ref(case, 1, "billing.json")).stat().st_mode) == 0o600
        # What the demo's adapters keep of the case (what left the company, in the clear):
        # the owner's only, and it goes with the rest.
        sent = await demo_deliveries(settings, case)
        for path in sent:
            assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600)
        other_case = await demo_deliveries(settings, "DSR-2020-000001")
        os.utime(other_case[-1])  # an order signed just now: not yet collected, perhaps
        closed_at = await skipping_env.get_current_time()
        async with create_worker(skipping_env.client, settings, activities):
            handle = await skipping_env.client.start_workflow(
                ExtractDisposalWorkflow.run,
                ExtractDisposalInput(case_number=case, closed_at=closed_at),
                id=f"{case}-extract-disposal",
                task_queue=settings.task_queue,
                result_type=ExtractDisposalResult,
            )
            result = await handle.result()
            await record_history(handle, "extract_disposal")
    assert result.files == 3 + 6, "3 in the store, a letter's 3 files, a message's 2, an order"
    assert not any(path.exists() for path in sent)
    assert all(path.exists() for path in other_case), "another case's deliveries stay"
    assert result.deleted_at - closed_at >= timedelta(days=30)
    assert result.deleted_at - closed_at < timedelta(days=30, hours=1)
    assert not (settings.extract_dir / case).exists()
    engine = sa.create_engine(sync_url(settings.register_database_url))
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(CaseEvent.step, CaseEvent.detail).where(
                    CaseEvent.case_number == case, CaseEvent.action == "extracts_deleted"
                )
            ).one()
    finally:
        engine.dispose()
    note = open_note(settings.key_ring(), case, row.step, row.detail["note"])
    assert note == "9 files, 30 days after the case closed"
    assert not list((settings.extract_dir / ".scratch").glob(f"{case}__*"))
