"""The floor the engine is measured against: bare Temporal workflows in the shape of a fully
automated access case, whose activities do nothing (bench/throughput.py compares the two).

The shape is read off a real case's history (e-ID verified at intake, release policy
"automatic"), and bench/throughput.py checks on every run that the bare histories hold the same
events as the engine's, workflow tasks aside (their number depends on timing):

    intake:   register_case -> start the case as an abandoned child (with search attributes)
    case:     [patch] staff_roles -> [patch] plan_deadline -> (clock timer) confirm_eid
              -> [state] record_transition -> plan_collection -> (watch timer)
              collect x systems, in parallel -> [state] record_transition -> build_extract
              -> [state] record_transition -> deliver_extract -> [state] record_transition
              -> (both timers cancelled) [patch] start the extract disposal as an abandoned child
    disposal: disposal_due -> a timer of days (outlives the run) -> delete_extracts
              -> record_event

[patch] is a `workflow.patched` marker with its search attribute upsert, [state] an upsert of
DsrState and DsrAssignee: the engine's visibility writes, mirrored with the same attributes.

Run as a worker process, the engine's worker.py being the other one (same settings from the
environment, same data converter with the encryption codec, same sandbox and limits):

    python -m bench.bare   # polls DSR_TASK_QUEUE until SIGTERM or SIGINT
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes

from contract import search

# As the engine's register writes and notices: retried without a limit.
PERSISTENT = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
SHORT_TIMEOUT = timedelta(seconds=30)
# The connected systems an access case collects from (the demo catalog's four).
SYSTEMS = 4
# The clock's first step and the extract disposal are days away: their timers never fire here.
CLOCK_WAIT = timedelta(days=20)
WATCH_WAIT = timedelta(minutes=10)
DISPOSAL_WAIT = timedelta(days=30)


@dataclass
class BareSubmitInput:
    subject_id: str
    received_at: datetime
    systems: int = SYSTEMS


@dataclass
class BareSubmitResult:
    case_number: str


@dataclass
class BareCaseInput:
    case_number: str
    subject_id: str
    received_at: datetime
    systems: int = SYSTEMS


@dataclass
class BareCaseResult:
    case_number: str
    outcome: str


@dataclass
class BareDisposalInput:
    case_number: str


@dataclass
class BareDisposalResult:
    case_number: str


@dataclass
class BareStepInput:
    case_number: str
    # The engine activity this step stands for.
    step: str


@dataclass
class BareStepResult:
    step: str


@activity.defn
async def bare_step(step: BareStepInput) -> BareStepResult:
    """Does nothing: what is left is Temporal's own cost of an activity."""
    return BareStepResult(step=step.step)


async def run_step(case_number: str, step: str) -> BareStepResult:
    return await workflow.execute_activity(
        bare_step,
        BareStepInput(case_number=case_number, step=step),
        start_to_close_timeout=SHORT_TIMEOUT,
        retry_policy=PERSISTENT,
    )


@workflow.defn
class BareIntakeWorkflow:
    """IntakeWorkflow's shape: one activity, then the case started as an abandoned child."""

    @workflow.run
    async def run(self, request: BareSubmitInput) -> BareSubmitResult:
        case_number = f"{workflow.info().workflow_id}-case"
        await run_step(case_number, "register_case")
        await workflow.start_child_workflow(
            BareCaseWorkflow.run,
            BareCaseInput(
                case_number=case_number,
                subject_id=request.subject_id,
                received_at=request.received_at,
                systems=request.systems,
            ),
            id=case_number,
            task_queue=workflow.info().task_queue,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(search.KIND, "bare"),
                    SearchAttributePair(search.CASE_NUMBER, case_number),
                    SearchAttributePair(search.STATE, "registered"),
                    SearchAttributePair(search.DEADLINE, request.received_at + CLOCK_WAIT),
                    SearchAttributePair(search.ESCALATION, "none"),
                    SearchAttributePair(search.ASSIGNEE, "anna"),
                ]
            ),
        )
        return BareSubmitResult(case_number=case_number)


@workflow.defn
class BareCaseWorkflow:
    """AccessRequestWorkflow's shape when the release policy lets the extract out unreviewed:
    the same activities in the same order and parallel groups, the same timers, markers,
    search attribute upserts and child workflow; nothing else."""

    @workflow.init
    def __init__(self, case: BareCaseInput) -> None:
        self._case = case
        self._collected = False

    @workflow.run
    async def run(self, case: BareCaseInput) -> BareCaseResult:
        workflow.patched("bare-roster")
        await self._step("staff_roles")
        workflow.patched("bare-escalation-ladder")
        await self._step("plan_deadline")
        clock = asyncio.create_task(self._clock())
        await self._step("confirm_eid")
        await self._enter("collecting")
        await self._step("plan_collection")
        watch = asyncio.create_task(self._watch())
        await asyncio.gather(*(self._step("collect") for _ in range(case.systems)))
        self._collected = True
        await self._enter("building_extract")
        await self._step("build_extract")
        await self._enter("delivering")
        await self._step("deliver_extract")
        await self._enter("closed")
        clock.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await clock
        await watch
        if workflow.patched("bare-extract-disposal"):
            await workflow.start_child_workflow(
                BareDisposalWorkflow.run,
                BareDisposalInput(case_number=case.case_number),
                id=f"{case.case_number}-extract-disposal",
                task_queue=workflow.info().task_queue,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(search.CASE_NUMBER, case.case_number)]
                ),
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return BareCaseResult(case_number=case.case_number, outcome="delivered")

    async def _step(self, step: str) -> BareStepResult:
        return await run_step(self._case.case_number, step)

    async def _enter(self, state: str) -> None:
        workflow.upsert_search_attributes(
            [search.STATE.value_set(state), search.ASSIGNEE.value_set("anna")]
        )
        await self._step("record_transition")

    async def _clock(self) -> None:
        """The engine's deadline clock: a timer for the first ladder step, cancelled at close."""
        await workflow.sleep(CLOCK_WAIT)

    async def _watch(self) -> None:
        """The engine's watch on slow systems: a timer, cancelled once every system answered."""
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._collected, timeout=WATCH_WAIT)


@workflow.defn
class BareDisposalWorkflow:
    """ExtractDisposalWorkflow's shape: one activity, a timer of days, two activities."""

    @workflow.run
    async def run(self, disposal: BareDisposalInput) -> BareDisposalResult:
        await run_step(disposal.case_number, "disposal_due")
        await workflow.sleep(DISPOSAL_WAIT)
        await run_step(disposal.case_number, "delete_extracts")
        await run_step(disposal.case_number, "record_event")
        return BareDisposalResult(case_number=disposal.case_number)


WORKFLOWS = (BareIntakeWorkflow, BareCaseWorkflow, BareDisposalWorkflow)


async def run_worker() -> None:
    """A worker as worker.py builds one, for the bare workflows only."""
    from temporalio.worker import Worker

    from app.worker_setup import workflow_runner
    from infra.client import connect
    from infra.config import get_settings

    settings = get_settings()
    client = await connect(settings)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=[bare_step],
        workflow_runner=workflow_runner(),
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace_seconds),
    )
    async with worker:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(run_worker())
