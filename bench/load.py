"""Load: requests of every kind submitted at once, each driven to its end as handlers drive it,
then checked against the case register and Temporal: none lost, none duplicated, the two
agreeing on every case.

`tests/faults/test_load.py` runs it small (against the test session's dev server and an
in-process worker); `bench/run_load.py` runs it large (`make bench`: 500 requests, worker
processes, a dev server of its own).

Subjects. The demo systems hold seventeen people, and a person has one open case per kind, so
the run adds customers of its own to the demo systems (`seed_subjects`: valid identity numbers,
rows in billing, network and marketing) and gives every GDPR request a subject of its own: what
one case does to a person's data (a restriction, an erasure) never changes another case's course.
Some requests are submitted twice at the same moment, as a person who clicks twice: intake
must answer both with one case.

Handlers act on what Temporal's visibility store shows (one list query per poll for the whole
run, as a supervisor's `list --open`: the cases waiting for a person, and those closed),
confirmed by the workflow's own description before they act; the only `status` queries are a
public-access handler's look at what the search found, and no case holds a long poll open
until it has closed. A server that times out a
call under the load is asked again, as a person would: counted, not failed.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection
from stdnum import luhn
from temporalio.api.enums.v1 import TimeoutType
from temporalio.api.failure.v1 import Failure
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

from app.registry import CASE_WORKFLOWS
from bench.throwaway import HANDLERS, TEAM_LEADS
from contract import search
from contract.actions import ActionResult
from contract.case import CaseResult, CaseState, Outcome
from contract.handling import CONFIRM_DOCUMENTS, REVIEW_DOCUMENT
from contract.intake import FieldChange, RequestDetails, SubmitRequestInput, SubmitRequestResult
from contract.public_access import ConfirmDocumentsInput, ReviewDocumentInput
from contract.public_request import Contact, DocumentQuery, PublicRequest
from contract.subject import parse_subject_id, subject_reference
from contract.vocabulary import (
    Channel,
    IdentityMethod,
    Kind,
    RectifiableField,
    RestrictionGround,
    ReviewDecision,
)
from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS
from demo.schemas import SYSTEM_TABLES
from infra.audit import chain_key, verify as verify_chain
from infra.config import Settings
from infra.db import Case, create_engine, sessionmaker
from infra.outbox import FakeEidProvider
from service.actions import ACTIONS
from service.steps import step_for
from workflows.case.workflow import CaseBase
from workflows.intake import IntakeWorkflow

T = TypeVar("T", bound=BaseModel)
KINDS: tuple[Kind, ...] = tuple(Kind)
# The roster's handlers take the cases in turn (bench.throwaway.HANDLERS); erasure plans are
# approved by a team lead other than the one who prepared them (four eyes).
# Where a case waits for a person: the states the handlers look for.
WAITING = frozenset(
    {
        CaseState.AWAITING_IDENTITY,
        CaseState.AWAITING_REVIEW,
        CaseState.AWAITING_DECISION,
        CaseState.AWAITING_APPROVAL,
        CaseState.RESTRICTED,
        CaseState.AWAITING_CONFIRMATION,
        CaseState.SECRECY_REVIEW,
        CaseState.AWAITING_MANUAL_DELIVERY,
    }
)
# The ends the handlers' actions below lead to, per kind.
EXPECTED: dict[Kind, frozenset[Outcome]] = {
    Kind.ACCESS: frozenset({Outcome.DELIVERED}),
    Kind.PORTABILITY: frozenset({Outcome.DELIVERED}),
    Kind.RECTIFICATION: frozenset({Outcome.COMPLETED}),
    Kind.RESTRICTION: frozenset({Outcome.LIFTED}),
    Kind.OBJECTION: frozenset({Outcome.COMPLETED}),
    Kind.ERASURE: frozenset({Outcome.COMPLETED, Outcome.PARTLY_COMPLETED}),
    Kind.PUBLIC_ACCESS: frozenset({Outcome.RELEASED}),
}
CASE_TYPES = frozenset(workflow.__name__ for workflow in CASE_WORKFLOWS.values())

# Every synthetic subject has this birth number (NNN of YYYYMMDD-NNNC), which no demo person has.
_SERIAL = "981"
_FIRST_BIRTH_DAY = date(1950, 1, 1)
_DOCUMENT_TYPES = ("board_minutes", "outage_report")


# --- subjects ------------------------------------------------------------------------------


def synthetic_subjects(count: int) -> list[str]:
    """`count` valid personnummer (12 digits), one birth day each from 1950 on, none a demo
    person's."""
    taken = {*DEMO_SUBJECTS.values(), *FILLER_SUBJECTS.values()}
    subjects: list[str] = []
    for offset in range(count):
        born = _FIRST_BIRTH_DAY + timedelta(days=offset)
        if born >= date(2000, 1, 1):
            raise ValueError("synthetic_subjects: at most 18262 subjects")
        short = f"{born:%y%m%d}{_SERIAL}"
        number = parse_subject_id(f"{born:%Y}{short[2:]}{luhn.calc_check_digit(short)}")
        if number in taken:
            raise ValueError("synthetic_subjects: a generated number is a demo person's")
        subjects.append(number)
    return subjects


async def seed_subjects(urls: Mapping[str, str], subjects: Sequence[str]) -> None:
    """Add the subjects to the seeded demo systems as customers without a contract: a billing
    customer, a network customer, and a marketing contact with a consent, shared with a fibre
    service provider. The other demo data is left as it is."""
    people = [_person(n, subject) for n, subject in enumerate(subjects, start=1)]
    await _into(urls["billing"], _billing_rows, people)
    await _into(urls["network"], _network_rows, people)
    await _into(urls["marketing"], _marketing_rows, people)


def _person(n: int, subject: str) -> dict[str, Any]:
    return {
        "personal_number": subject,
        "name": f"Lasse Lasttest {n}",
        "street": f"Provvägen {n}",
        "postal_code": "722 40",
        "city": "Västerås",
        "email": f"lasse.lasttest.{n}@example.se",
        "phone": f"070-555 {n:04d}",
    }


async def _into(
    url: str,
    fill: Callable[[AsyncConnection, list[dict[str, Any]]], Awaitable[None]],
    people: list[dict[str, Any]],
) -> None:
    engine = create_engine(url, own_database=False)
    try:
        async with engine.begin() as conn:
            await fill(conn, people)
    finally:
        await engine.dispose()


async def _append(conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows with the next primary keys (the demo's keys are not autoincrement)."""
    (key,) = table.primary_key.columns
    last = await conn.scalar(sa.select(sa.func.max(key))) or 0
    keyed = [{key.name: last + n, **row} for n, row in enumerate(rows, start=1)]
    if keyed:
        await conn.execute(sa.insert(table), keyed)
    return [row[key.name] for row in keyed]


async def _billing_rows(conn: AsyncConnection, people: list[dict[str, Any]]) -> None:
    customers = SYSTEM_TABLES["billing"].tables["customers"]
    await _append(conn, customers, [{**p, "protected_identity": False} for p in people])


async def _network_rows(conn: AsyncConnection, people: list[dict[str, Any]]) -> None:
    customers = SYSTEM_TABLES["network"].tables["network_customers"]
    rows = [
        {key: p[key] for key in ("personal_number", "name", "street", "postal_code", "city")}
        | {"customer_since": date(2024, 1, 1)}
        for p in people
    ]
    await _append(conn, customers, rows)


async def _marketing_rows(conn: AsyncConnection, people: list[dict[str, Any]]) -> None:
    tables = SYSTEM_TABLES["marketing"].tables
    contacts = await _append(
        conn,
        tables["contacts"],
        [
            {key: p[key] for key in ("personal_number", "name", "email", "phone")}
            | {"created_at": date(2025, 1, 15)}
            for p in people
        ],
    )
    given = datetime(2025, 1, 15, 9, 30)
    await _append(
        conn,
        tables["consents"],
        [
            {
                "contact_id": contact,
                "channel": "email",
                "purpose": "Nyheter och erbjudanden om fiber och bredband",
                "given_at": given,
                "withdrawn_at": None,
            }
            for contact in contacts
        ],
    )
    await _append(
        conn,
        tables["shared_with_providers"],
        [
            {
                "contact_id": contact,
                "service_provider": "Nordnät Bredband AB",
                "shared_at": given,
                "data_categories": "identifier,contact",
            }
            for contact in contacts
        ],
    )


# --- the requests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadRequest:
    """One request of the run and how its handler takes it to its end."""

    number: int
    kind: Kind
    subject_id: str | None  # None: a public-access request
    handler: str
    channel: Channel = Channel.E_SERVICE
    bankid: bool = True
    # Submitted twice at the same moment: intake must answer both with the one case.
    twice: bool = False


def subjects_needed(requests: int) -> int:
    """How many subjects `plan_requests` gives `requests` requests (one per GDPR request)."""
    return sum(1 for n in range(requests) if KINDS[n % len(KINDS)] is not Kind.PUBLIC_ACCESS)


def plan_requests(
    total: int, subjects: Sequence[str], *, twice_every: int = 5
) -> list[LoadRequest]:
    """`total` requests, the kinds in turn (so every kind is spread over the run), a subject of
    its own for each GDPR request; every `twice_every`-th request that waits for a handler
    (not an objection, which ends by itself, nor public access, which has no "one open case")
    is submitted twice."""
    gdpr = subjects_needed(total)
    if len(subjects) < gdpr:
        raise ValueError(f"plan_requests: {gdpr} subjects needed, {len(subjects)} given")
    free = iter(subjects)
    requests: list[LoadRequest] = []
    doubled = 0
    for n in range(total):
        kind = KINDS[n % len(KINDS)]
        by_letter = kind is Kind.ACCESS and (n // len(KINDS)) % 2 == 1
        twice = False
        if kind not in (Kind.OBJECTION, Kind.PUBLIC_ACCESS):
            doubled += 1
            twice = twice_every > 0 and doubled % twice_every == 0
        requests.append(
            LoadRequest(
                number=n + 1,
                kind=kind,
                subject_id=None if kind is Kind.PUBLIC_ACCESS else next(free),
                handler=HANDLERS[n % len(HANDLERS)],
                # Every other access request comes by letter: a handler checks the identity.
                channel=Channel.LETTER if by_letter else Channel.E_SERVICE,
                bankid=not by_letter and kind is not Kind.PUBLIC_ACCESS,
                twice=twice,
            )
        )
    return requests


def _details(request: LoadRequest) -> RequestDetails:
    if request.kind is Kind.RECTIFICATION:
        return RequestDetails(
            changes=[
                FieldChange(
                    field=RectifiableField.EMAIL,
                    new_value=f"ny.adress.{request.number}@example.se",
                    evidence="Kunden bekräftade i e-tjänsten.",
                )
            ],
            restrict_while_checking=request.number % 2 == 0,
        )
    if request.kind is Kind.RESTRICTION:
        grounds = tuple(RestrictionGround)
        return RequestDetails(restriction_ground=grounds[request.number % len(grounds)])
    return RequestDetails()


def _public(request: LoadRequest) -> PublicRequest | None:
    if request.kind is not Kind.PUBLIC_ACCESS:
        return None
    kind = _DOCUMENT_TYPES[request.number % len(_DOCUMENT_TYPES)]
    return PublicRequest(
        description="Styrelseprotokoll" if kind == "board_minutes" else "Avbrottsrapporter",
        query=DocumentQuery(types=[kind]),
        contact=Contact(email=f"begaran.{request.number}@example.org"),
    )


# --- the result ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindCount:
    submitted: int
    completed: int
    outcomes: dict[str, int]
    median_seconds: float | None  # from submission to the case's end
    max_seconds: float | None


@dataclass(frozen=True)
class LoadResult:
    """What the run did, and what the register and Temporal say about every request.

    lost: a request without a case in the register or a case workflow in Temporal.
    duplicated: a request with more than one case (register or Temporal), a subject with two
    cases of a kind, a double submission answered with two cases, or a case workflow on the
    task queue that no request was answered with.
    mismatched: a case whose register entry (state, outcome, kind, open key, trail) disagrees
    with its workflow in Temporal (status, outcome, search attributes).
    unfinished: a case that did not reach its end in time; unexpected: one that ended with an
    outcome the handlers' actions do not lead to.
    """

    submitted: int
    completed: int
    lost: int
    duplicated: int
    mismatched: int
    unfinished: int
    unexpected: int
    submitted_twice: int
    stale_actions: int  # actions refused because the case had moved on (harmless, retried)
    retries: int  # calls the server timed out or dropped, tried again
    elapsed_seconds: float
    per_kind: dict[str, KindCount]
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (
            self.lost == self.duplicated == self.mismatched == self.unexpected == 0
            and self.completed == self.submitted
        )

    @property
    def throughput(self) -> float:
        """Cases taken to their end per second."""
        return self.completed / self.elapsed_seconds if self.elapsed_seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "throughput_per_second": round(self.throughput, 3),
            "passed": self.passed,
        }


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


_MODELS: dict[str, type[BaseModel]] = {action.update: action.model for action in ACTIONS}


def handler_step(request: LoadRequest, state: CaseState) -> tuple[str, BaseModel]:
    """The update a handler sends in `state`, and its input: service/steps.py's table, which
    the demo follows at the command line, here straight to the workflow."""
    step = step_for(request.kind, state)
    if step is None:
        raise RuntimeError(f"no handler step for a {request.kind.value} case in {state.value}")
    who = step.taken_by(request.handler, TEAM_LEADS)
    body = {**step.body_for(request.channel), "handler": who}
    return step.update, _MODELS[step.update].model_validate(body)


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
            details=_details(request),
            public=_public(request),
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


# --- the check -------------------------------------------------------------------------------


@dataclass
class _Verdict:
    lost: bool = False
    duplicated: bool = False
    mismatched: bool = False
    unexpected: bool = False


async def check(client: Client, settings: Settings, load: LoadRun) -> LoadResult:
    """Every request against the case register and Temporal."""
    runs = load.requests
    register = await _register(settings, runs)
    ours = {run.case_number for run in runs if run.case_number} | {
        case.case_number for cases in register.by_intake.values() for case in cases
    }
    executions = await _executions(client, settings.task_queue, ours)
    described = await _described(client, ours)
    problems: list[str] = []
    verdicts = [_judge(run, register, executions, described, problems) for run in runs]
    # Cases no request was answered with: a subject's second case of a kind, and case
    # workflows in Temporal.
    for (kind, _), numbers in register.by_subject.items():
        if len(numbers) > 1:
            problems.append(f"{', '.join(sorted(numbers))}: duplicated: one subject, {kind} twice")
    strays = sorted(set(executions) - ours)
    for stray in strays:
        problems.append(f"{stray}: duplicated: a case workflow no request was answered with")
    second_cases = sum(len(n) - 1 for n in register.by_subject.values() if len(n) > 1)
    return LoadResult(
        submitted=len(runs),
        completed=sum(1 for run in runs if run.outcome is not None),
        lost=sum(v.lost for v in verdicts),
        duplicated=sum(v.duplicated for v in verdicts) + second_cases + len(strays),
        mismatched=sum(v.mismatched for v in verdicts),
        unfinished=sum(
            1 for run, v in zip(runs, verdicts, strict=True) if not v.lost and run.outcome is None
        ),
        unexpected=sum(v.unexpected for v in verdicts),
        submitted_twice=sum(1 for run in runs if run.request.twice),
        stale_actions=sum(run.stale_actions for run in runs),
        retries=sum(run.retries for run in runs),
        elapsed_seconds=round(load.elapsed_seconds, 2),
        per_kind=_per_kind(runs),
        problems=problems,
    )


def _judge(
    run: RequestRun,
    register: _Register,
    executions: Counter[str],
    described: dict[str, tuple[str, str, str]],
    problems: list[str],
) -> _Verdict:
    """One request: its case in the register and in Temporal, and whether they agree."""
    verdict = _Verdict()
    name = run.case_number or f"request {run.request.number} ({run.request.kind.value})"

    def problem(kind: str, text: str) -> None:
        problems.append(f"{name}: {kind}: {text}")

    if run.error:
        problem("error", run.error)
    rows = [row for i in run.intake_ids for row in register.by_intake.get(i, [])]
    if len(rows) > 1 or len({a.case_number for a in run.answers}) > 1:
        verdict.duplicated = True
        problem("duplicated", f"{len(rows)} cases in the register for one request")
    if run.request.twice and sorted(a.existing for a in run.answers) != [False, True]:
        verdict.duplicated = True
        problem("duplicated", "a double submission was not answered with the open case")
    if run.case_number is None or not rows:
        verdict.lost = True
        problem("lost", "no case in the register")
        return verdict
    workflow_runs = executions.get(run.case_number, 0)
    if workflow_runs == 0:
        verdict.lost = True
        problem("lost", "no case workflow in Temporal")
        return verdict
    if workflow_runs > 1:
        verdict.duplicated = True
        problem("duplicated", f"{workflow_runs} workflow runs for the case")
    if run.outcome is not None:
        verdict.mismatched = _disagreements(
            run, rows[0], described.get(run.case_number), register, problem
        )
        if run.outcome not in EXPECTED[run.request.kind]:
            verdict.unexpected = True
            problem("unexpected", f"ended {run.outcome.value}")
    return verdict


@dataclass
class _Register:
    by_intake: dict[str, list[Case]]
    by_subject: dict[tuple[str, str], set[str]]  # (kind, subject reference) -> case numbers
    trails: dict[str, list[str]]  # case number -> what its hash chain verification found


async def _register(settings: Settings, runs: list[RequestRun]) -> _Register:
    intake_ids = [i for run in runs for i in run.intake_ids]
    refs = {
        subject_reference(run.request.subject_id, settings.reference_secret)
        for run in runs
        if run.request.subject_id
    }
    engine = create_engine(settings.register_database_url)
    try:
        sessions = sessionmaker(engine)
        async with sessions() as session:
            by_intake: dict[str, list[Case]] = {}
            for chunk in _chunks(intake_ids):
                for case in await session.scalars(sa.select(Case).where(Case.intake_id.in_(chunk))):
                    by_intake.setdefault(case.intake_id, []).append(case)
            by_subject: dict[tuple[str, str], set[str]] = {}
            for chunk in _chunks(sorted(refs)):
                for case in await session.scalars(
                    sa.select(Case).where(Case.subject_ref.in_(chunk))
                ):
                    by_subject.setdefault((case.kind, case.subject_ref), set()).add(
                        case.case_number
                    )
            key = chain_key(settings.reference_secret)
            trails = {}
            for rows in by_intake.values():
                for case in rows:
                    trail = await verify_chain(session, case.case_number, key)
                    trails[case.case_number] = trail.problems
    finally:
        await engine.dispose()
    return _Register(by_intake, by_subject, trails)


async def _executions(client: Client, task_queue: str, ours: set[str]) -> Counter[str]:
    """Case workflow runs on the task queue per case number (workflow id)."""
    runs: Counter[str] = Counter()
    for _ in range(20):
        runs = Counter()
        async for execution in client.list_workflows(f"TaskQueue = '{task_queue}'"):
            if execution.workflow_type in CASE_TYPES:
                runs[execution.id] += 1
        if ours <= set(runs):
            break
        await asyncio.sleep(0.5)  # visibility can lag behind a case just started
    return runs


async def _described(client: Client, cases: set[str]) -> dict[str, tuple[str, str, str]]:
    """Per case: the workflow's status, DsrState and DsrKind as Temporal holds them now."""
    limit = asyncio.Semaphore(20)

    async def describe(case_number: str) -> tuple[str, tuple[str, str, str]]:
        async with limit:
            described = await client.get_workflow_handle(case_number).describe()
        attributes = described.typed_search_attributes
        status = described.status.name if described.status else "UNKNOWN"
        return case_number, (
            status,
            attributes.get(search.STATE) or "",
            attributes.get(search.KIND) or "",
        )

    return dict(await asyncio.gather(*(describe(case) for case in sorted(cases))))


def _disagreements(
    run: RequestRun,
    row: Case,
    temporal: tuple[str, str, str] | None,
    register: _Register,
    problem: Callable[[str, str], None],
) -> bool:
    """Whether the register's entry and Temporal disagree about an ended case."""
    assert run.outcome is not None
    found: list[str] = []
    status, state, kind = temporal or ("MISSING", "", "")
    if status != WorkflowExecutionStatus.COMPLETED.name:
        found.append(f"the workflow is {status.lower()}")
    if state != CaseState.CLOSED.value or row.state != CaseState.CLOSED.value:
        found.append(f"state: register {row.state}, Temporal {state}")
    if row.outcome != run.outcome.value:
        found.append(f"outcome: register {row.outcome}, Temporal {run.outcome.value}")
    if kind != run.request.kind.value or row.kind != run.request.kind.value:
        found.append(f"kind: register {row.kind}, Temporal {kind}")
    if row.open_key is not None or row.closed_at is None:
        found.append("the register still holds the case open")
    found += [f"trail: {text}" for text in register.trails.get(row.case_number, [])]
    for text in found:
        problem("mismatched", text)
    return bool(found)


def _per_kind(runs: list[RequestRun]) -> dict[str, KindCount]:
    counts: dict[str, KindCount] = {}
    for kind in KINDS:
        mine = [run for run in runs if run.request.kind is kind]
        if not mine:
            continue
        seconds = [run.seconds for run in mine if run.seconds is not None]
        counts[kind.value] = KindCount(
            submitted=len(mine),
            completed=sum(1 for run in mine if run.outcome is not None),
            outcomes=dict(Counter(run.outcome.value for run in mine if run.outcome)),
            median_seconds=round(statistics.median(seconds), 2) if seconds else None,
            max_seconds=round(max(seconds), 2) if seconds else None,
        )
    return counts


async def activity_retries(client: Client, case_numbers: Sequence[str]) -> dict[str, int]:
    """Activity attempts the cases needed again, per activity and why the last one before the
    attempt that counted ended ("apply_restriction: timed out (start to close)"), from the
    cases' histories: a timed-out attempt is work a worker took and never finished."""
    limit = asyncio.Semaphore(10)
    retried: Counter[str] = Counter()

    async def look(case_number: str) -> None:
        names: dict[int, str] = {}
        async with limit:
            handle = client.get_workflow_handle(case_number)
            async for event in handle.fetch_history_events():
                if event.HasField("activity_task_scheduled_event_attributes"):
                    scheduled = event.activity_task_scheduled_event_attributes
                    names[event.event_id] = scheduled.activity_type.name
                elif event.HasField("activity_task_started_event_attributes"):
                    started = event.activity_task_started_event_attributes
                    if started.attempt > 1:
                        name = names.get(started.scheduled_event_id, "?")
                        retried[f"{name}: {_why(started.last_failure)}"] += started.attempt - 1

    await asyncio.gather(*(look(case) for case in case_numbers))
    return dict(retried.most_common())


def _why(failure: Failure) -> str:
    if failure.HasField("timeout_failure_info"):
        kind = TimeoutType.Name(failure.timeout_failure_info.timeout_type)
        return f"timed out ({kind.removeprefix('TIMEOUT_TYPE_').lower().replace('_', ' ')})"
    if failure.HasField("application_failure_info"):
        return f"failed ({failure.application_failure_info.type or 'error'})"
    return "failed"


def _chunks(items: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
