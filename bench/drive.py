"""Driving the load's cases as handlers do: by what Temporal's visibility store shows, confirmed
by each workflow's description, one action at a time, each a step of service/steps.py.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

from bench.load import WAITING, LoadRequest, T, details_of, public_of
from bench.throwaway import TEAM_LEADS
from contract import search
from contract.actions import ActionResult
from contract.case import CaseResult, CaseState, Outcome
from contract.handling import CONFIRM_DOCUMENTS, REVIEW_DOCUMENT
from contract.intake import SubmitRequestInput, SubmitRequestResult
from contract.public_access import ConfirmDocumentsInput, ReviewDocumentInput
from contract.vocabulary import IdentityMethod, Kind, ReviewDecision
from infra.config import Settings
from infra.outbox import FakeEidProvider
from service.actions import BY_PATH
from service.steps import step_for
from workflows.case.workflow import CaseBase
from workflows.intake import IntakeWorkflow

# --- driving the cases -----------------------------------------------------------------------


@dataclass
class RequestRun:
    """One request as it went: its intakes, its case, its end."""

    request: LoadRequest
    intake_ids: list[str] = field(default_factory=list)
    answers: list[SubmitRequestResult] = field(default_factory=list)
    case_number: str | None = None
    outcome: Outcome | None = None
    seconds: float | None = None
    documents: list[int] = field(default_factory=list)
    reviewed: set[int] = field(default_factory=set)
    stale_actions: int = 0
    retries: int = 0
    last_seen: CaseState | None = None
    error: str | None = None


def handler_step(request: LoadRequest, state: CaseState) -> tuple[str, BaseModel]:
    """The update a handler sends in `state`, and its input: service/steps.py's table, which
    the demo follows at the command line, here straight to the workflow."""
    step = step_for(request.kind, state)
    if step is None:
        raise RuntimeError(f"no handler step for a {request.kind.value} case in {state.value}")
    who = step.taken_by(request.handler, TEAM_LEADS)
    body = {**step.body_for(request.channel), "handler": who}
    return step.update, BY_PATH[step.action.path].model.model_validate(body)


class CaseWatch:
    """Where the cases of the task queue stand, from Temporal's visibility store: one list
    query per poll for all of them (those waiting for a person, and those closed). `next(case)`
    resolves with what a poll that started after the call saw, so an answer is never older
    than the question."""

    def __init__(self, client: Client, task_queue: str, interval: float) -> None:
        states = ", ".join(f"'{state.value}'" for state in sorted(WAITING | {CaseState.CLOSED}))
        self._query = f"TaskQueue = '{task_queue}' AND {search.STATE.name} IN ({states})"
        self._client = client
        self._interval = interval
        self._polls = 0
        self._waiters: dict[str, list[tuple[int, asyncio.Future[CaseState]]]] = {}

    def next(self, case_number: str) -> asyncio.Future[CaseState]:
        future: asyncio.Future[CaseState] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(case_number, []).append((self._polls, future))
        return future

    async def run(self) -> None:
        while True:
            self._polls += 1
            poll = self._polls
            try:
                seen = {
                    execution.id: execution.typed_search_attributes.get(search.STATE)
                    async for execution in self._client.list_workflows(self._query)
                }
            except RPCError:
                seen = {}  # the server is busy: the next poll will tell
            for case_number, waiters in list(self._waiters.items()):
                state = seen.get(case_number)
                left = []
                for asked, future in waiters:
                    if future.done():
                        continue
                    if state is not None and asked < poll:
                        future.set_result(CaseState(state))
                    else:
                        left.append((asked, future))
                if left:
                    self._waiters[case_number] = left
                else:
                    del self._waiters[case_number]
            await asyncio.sleep(self._interval)


Handle = WorkflowHandle[Any, Any]
# An overloaded server answers some calls with a timeout (or drops the stream): the handler
# tries again, as a person would, after this pause.
RETRY_SECONDS = 1.0
# Answers awaited at once (each a long poll on the server); the requests all start at once.
ANSWERS_AT_ONCE = 100


class LoadDriver:
    """Submits the requests and drives each case to its end, as its handler would."""

    def __init__(self, client: Client, settings: Settings, watch: CaseWatch) -> None:
        self._client = client
        self._settings = settings
        self._watch = watch
        self._eid = FakeEidProvider(settings.eid_dir)
        self._answers = asyncio.Semaphore(ANSWERS_AT_ONCE)
        self.registered = 0  # requests intake has answered
        self.ended = 0  # requests whose case ended (or that gave up)

    async def run(self, request: LoadRequest, deadline: float) -> RequestRun:
        run = RequestRun(request)
        started = time.monotonic()
        try:
            async with asyncio.timeout_at(deadline):
                await self._submit(run)
                self.registered += 1
                if run.case_number is not None:
                    result = await self._drive(run)
                    run.outcome = result.outcome
                    run.seconds = time.monotonic() - started
        except TimeoutError:
            where = f" (last seen {run.last_seen.value})" if run.last_seen else ""
            run.error = f"did not reach its end in time{where}"
        except Exception as error:  # noqa: BLE001 - the check reports it with the case
            run.error = f"{type(error).__name__}: {error}"
        self.ended += 1
        return run

    async def _submit(self, run: RequestRun) -> None:
        times = 2 if run.request.twice else 1
        run.intake_ids = [f"intake-{uuid.uuid4()}" for _ in range(times)]
        intakes = await asyncio.gather(
            *(self._start_intake(run, intake_id) for intake_id in run.intake_ids)
        )
        run.answers = [await self._result(run, intake, SubmitRequestResult) for intake in intakes]
        numbers = {answer.case_number for answer in run.answers}
        if len(numbers) == 1:
            run.case_number = numbers.pop()
        else:
            run.error = f"one request answered with {len(numbers)} cases: {sorted(numbers)}"

    async def _start_intake(self, run: RequestRun, intake_id: str) -> Handle:
        """Submit as the e-service does; with BankID the person signs on the spot."""
        request = run.request
        bankid = request.bankid and request.subject_id is not None
        submission = SubmitRequestInput(
            kind=request.kind,
            subject_id=request.subject_id,
            received_at=datetime.now(UTC),
            channel=request.channel,
            verified_by=IdentityMethod.BANKID if bankid else None,
            eid_order_ref=self._eid.sign(request.subject_id)
            if bankid and request.subject_id
            else None,
            # An objection needs no handler; the others are assigned at intake.
            assignee=None if request.kind is Kind.OBJECTION else request.handler,
            details=details_of(request),
            public=public_of(request),
        )
        while True:
            try:
                return await self._client.start_workflow(
                    IntakeWorkflow.run,
                    submission,
                    id=intake_id,
                    task_queue=self._settings.task_queue,
                    # A start tried again after a lost answer finds the first, never a second.
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
            except WorkflowAlreadyStartedError:
                return self._client.get_workflow_handle(intake_id)
            except RPCError:
                await self._pause(run)

    async def _result(self, run: RequestRun, handle: Handle, kind: type[T]) -> T:
        while True:
            try:
                async with self._answers:
                    answer = await handle.result()
                return kind.model_validate(answer) if isinstance(answer, dict) else answer
            except RPCError:
                await self._pause(run)

    async def _pause(self, run: RequestRun) -> None:
        run.retries += 1
        await asyncio.sleep(RETRY_SECONDS)

    async def _drive(self, run: RequestRun) -> CaseResult:
        assert run.case_number is not None
        handle: Handle = self._client.get_workflow_handle(run.case_number, result_type=CaseResult)
        state: CaseState | None = None
        while True:
            if state not in WAITING:
                state = await self._next(run, handle)
                if state is CaseState.CLOSED:
                    return await self._result(run, handle, CaseResult)
            assert state is not None
            state = await self._act(run, handle, state)

    async def _next(self, run: RequestRun, handle: Handle) -> CaseState:
        """The state the case waits in for a person, or closed."""
        while True:
            seen = run.last_seen = await self._watch.next(handle.id)
            if seen is CaseState.CLOSED:
                return seen
            try:
                # Visibility may lag: the workflow's own description says where it is now.
                described = await handle.describe()
            except RPCError:
                await self._pause(run)
                continue
            if described.status is not WorkflowExecutionStatus.RUNNING:
                return CaseState.CLOSED
            state = described.typed_search_attributes.get(search.STATE)
            if state is not None and CaseState(state) in WAITING:
                return CaseState(state)

    async def _act(self, run: RequestRun, handle: Handle, state: CaseState) -> CaseState | None:
        """The handler's step in `state`; the state the case moved on to, or None to look at
        the case again (the step was refused because the case had moved on, or the case goes
        on by itself)."""
        try:
            if state is CaseState.AWAITING_CONFIRMATION:
                answer = await self._confirm_documents(run, handle)
            elif state is CaseState.SECRECY_REVIEW:
                await self._release_documents(run, handle)
                return None  # after the last document the case goes on by itself
            else:
                update, action = handler_step(run.request, state)
                answer = await handle.execute_update(update, action, result_type=ActionResult)
        except WorkflowUpdateFailedError as refused:
            cause = refused.cause
            if isinstance(cause, ApplicationError) and cause.type == "WrongState":
                run.stale_actions += 1
                return None
            raise
        except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError):
            # Whether or not the action got through, the case is looked at again: a second
            # one on a step already decided is refused before anything is written.
            await self._pause(run)
            return None
        return answer.state

    async def _confirm_documents(self, run: RequestRun, handle: Handle) -> ActionResult:
        """The handler confirms the first document the search found (none: nothing found)."""
        status = await handle.query(CaseBase.status)
        assert status.public is not None
        run.documents = [c.document_id for c in status.public.candidates[:1]]
        answer: ActionResult = await handle.execute_update(
            CONFIRM_DOCUMENTS.update,
            ConfirmDocumentsInput(handler=run.request.handler, document_ids=run.documents),
            result_type=ActionResult,
        )
        return answer

    async def _release_documents(self, run: RequestRun, handle: Handle) -> None:
        """The secrecy review: nothing in the confirmed documents is secret."""
        for document in run.documents:
            if document in run.reviewed:
                continue
            await handle.execute_update(
                REVIEW_DOCUMENT.update,
                ReviewDocumentInput(
                    handler=run.request.handler,
                    document_id=document,
                    decision=ReviewDecision.RELEASE,
                ),
            )
            run.reviewed.add(document)


@dataclass(frozen=True)
class LoadRun:
    """Every request as it went, and how long the whole run took."""

    requests: list[RequestRun]
    elapsed_seconds: float


Progress = Callable[[int, int, int], None]  # (registered, ended, submitted)


async def drive_load(
    client: Client,
    settings: Settings,
    plan: Sequence[LoadRequest],
    *,
    timeout: float,
    poll_seconds: float = 1.0,
    progress: Progress | None = None,
    progress_seconds: float = 10.0,
) -> LoadRun:
    """Submit the requests all at once on the settings' task queue (a worker must poll it) and
    drive each to its end; give up on those not ended within `timeout` seconds."""
    watch = CaseWatch(client, settings.task_queue, poll_seconds)
    driver = LoadDriver(client, settings, watch)

    async def report() -> None:
        while progress is not None:
            await asyncio.sleep(progress_seconds)
            progress(driver.registered, driver.ended, len(plan))

    background = [asyncio.create_task(watch.run()), asyncio.create_task(report())]
    started = time.monotonic()
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        runs = await asyncio.gather(*(driver.run(request, deadline) for request in plan))
    finally:
        for task in background:
            task.cancel()
    return LoadRun(list(runs), time.monotonic() - started)
