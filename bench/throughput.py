"""Throughput and latency of fully automated access requests, each as a ratio to bare Temporal
workflows of the same shape (bench/bare.py), measured in one run against one dev server.

An automated access request: the subject signed with BankID in the e-service (identity
verified at intake) and the release policy is "automatic", so the case collects, builds and
delivers the extract to the digital mailbox without a handler. The engine runs in one
worker.py process, the bare workflows in one `python -m bench.bare` process on a task queue of
their own: same server, same data converter (the encryption codec), same sandbox and limits.

- Throughput: CASES requests, CONCURRENCY at a time, in two rounds per side in the order
  bare, engine, engine, bare (the machine's background load falls on both alike); a rate is
  cases over the seconds its rounds took. Budget: engine >= 0.7 x bare.
- Latency: LATENCY_REQUESTS requests one at a time, submit to delivered (the case workflow's
  result), engine and bare taking turns; p50 and p95. Budget: engine p50 <= 1.5 x bare p50.
- Shape: one real case's histories (intake, case, extract disposal) against the bare ones,
  event type by event type, workflow tasks aside (their count depends on timing). A
  difference means bench/bare.py no longer mirrors the engine and the ratios are not fair.
- CPU: what the server, each worker and this client spent per case in the throughput rounds
  (Linux /proc), which says what limits each side, and a ratio that other processes on the
  machine do not disturb as they do the wall-clock one.

Subjects: the demo people who have data in the systems (not the protected identity, who goes
to manual handling, nor the one in no system), and synthetic customers seeded as
bench/seed.py seeds them, up to SUBJECTS. A person has one open case per kind, so each
subject is taken again only after its previous case closed, in turn.

    python -m bench.throughput   # from the repo root; exit 1 when a budget is missed
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client

from bench.bare import BareCaseWorkflow, BareIntakeWorkflow, BareSubmitInput
from bench.measure import cpu_seconds, percentile
from bench.report import Figure, at_least, at_most, failed, info, print_table, save
from bench.seed import seed_subjects, synthetic_subjects
from bench.shape import CaseIds, case_activities, compare_shapes
from bench.throwaway import HANDLERS, ROOT, BenchStack, bench_stack
from contract.case import Outcome
from contract.intake import SubmitRequestInput
from contract.vocabulary import Channel, IdentityMethod, Kind
from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS
from infra.outbox import FakeEidProvider
from workflows.access import AccessRequestWorkflow
from workflows.intake import IntakeWorkflow

SECTION = "throughput"
CASES = 100
CONCURRENCY = 20
LATENCY_REQUESTS = 50
WARMUP_CASES = CONCURRENCY
SUBJECTS = 2 * CONCURRENCY
THROUGHPUT_BUDGET = 0.7  # engine cases/s >= this x bare
LATENCY_BUDGET = 1.5  # engine p50 <= this x bare p50
CASE_TIMEOUT = 120.0  # seconds one case may take before the run is called off


@dataclass(frozen=True)
class CaseRan:
    """One case from submission to its result: the seconds it took, and its workflows."""

    seconds: float
    ids: CaseIds


CaseRun = Callable[[str], Awaitable[CaseRan]]


def demo_subjects_with_data() -> list[str]:
    """The demo people an access request finds data about and answers without a handler."""
    left_out = {DEMO_SUBJECTS["protected"], DEMO_SUBJECTS["unknown"]}
    people = [*DEMO_SUBJECTS.values(), *FILLER_SUBJECTS.values()]
    return [subject for subject in people if subject not in left_out]


class SubjectTurns:
    """Subjects in turn; one is given out again only after its previous case was handed back
    (closed): a person has one open case per kind."""

    def __init__(self, subjects: Sequence[str]) -> None:
        self._free = deque(subjects)
        self._returned = asyncio.Condition()

    async def take(self) -> str:
        async with self._returned:
            await self._returned.wait_for(lambda: bool(self._free))
            return self._free.popleft()

    async def give_back(self, subject: str) -> None:
        async with self._returned:
            self._free.append(subject)
            self._returned.notify()


@dataclass
class Side:
    """One side of the comparison: how it runs a case, and its results."""

    name: str
    run_case: CaseRun
    seconds: float = 0.0
    cases: int = 0
    # CPU seconds each process spent while this side's throughput rounds ran.
    cpu: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.cases / self.seconds

    def cpu_ms_per_case(self, process: str) -> float:
        return self.cpu[process] / self.cases * 1000

    def cpu_ms_per_case_in_all(self) -> float:
        """The stack's CPU time per case: the server's, both workers' and the client's."""
        return sum(self.cpu.values()) / self.cases * 1000


@dataclass
class Processes:
    """The processes whose CPU time is counted: which one limits a side's throughput."""

    pids: dict[str, int]

    def cpu(self) -> Counter[str]:
        return Counter({name: cpu_seconds(pid) for name, pid in self.pids.items()})


def engine_case(client: Client, stack: BenchStack) -> CaseRun:
    settings = stack.settings
    eid = FakeEidProvider(settings.eid_dir)

    async def run(subject: str) -> CaseRan:
        # The person signs in the e-service before submitting: not the engine's time.
        order_ref = eid.sign(subject)
        intake = f"intake-{uuid.uuid4()}"
        began = time.perf_counter()
        submitted = await client.execute_workflow(
            IntakeWorkflow.run,
            SubmitRequestInput(
                kind=Kind.ACCESS,
                subject_id=subject,
                received_at=datetime.now(UTC),
                channel=Channel.E_SERVICE,
                verified_by=IdentityMethod.BANKID,
                eid_order_ref=order_ref,
                assignee=HANDLERS[0],
            ),
            id=intake,
            task_queue=settings.task_queue,
        )
        if submitted.existing:
            raise RuntimeError(f"{submitted.case_number}: the subject's last case is still open")
        result = await client.get_workflow_handle_for(
            AccessRequestWorkflow.run, submitted.case_number
        ).result()
        if result.outcome is not Outcome.DELIVERED:
            raise RuntimeError(f"{submitted.case_number} ended {result.outcome}, not delivered")
        return CaseRan(time.perf_counter() - began, CaseIds(intake, submitted.case_number))

    return run


def bare_case(client: Client, task_queue: str, systems: int) -> CaseRun:
    async def run(subject: str) -> CaseRan:
        intake = f"bare-intake-{uuid.uuid4()}"
        began = time.perf_counter()
        submitted = await client.execute_workflow(
            BareIntakeWorkflow.run,
            BareSubmitInput(subject_id=subject, received_at=datetime.now(UTC), systems=systems),
            id=intake,
            task_queue=task_queue,
        )
        await client.get_workflow_handle_for(BareCaseWorkflow.run, submitted.case_number).result()
        return CaseRan(time.perf_counter() - began, CaseIds(intake, submitted.case_number))

    return run


async def one_case(run_case: CaseRun, subjects: SubjectTurns) -> CaseRan:
    subject = await subjects.take()
    try:
        return await asyncio.wait_for(run_case(subject), CASE_TIMEOUT)
    finally:
        await subjects.give_back(subject)


async def cases_at_once(
    run_case: CaseRun, subjects: SubjectTurns, *, cases: int, concurrency: int
) -> float:
    """Run `cases` cases, `concurrency` at a time; the seconds from the first submission to
    the last result."""
    left = iter(range(cases))

    async def lane() -> None:
        for _ in left:
            await one_case(run_case, subjects)

    began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return time.perf_counter() - began


async def throughput(
    sides: Sequence[Side], subjects: SubjectTurns, processes: Processes
) -> list[dict[str, Any]]:
    """Rounds in the order a, b, b, a: a drift in the machine's load falls on both sides."""
    rounds = []
    for side in [*sides, *reversed(sides)]:
        cases = CASES // 2
        before = processes.cpu()
        seconds = await cases_at_once(side.run_case, subjects, cases=cases, concurrency=CONCURRENCY)
        cpu = processes.cpu()
        cpu.subtract(before)
        side.seconds += seconds
        side.cases += cases
        side.cpu.update(cpu)
        rounds.append(
            {
                "side": side.name,
                "cases": cases,
                "seconds": round(seconds, 2),
                "cpu_seconds": {name: round(value, 2) for name, value in cpu.items()},
            }
        )
        print(f"  {side.name}: {cases} cases in {seconds:.1f} s", flush=True)
    return rounds


async def latency(
    sides: Sequence[Side], subjects: SubjectTurns, requests: int
) -> dict[str, list[float]]:
    """One request at a time, the sides taking turns (and turns at going first)."""
    seconds: dict[str, list[float]] = {side.name: [] for side in sides}
    for n in range(requests):
        for side in sides if n % 2 == 0 else reversed(sides):
            seconds[side.name].append((await one_case(side.run_case, subjects)).seconds)
    return seconds


# --- the run -----------------------------------------------------------------------------------


def with_bytecode(stack: BenchStack) -> dict[str, str]:
    """Workers keep compiled bytecode, under the stack's directory (not in the source tree).

    The sandbox imports a workflow's modules anew for every workflow it starts; a deployment
    has them compiled (the Dockerfile runs compileall), but under PYTHONDONTWRITEBYTECODE and
    without __pycache__ every workflow would compile them from source, a cost (about a tenth
    of the engine worker's CPU time) that no deployment pays."""
    return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(stack.root / "bytecode")}


def start_bare_worker(stack: BenchStack, task_queue: str) -> subprocess.Popen[bytes]:
    log = (stack.root / "bare-worker.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "bench.bare"],
        env={**stack.env, **with_bytecode(stack), "DSR_TASK_QUEUE": task_queue},
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


async def run() -> list[Figure]:
    figures, _ = await measure()
    return figures


async def measure() -> tuple[list[Figure], dict[str, Any]]:
    began = time.perf_counter()
    async with bench_stack(workers=0, settings_update={"release_policy": "automatic"}) as stack:
        client = stack.client
        engine_worker = stack.start_worker(with_bytecode(stack))
        people = demo_subjects_with_data()
        synthetic = synthetic_subjects(max(SUBJECTS - len(people), 0))
        await seed_subjects(stack.settings.all_system_urls(), synthetic)
        subjects = SubjectTurns([*people, *synthetic])
        bare_queue = f"{stack.settings.task_queue}-bare"
        bare_worker = start_bare_worker(stack, bare_queue)
        try:
            print("Throughput: one automated access case, to read its shape ...", flush=True)
            engine = Side("engine", engine_case(client, stack))
            engine_ids = (await one_case(engine.run_case, subjects)).ids
            activities = await case_activities(client, engine_ids)
            collects = activities["case"].count("collect")
            bare = Side("bare", bare_case(client, bare_queue, systems=collects))
            bare_ids = (await one_case(bare.run_case, subjects)).ids
            differing, shapes = await compare_shapes(client, engine_ids, bare_ids)
            sides = (bare, engine)

            print(f"  warming up: {WARMUP_CASES} cases each ...", flush=True)
            for side in sides:
                await cases_at_once(
                    side.run_case, subjects, cases=WARMUP_CASES, concurrency=CONCURRENCY
                )
            print(f"  throughput: {CASES} cases each, {CONCURRENCY} at a time ...", flush=True)
            processes = Processes(
                {
                    "server": stack.server.pid,
                    "engine worker": engine_worker.pid,
                    "bare worker": bare_worker.pid,
                    "bench client": os.getpid(),
                }
            )
            rounds = await throughput(sides, subjects, processes)
            print(f"  latency: {LATENCY_REQUESTS} requests each, one at a time ...", flush=True)
            seconds = await latency(sides, subjects, LATENCY_REQUESTS)
        finally:
            stop(bare_worker)
    p50 = {name: statistics.median(values) * 1000 for name, values in seconds.items()}
    p95 = {name: percentile(values, 95) * 1000 for name, values in seconds.items()}
    figures = [
        info("engine throughput", engine.rate, "cases/s"),
        info("bare throughput", bare.rate, "cases/s"),
        at_least("throughput engine / bare", engine.rate / bare.rate, "x", THROUGHPUT_BUDGET),
        info("engine worker CPU per case", engine.cpu_ms_per_case("engine worker"), "ms"),
        info("bare worker CPU per case", bare.cpu_ms_per_case("bare worker"), "ms"),
        info("server CPU per engine case", engine.cpu_ms_per_case("server"), "ms"),
        info("server CPU per bare case", bare.cpu_ms_per_case("server"), "ms"),
        # The ratio of the rates on a machine busy with nothing else, all of it CPU-bound: a
        # cross-check of the wall-clock ratio, which other processes on the machine disturb.
        info(
            "CPU per case bare / engine",
            bare.cpu_ms_per_case_in_all() / engine.cpu_ms_per_case_in_all(),
            "x",
        ),
        info("engine latency p50", p50["engine"], "ms"),
        info("engine latency p95", p95["engine"], "ms"),
        info("bare latency p50", p50["bare"], "ms"),
        info("bare latency p95", p95["bare"], "ms"),
        at_most("latency p50 engine / bare", p50["engine"] / p50["bare"], "x", LATENCY_BUDGET),
        info("latency p95 engine / bare", p95["engine"] / p95["bare"], "x"),
        info("activities per case", sum(map(len, activities.values())), "activities"),
        at_most("bare history differs from engine's", differing, "events", 0),
        info("run time", time.perf_counter() - began, "s"),
    ]
    details = {
        "cases": CASES,
        "concurrency": CONCURRENCY,
        "latency_requests": LATENCY_REQUESTS,
        "warmup_cases": WARMUP_CASES,
        "worker_processes": {"engine": 1, "bare": 1},
        "subjects": {"demo_with_data": len(people), "synthetic": len(synthetic)},
        "throughput_rounds": rounds,
        "latency_ms": {
            name: [round(value * 1000, 1) for value in values] for name, values in seconds.items()
        },
        "case_activities": activities,
        "history_shapes": shapes,
    }
    return figures, details


def main() -> None:
    figures, details = asyncio.run(measure())
    print_table(SECTION, figures)
    print(f"\nwritten to {save(SECTION, figures, details)}")
    if failed(figures):
        sys.exit(1)


if __name__ == "__main__":
    main()
