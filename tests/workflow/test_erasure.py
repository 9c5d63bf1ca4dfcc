"""Erasure under retention rules: four eyes, what goes, what stays and when it goes after all."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from app.worker_setup import build_activities, create_worker
from contract import search
from contract.actions import (
    ApproveErasurePlanInput,
    PrepareErasurePlanInput,
    RejectErasurePlanInput,
)
from contract.case import CaseResult, CaseState, Outcome
from contract.erasure import (
    ErasurePlanResult,
    ExecuteErasureInput,
    PlanErasureInput,
    RecordDisposalDecisionInput,
    RetentionFollowUpInput,
    RetentionFollowUpResult,
)
from contract.intake import OpenCaseResult, RegisterCaseInput, SubmitRequestInput
from contract.vocabulary import Kind
from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS
from demo.systems import seed_demo_systems
from infra.config import Settings
from infra.db import create_engine
from systems.catalog import load_catalog
from systems.erasure import plan_erasure
from systems.writes import is_restricted
from tests.databases import system_urls
from tests.helpers import record_history, status_of, submit, wait_for_state
from workflows.retention import RetentionFollowUpWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def remaining_plan(settings: Settings, subject: str, today: date) -> list[tuple[str, str]]:
    """(table, action) of every plan item left for the subject, across all systems."""
    items = []
    catalog = load_catalog()
    for name in catalog.names():
        engine = create_engine(settings.system_url(name), own_database=False)
        try:
            for item in await plan_erasure(
                engine, catalog.systems[name], subject, today, plan=catalog.plan
            ):
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
    log = by_table[("disclosure", "disclosures", "keep")]
    assert log.keep_until is None and log.disposal == "" and log.rule == "archive"
    assert by_table[("billing", "credit_checks", "delete")].disposal == "DHP 4.4"

    await handle.execute_update("prepare_erasure_plan", PrepareErasurePlanInput(handler="anna"))
    await wait_for_state(handle, CaseState.AWAITING_APPROVAL)
    # Four eyes: the preparer cannot approve their own plan; nothing changes.
    with pytest.raises(WorkflowUpdateFailedError) as own:
        await handle.execute_update("approve_erasure_plan", ApproveErasurePlanInput(handler="anna"))
    assert "another person must approve it" in str(own.value.cause)
    # The second pair of eyes has authority: a team lead or a decision maker, not any handler.
    with pytest.raises(WorkflowUpdateFailedError) as plain:
        await handle.execute_update(
            "approve_erasure_plan", ApproveErasurePlanInput(handler="arkiv.eva")
        )
    assert "that takes a team lead or a decision maker" in str(plain.value.cause)
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
    # Each erased table names the disposal decision it went under (arkivlagen 1990:782); each
    # kept one the day it may go and the decision it goes under then.
    assert "Kreditupplysningar (raderas, 1 st., enligt gallringsbeslut DHP 4.4)" in body
    assert "enligt gallringsbeslut DHP 4.3" in body and "bokföringslagen 7 kap. 2 §" in body
    assert "Utlämnanden: sparas tills vidare" in body and "arkivlagen" in body

    await record_history(handle, "erasure_partly_kept")
    told = {
        json.loads(path.read_text())["recipient"]
        for path in (writable.outbox_dir / "recipients" / submitted.case_number).glob("erasure-*")
    }
    # Art. 19, per table: the marketing partner's share is erased, so it is told to erase its
    # copy; the disclosure log (archived) and the invoices (accounting) are kept, so the police
    # and the collection agency are not told of an erasure that has not happened.
    assert "Nordnät Bredband AB" in told
    assert not told & {"Polismyndigheten", "Inkassoföretag vid obetald faktura"}
    # The answer names who was told (Art. 19, last sentence).
    assert "Nordnät Bredband AB" in body
    follow_up = client.get_workflow_handle(f"{submitted.case_number}-retention")
    described = await follow_up.describe()
    assert described.status is WorkflowExecutionStatus.RUNNING, "the follow-up waits for dates"
    assert described.typed_search_attributes.get(search.CASE_NUMBER) == submitted.case_number
    await follow_up.terminate("test over")


# --- months and years later: the time-skipping server ----------------------------------------


async def staff_notices_sent(handle: WorkflowHandle[Any, Any]) -> int:
    """How many staff notices the workflow's history scheduled (files would be overwritten)."""
    history = await handle.fetch_history()
    return sum(
        1
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
        and event.activity_task_scheduled_event_attributes.activity_type.name == "notify_staff"
    )


def erasure_notices(settings: Settings, case_number: str) -> set[str]:
    """The recipients told of an erasure in this case (Art. 19), now or in a later run."""
    folder = settings.outbox_dir / "recipients" / case_number
    return {json.loads(p.read_text())["recipient"] for p in folder.glob("erasure-*")}


async def erased_as_approved(
    custom: Settings, subject: str
) -> tuple[OpenCaseResult, ErasurePlanResult]:
    """Register an erasure case and execute its plan as the case does once it is approved
    (the same activities), leaving the follow-up to the test."""
    async with build_activities(custom) as activities:
        by_name = {getattr(a, "__name__", ""): a for a in activities}
        run = ActivityEnvironment().run
        opened = await run(
            by_name["register_case"],
            RegisterCaseInput(
                request=SubmitRequestInput(
                    kind=Kind.ERASURE, subject_id=subject, received_at=datetime.now(UTC)
                ),
                intake_id="test",
            ),
        )
        plan = await run(
            by_name["plan_erasure"],
            PlanErasureInput(
                case_number=opened.case_number, subject_id=subject, today=date.today()
            ),
        )
        for system in {item.system for item in plan.items}:
            await run(
                by_name["execute_erasure"],
                ExecuteErasureInput(
                    case_number=opened.case_number,
                    system=system,
                    subject_id=subject,
                    plan_ref=plan.ref,
                ),
            )
    return opened, plan


async def start_follow_up(
    client: Client,
    custom: Settings,
    case: OpenCaseResult,
    subject: str,
    plan: ErasurePlanResult,
    first: date,
) -> WorkflowHandle[Any, RetentionFollowUpResult]:
    """The follow-up as the approved case starts it, but by this client, so the test server
    skips the time between its runs."""
    return await client.start_workflow(
        RetentionFollowUpWorkflow.run,
        RetentionFollowUpInput(
            case_number=case.case_number,
            subject_id=subject,
            plan_ref=plan.ref,
            next_due=first,
        ),
        id=f"{case.case_number}-retention",
        task_queue=custom.task_queue,
    )


async def own_systems(settings: Settings, tmp_path: Path) -> Settings:
    urls = system_urls(tmp_path / "own")
    await seed_demo_systems(urls)
    return settings.model_copy(update={"system_urls": urls, "task_queue": f"skip-{uuid.uuid4()}"})


async def test_kept_parts_are_erased_when_their_retention_ends_without_anyone_acting(
    skipping_env: WorkflowEnvironment, settings: Settings, tmp_path: Path
) -> None:
    """The follow-up an approved erasure leaves behind, years compressed into seconds: each
    kept part goes when its disposal rule lets it; the disclosure log, which no disposal rule
    covers, is kept for good (arkivlagen), and the follow-up does not wait for it.

    The follow-up is started by this client so the test server skips the time between its runs.
    """
    akesson = FILLER_SUBJECTS["akesson"]  # contract ended 2025-12-31
    custom = await own_systems(settings, tmp_path)
    client = skipping_env.client
    opened, plan = await erased_as_approved(custom, akesson)
    dated = [i.keep_from for i in plan.items if i.action == "keep" and i.keep_from]
    assert dated, "akesson's invoices and readings must be kept for years"
    kept = await remaining_plan(custom, akesson, date.today())
    assert all(action.startswith("keep") for _, action in kept)
    assert ("disclosure.disclosures", "keep:None") in kept, "the archived log"
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

    async with build_activities(custom) as activities, create_worker(client, custom, activities):
        handle = await start_follow_up(
            client, custom, opened, akesson, plan, min(dated) + timedelta(days=1)
        )
        # Past every date (the customer record, kept for the last invoice, goes on 1 January
        # 2034); the test server ends a workflow after ten virtual years by default.
        await skipping_env.sleep(timedelta(days=365 * 8))
        done = await handle.result()
        await record_history(handle, "retention_follow_up_under_disposal_rules")
        assert done.runs >= 2, "readings and accounting records go at different times"
        assert any(key.startswith("network.meter_readings") for key in done.erased)
        assert any(key.startswith("billing.invoices") for key in done.erased)
        assert not any(key.startswith("disclosure") for key in done.erased)
        # Nobody is asked for a disposal decision on the log: no rule of the plan covers it.
        # Art. 19 as the kept rows went: the printer of the invoices and the supplier of the
        # readings, by name, at their addresses in the recipients register; the collection
        # agency, a category billing cannot name, goes to the team lead; never the insurer the
        # disclosure log names (the log stays).
        told = erasure_notices(custom, opened.case_number)
        assert {"Exempeltryck AB", "Svenska kraftnät (datahubben)"} <= told
        assert told & {"Mälarenergi Elhandel AB", "Västerås Elhandel AB"}
        assert "Länsförsäkringar" not in told and "Din elhandlare" not in told
        staff = sorted(
            p.stem for p in (custom.outbox_dir / "staff").glob(f"{opened.case_number}-*")
        )
        assert staff and all("recipients_to_notify" in name for name in staff), staff
        by_hand = " ".join(
            json.loads(p.read_text())["body"]
            for p in (custom.outbox_dir / "staff").glob(f"{opened.case_number}-*")
        )
        assert "Inkassoföretag vid obetald faktura" in by_hand
    after = await remaining_plan(custom, akesson, date(2040, 1, 1))
    assert after == [("disclosure.disclosures", "keep:None")], after
    async with billing.connect() as conn:
        assert (
            await conn.execute(
                text("SELECT count(*) FROM credit_checks WHERE credit_check_id = 9001")
            )
        ).scalar_one() == 1
    await billing.dispose()


async def test_parts_kept_while_a_contract_runs_go_once_it_has_ended(
    skipping_env: WorkflowEnvironment, settings: Settings, tmp_path: Path
) -> None:
    tolvan = DEMO_SUBJECTS["tolvan"]  # contracts without an end date
    custom = await own_systems(settings, tmp_path)
    client = skipping_env.client
    opened, plan = await erased_as_approved(custom, tolvan)
    subscriptions = [
        i for i in plan.items if i.table == "fibre_service_subscriptions" and i.action == "keep"
    ]
    assert subscriptions and subscriptions[0].rule == "running_contract"

    async with build_activities(custom) as activities, create_worker(client, custom, activities):
        handle = await start_follow_up(
            client, custom, opened, tolvan, plan, date.today() + timedelta(days=1)
        )
        # Before its first run nothing is known to wait for a disposal decision: refused.
        with pytest.raises(WorkflowUpdateFailedError) as early:
            await handle.execute_update(
                RetentionFollowUpWorkflow.record_disposal_decision,
                RecordDisposalDecisionInput(handler="arkiv.eva", reference="Gallringsbeslut 1"),
            )
        assert "no archived rows are kept waiting" in str(early.value.cause)
        await skipping_env.sleep(timedelta(days=45))
        running = await handle.query(RetentionFollowUpWorkflow.progress)
        assert running.disposal_reference is None
        assert "running_contract" in running.waiting
        assert running.next_due is not None, "it looks again while the contract runs"
        assert "network.fibre_service_subscriptions" not in running.erased

        # The customer moves out: every contract ends in a month.
        today = (await skipping_env.get_current_time()).date()
        end = today + timedelta(days=30)
        await sql(
            custom,
            "billing",
            "UPDATE contracts SET end_date = :end WHERE contract_id IN (SELECT contract_id "
            "FROM contract_holders JOIN customers USING (customer_id) "
            "WHERE personal_number = :id)",
            end=end,
            id=tolvan,
        )
        mine = "SELECT network_customer_id FROM network_customers WHERE personal_number = :id"
        await sql(
            custom,
            "network",
            f"UPDATE metering_points SET supply_ended_on = :end WHERE network_customer_id IN "
            f"({mine})",
            f"UPDATE fibre_connections SET disconnected_on = :end WHERE network_customer_id IN "
            f"({mine})",
            "UPDATE fibre_service_subscriptions SET ended_at = :end WHERE connection_id IN "
            f"(SELECT connection_id FROM fibre_connections WHERE network_customer_id IN ({mine}))",
            end=end,
            id=tolvan,
        )
        await skipping_env.sleep(timedelta(days=120))
        ended = await handle.query(RetentionFollowUpWorkflow.progress)
        assert "running_contract" not in ended.waiting, ended
        assert ended.erased.get("network.fibre_service_subscriptions")
        assert ended.next_due is not None, "the accounting years keep the invoices"
        await handle.terminate("test over")


# --- between preparation and execution: the systems move on ---------------------------------


async def sql(settings: Settings, system: str, *statements: str, **params: object) -> None:
    engine = create_engine(settings.system_url(system), own_database=False)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement), params)
    finally:
        await engine.dispose()


async def test_a_plan_outdated_by_approval_time_is_made_again(
    client: Client, writable: Settings
) -> None:
    tolvan = DEMO_SUBJECTS["tolvan"]
    submitted = await submit(client, writable, tolvan, Kind.ERASURE, bankid=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_DECISION)
    await handle.execute_update("prepare_erasure_plan", PrepareErasurePlanInput(handler="anna"))
    await wait_for_state(handle, CaseState.AWAITING_APPROVAL)
    # After the plan was made the subject gives a new consent (the approved plan would leave it
    # behind) and objects to direct marketing (the approved plan would delete the contact and
    # the objection with it): approving sends the case back to planning instead.
    await sql(
        writable,
        "marketing",
        "INSERT INTO consents (consent_id, contact_id, channel, purpose, given_at) "
        "SELECT 9001, contact_id, 'sms', 'Nyheter', '2026-11-26 09:00:00' FROM contacts "
        "WHERE personal_number = :id",
        "UPDATE contacts SET marketing_objection = true WHERE personal_number = :id",
        id=tolvan,
    )
    await handle.execute_update("approve_erasure_plan", ApproveErasurePlanInput(handler="bo"))
    again = await wait_for_state(handle, CaseState.AWAITING_DECISION)
    outdated = [s for s in again.steps if s.state is CaseState.PLANNING][-1]
    assert outdated.actor == "bo"
    why = outdated.detail or ""
    assert "marketing.consents: 1 more row(s) may now be erased" in why
    assert "marketing.contacts: 1 row(s) approved for erasure must now be treated otherwise" in why
    assert "erasure:marketing" not in again.applied, "nothing was erased on the outdated plan"
    contacts = [i for i in again.erasure_plan if i.table == "contacts"]
    assert [i.action for i in contacts] == ["suppress"], "the new plan keeps the objection"

    await handle.execute_update("prepare_erasure_plan", PrepareErasurePlanInput(handler="anna"))
    await wait_for_state(handle, CaseState.AWAITING_APPROVAL)
    await handle.execute_update("approve_erasure_plan", ApproveErasurePlanInput(handler="bo"))
    assert (await handle.result()).outcome is Outcome.PARTLY_COMPLETED
    await record_history(handle, "erasure_plan_outdated")
    left = await remaining_plan(writable, tolvan, date.today())
    assert not any(table == "marketing.consents" for table, _ in left), "the new consent too"


async def test_an_erasure_stopped_by_an_unknown_reference_goes_back_to_a_handler(
    client: Client, writable: Settings
) -> None:
    tolvan = DEMO_SUBJECTS["tolvan"]
    # A table the declarations do not know refers to the subject's credit checks, so deleting
    # them breaks a foreign key: no retry can help.
    await sql(
        writable,
        "billing",
        "CREATE TABLE credit_notes (note_id INTEGER PRIMARY KEY, credit_check_id INTEGER "
        "NOT NULL REFERENCES credit_checks (credit_check_id))",
        "INSERT INTO credit_notes (note_id, credit_check_id) SELECT 1, credit_check_id "
        "FROM credit_checks JOIN customers USING (customer_id) WHERE personal_number = :id "
        "LIMIT 1",
        id=tolvan,
    )
    submitted = await submit(client, writable, tolvan, Kind.ERASURE, bankid=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await prepare_and_approve(client, submitted.case_number)
    stopped = await wait_for_state(handle, CaseState.AWAITING_DECISION)
    blocked = [s for s in stopped.steps if s.action == "erasure_blocked"]
    assert blocked and "billing.credit_checks: another row still refers" in (
        blocked[0].detail or ""
    )
    assert "erasure:marketing" in stopped.applied, "the other systems' erasure stands"
    staff = writable.outbox_dir / "staff"
    assert any(staff.rglob(f"{submitted.case_number}-assignee-erasure_blocked*"))

    await sql(writable, "billing", "DELETE FROM credit_notes")  # the handler sorts it out
    await handle.execute_update("prepare_erasure_plan", PrepareErasurePlanInput(handler="anna"))
    await wait_for_state(handle, CaseState.AWAITING_APPROVAL)
    await handle.execute_update("approve_erasure_plan", ApproveErasurePlanInput(handler="bo"))
    assert (await handle.result()).outcome is Outcome.PARTLY_COMPLETED
    await record_history(handle, "erasure_blocked")
    left = await remaining_plan(writable, tolvan, date.today())
    assert not [item for item in left if not item[1].startswith("keep")], "all erasable gone"
    message = writable.outbox_dir / "digital-mailbox" / f"{submitted.case_number}-erasure_answer"
    body = json.loads((message / "message.json").read_text())["body"]
    assert "Kontaktuppgifter för marknadsföring" in body, "the first round's erasure is answered"
