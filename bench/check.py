"""Checking a load run against the case register and Temporal: none lost, none duplicated, the
two agreeing on every case, and every kind ending in an outcome it may end in.
"""

from __future__ import annotations

import asyncio
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from temporalio.api.enums.v1 import TimeoutType
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowExecutionStatus

from bench.drive import LoadRun, RequestRun
from bench.load import CASE_TYPES, EXPECTED, KINDS, KindCount, LoadResult
from contract import search
from contract.case import CaseState
from contract.subject import subject_reference
from infra.audit import chain_key, verify as verify_chain
from infra.config import Settings
from infra.db import Case, create_engine, sessionmaker

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
