"""Erasure under retention rules: four eyes, what goes, what stays and when it goes after all."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from dsr import search
from dsr.client import DATA_CONVERTER
from dsr.config import Settings
from dsr.db import create_engine
from dsr.models import (
    ApproveErasurePlanInput,
    CaseResult,
    CaseState,
    ExecuteErasureInput,
    Kind,
    Outcome,
    PlanErasureInput,
    PrepareErasurePlanInput,
    RegisterCaseInput,
    RejectErasurePlanInput,
    RetentionFollowUpInput,
    SubmitRequestInput,
)
from dsr.worker_setup import build_activities, create_worker
from systems.catalog import load_catalog
from systems.connector import is_restricted, plan_erasure
from systems.demo import DEMO_SUBJECTS, FILLER_SUBJECTS, default_urls, seed_demo_systems
from tests.helpers import record_history, status_of, submit, wait_for_state
from workflows.erasure import RetentionFollowUpWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def remaining_plan(settings: Settings, subject: str, today: date) -> list[tuple[str, str]]:
    """(table, action) of every plan item left for the subject, across all systems."""
    items = []
    catalog = load_catalog()
    for name in catalog.names():
        engine = create_engine(settings.system_url(name), own_database=False)
        try:
            for item in await plan_erasure(engine, catalog.systems[name], subject, today):
                items.append((f"{name}.{item.table}", item.action, item.keep_until))
        finally:
            await engine.dispose()
    return [(table, f"{action}:{until}") for table, action, until in items]


async def restricted_in(settings: Settings, system: str, subject: str) -> bool:
    engine = create_engine(settings.system_url(system), own_database=False)
    try:
        return await is_restricted(engine, load_catalog().systems[system], subject)
    finally:
        await engine.dispose()


async def prepare_and_approve(client: Client, case_number: str) -> None:
    handle = client.get_workflow_handle(case_number)
    await wait_for_state(handle, CaseState.AWAITING_DECISION)
    await handle.execute_update("prepare_erasure_plan", PrepareErasurePlanInput(handler="anna"))
    await wait_for_state(handle, CaseState.AWAITING_APPROVAL)
    await handle.execute_update("approve_erasure_plan", ApproveErasurePlanInput(handler="bo"))


async def test_erasure_erases_what_it_may_and_keeps_the_rest_restricted_with_dates(
    client: Client, writable: Settings
) -> None:
    tolvan = DEMO_SUBJECTS["tolvan"]
    submitted = await submit(client, writable, tolvan, Kind.ERASURE, bankid=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    planned = await wait_for_state(handle, CaseState.AWAITING_DECISION)
    by_table = {(i.system, i.table, i.action): i for i in planned.erasure_plan}
    assert ("billing", "credit_checks", "delete") in by_table
    invoices = by_table[("billing", "invoices", "keep")]
    assert invoices.keep_until is not None and invoices.keep_until.month == 12
    assert invoices.keep_until.day == 31, "accounting: to the end of the seventh year"
    assert "bokföringslagen" in invoices.reason.lower()
    assert by_table[("disclosure", "disclosures", "keep")].keep_until is None  # archive

    await handle.execute_update("prepare_erasure_plan", PrepareErasurePlanInput(handler="anna"))
    await wait_for_state(handle, CaseState.AWAITING_APPROVAL)
    # Four eyes: the preparer cannot approve their own plan; nothing changes.
    with pytest.raises(WorkflowUpdateFailedError) as own:
        await handle.execute_update("approve_erasure_plan", ApproveErasurePlanInput(handler="anna"))
    assert "another person must approve it" in str(own.value.cause)
    assert (await status_of(handle)).state is CaseState.AWAITING_APPROVAL
    # The approver disagrees: the plan is made again and must be prepared and approved again.
    await handle.execute_update(
        "reject_erasure_plan", RejectErasurePlanInput(handler="bo", reason="Kontrollera avtalen.")
    )
    again = await wait_for_state(handle, CaseState.AWAITING_DECISION)
    assert [s.action for s in again.steps].count("reject_erasure_plan") == 1
    await handle.execute_update("prepare_erasure_plan", PrepareErasurePlanInput(handler="anna"))
    await wait_for_state(handle, CaseState.AWAITING_APPROVAL)
    assert ("billing.credit_checks", "delete:None") in await remaining_plan(
        writable, tolvan, date.today()
    )

    await handle.execute_update("approve_erasure_plan", ApproveErasurePlanInput(handler="bo"))
    result = await handle.result()
    assert result.outcome is Outcome.PARTLY_COMPLETED

    left = await remaining_plan(writable, tolvan, date.today())
    assert not [item for item in left if not item[1].startswith("keep")], "all erasable gone"
    assert ("billing.invoices", f"keep:{invoices.keep_until}") in left
    for system in ("billing", "network"):
        assert await restricted_in(writable, system, tolvan), "what is kept is restricted"

    message = writable.outbox_dir / "digital-mailbox" / f"{submitted.case_number}-erasure_answer"
    body = json.loads((message / "message.json").read_text())["body"]
    assert "Kreditupplysning" in body or "kredit" in body.lower()
    assert "till och med" in body and str(invoices.keep_until.year) in body

    await record_history(handle, "erasure_partly_kept")
    erasure_notices = list(
        (writable.outbox_dir / "recipients" / submitted.case_number).glob("erasure-*")
    )
    assert erasure_notices, "recipients of erased data are told (Art. 19)"
    follow_up = client.get_workflow_handle(f"{submitted.case_number}-retention")
    described = await follow_up.describe()
    assert described.status is WorkflowExecutionStatus.RUNNING, "the follow-up waits for dates"
    assert described.typed_search_attributes.get(search.CASE_NUMBER) == submitted.case_number
    await follow_up.terminate("test over")


# --- months and years later: the time-skipping server ----------------------------------------


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    binary = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(binary), data_converter=DATA_CONVERTER
    )
    # The time-skipping server learns custom search attributes only through the operator API.
    kinds = {
        "KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "DATETIME": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    }
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={key.name: kinds[key.indexed_value_type.name] for key in search.ALL},
        )
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def test_kept_parts_are_erased_when_their_retention_ends_without_anyone_acting(
    skipping_env: WorkflowEnvironment, settings: Settings, tmp_path: Path
) -> None:
    """The follow-up an approved erasure leaves behind, years compressed into seconds.

    The approval and execution run here as the case runs them (the same activities); the
    follow-up is started by this client so the test server skips the time between its runs.
    """
    akesson = FILLER_SUBJECTS["akesson"]  # contract ended 2025-12-31
    urls = default_urls(tmp_path / "own")
    await seed_demo_systems(urls)
    custom = settings.model_copy(update={"system_urls": urls, "task_queue": f"skip-{uuid.uuid4()}"})
    client = skipping_env.client
    async with build_activities(custom) as activities:
        by_name = {getattr(a, "__name__", ""): a for a in activities}
        run = ActivityEnvironment().run
        opened = await run(
            by_name["register_case"],
            RegisterCaseInput(
                request=SubmitRequestInput(
                    kind=Kind.ERASURE, subject_id=akesson, received_at=datetime.now(UTC)
                ),
                intake_id="test",
            ),
        )
        plan = await run(
            by_name["plan_erasure"],
            PlanErasureInput(
                case_number=opened.case_number, subject_id=akesson, today=date.today()
            ),
        )
        for system in {item.system for item in plan.items}:
            await run(
                by_name["execute_erasure"],
                ExecuteErasureInput(
                    case_number=opened.case_number,
                    system=system,
                    subject_id=akesson,
                    plan_ref=plan.ref,
                ),
            )
        dated = [i.keep_from for i in plan.items if i.action == "keep" and i.keep_from]
        assert dated, "akesson's invoices and readings must be kept for years"
        kept = await remaining_plan(custom, akesson, date.today())
        assert all(action.startswith("keep") for _, action in kept)
        # Data that arrives after the approval was never approved for erasure: it must stay.
        billing = create_engine(custom.system_url("billing"), own_database=False)
        async with billing.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO credit_checks (credit_check_id, customer_id, checked_at, agency,"
                    " risk_class, decision) SELECT 9001, customer_id, '2026-11-20 10:00:00',"
                    " 'UC AB', 2, 'approved' FROM customers WHERE personal_number = :id"
                ),
                {"id": akesson},
            )

        async with create_worker(client, custom, activities):
            done = await client.execute_workflow(
                RetentionFollowUpWorkflow.run,
                RetentionFollowUpInput(
                    case_number=opened.case_number,
                    subject_id=akesson,
                    plan_ref=plan.ref,
                    next_due=min(dated) + timedelta(days=1),
                ),
                id=f"{opened.case_number}-retention",
                task_queue=custom.task_queue,
            )

    assert done.runs >= 2, "readings and accounting records go at different times"
    assert any(key.startswith("network.meter_readings") for key in done.erased)
    assert any(key.startswith("billing.invoices") for key in done.erased)
    after = await remaining_plan(custom, akesson, date(2040, 1, 1))
    assert all(action == "keep:None" for _, action in after), after
    async with billing.connect() as conn:
        assert (
            await conn.execute(
                text("SELECT count(*) FROM credit_checks WHERE credit_check_id = 9001")
            )
        ).scalar_one() == 1
    await billing.dispose()
