"""The open-cases benchmark's backlog: cases submitted until they wait for a person, some of
them registered late enough to be overdue, and the wait until Temporal's visibility shows
them all.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from bench.seed import synthetic_subjects
from bench.throwaway import HANDLERS, BenchStack
from contract.case import CaseState, Escalation
from contract.intake import RequestDetails, SubmitRequestInput, SubmitRequestResult
from contract.vocabulary import Channel, Kind
from workflows.intake import IntakeWorkflow

IN_FLIGHT = 50  # submissions at once
LATE_BY = timedelta(days=40)  # past the one-month deadline, within the CLI's two years
# The handlers the backlog's cases are assigned to, in turn.
ASSIGNEES = HANDLERS[:3]


@dataclass(frozen=True)
class Submitted:
    case_number: str
    overdue: bool


# --- the backlog ---------------------------------------------------------------------------


async def submit_waiting(
    client: Client, task_queue: str, subject_id: str, *, received_at: datetime, assignee: str
) -> SubmitRequestResult:
    """An access request without e-ID, as the case service registers `starter.py submit access
    --deliver-elsewhere`: it waits for identity proof."""
    return await client.execute_workflow(
        IntakeWorkflow.run,
        SubmitRequestInput(
            kind=Kind.ACCESS,
            subject_id=subject_id,
            received_at=received_at,
            channel=Channel.E_SERVICE,
            assignee=assignee,
            details=RequestDetails(deliver_elsewhere=True),
        ),
        id=f"intake-{uuid.uuid4()}",
        task_queue=task_queue,
    )


async def open_backlog(stack: BenchStack, *, cases: int, overdue: int) -> list[Submitted]:
    """Submit `cases` requests, every (cases // overdue)-th one received 40 days ago, so the
    overdue ones are spread over the whole run (early ones long evicted from the worker's
    cache, late ones still in it)."""
    subjects = synthetic_subjects(cases)
    late = set(range(0, cases, cases // overdue)[:overdue])
    gate = asyncio.Semaphore(IN_FLIGHT)
    done = 0
    began = time.monotonic()

    async def one(n: int, subject_id: str) -> Submitted:
        nonlocal done
        async with gate:
            now = datetime.now(UTC)
            result = await submit_waiting(
                stack.client,
                stack.settings.task_queue,
                subject_id,
                received_at=now - LATE_BY if n in late else now,
                assignee=ASSIGNEES[n % len(ASSIGNEES)],
            )
        if result.existing:
            raise SystemExit(f"{result.case_number}: intake found an open case for a new subject")
        done += 1
        if done % 500 == 0:
            print(f"  {time.monotonic() - began:5.0f} s: {done}/{cases} submitted", flush=True)
        return Submitted(result.case_number, n in late)

    return list(await asyncio.gather(*(one(n, s) for n, s in enumerate(subjects))))


async def settle(client: Client, *, waiting: int, overdue: int, timeout: float) -> float:
    """Wait until visibility shows every case waiting for identity and the late ones overdue;
    return the seconds it took."""
    queries = {
        "waiting": (
            f'DsrState = "{CaseState.AWAITING_IDENTITY.value}" AND ExecutionStatus = "Running"',
            waiting,
        ),
        "overdue": (
            f'DsrEscalation = "{Escalation.OVERDUE.value}" AND ExecutionStatus = "Running"',
            overdue,
        ),
    }
    began = time.monotonic()
    counts: dict[str, int] = {}
    while time.monotonic() - began < timeout:
        for name, (query, _) in queries.items():
            counts[name] = (await client.count_workflows(query)).count
        if all(counts[name] >= expected for name, (_, expected) in queries.items()):
            return time.monotonic() - began
        await asyncio.sleep(1.0)
    raise SystemExit(f"cases did not settle within {timeout:.0f} s: {counts}")
