"""Volume: the access extract of a customer with ten years of 15-minute meter values (350,400
rows) and of one with one year (35,040 rows), released by the automatic policy (verified by
BankID at intake, no handler), on a stack of its own with one worker process.

Figures: the wall time from submit to delivered for each; the worker's peak memory (VmHWM of
the worker process); and the size of each case's workflow history, which must not grow with the
data (the rows go through the extract store, history carries references).

Order: a warm-up case (a customer with 30 days of hourly readings) first, so neither measured
case pays for the worker's first workflow; then one year, then ten years. VmHWM is the process's
lifetime peak, so it is read after each case: after the one-year case it is that case's peak,
after the ten-year case the peak of all three (the ten-year case's, as it is the largest).

While a case runs, the worker's VmRSS is sampled every 10 ms and the highest sample is reported
per activity type in the details (`peak_rss_by_activity_mb`, windows from the history's
scheduled and completed events), so a missed memory budget names the step that set it.

The worker's CPU time (user + system) during each case is reported next to the wall time: on a
busy machine the wall time is mostly waiting for a core, the CPU time much less so.

Every meter row must be in the delivered extract (the outbox's extract.json). History size is
the serialized protobuf size: the sum of `ByteSize()` over the history's events
(its JSON length is in the details too).

    python -m bench.volume

Prints the figures, writes them to var/bench/volume.json and exits 1 on FAIL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from bench.report import Figure, at_most, failed, info, print_table, save
from bench.throwaway import HANDLERS, BenchStack, bench_stack
from contract.case import CaseResult, Outcome
from contract.intake import RequestDetails, SubmitRequestInput
from contract.vocabulary import Channel, IdentityMethod, Kind
from demo.people import FILLER_SUBJECTS
from demo.schemas import SYSTEM_TABLES
from demo.systems import REFERENCE_DAY
from infra.config import Settings
from infra.outbox import FakeEidProvider
from workflows.intake import IntakeWorkflow

SECTION = "volume"
READINGS_PER_DAY = 96  # one every 15 minutes
TEN_YEARS_ROWS = 3650 * READINGS_PER_DAY  # 350,400
ONE_YEAR_ROWS = 365 * READINGS_PER_DAY  # 35,040
# Two demo customers with an electricity contract, one metering point each and no protected
# identity (the automatic policy releases their extracts); their hourly readings are replaced.
TEN_YEARS = FILLER_SUBJECTS["holm"]
ONE_YEAR = FILLER_SUBJECTS["sjoberg"]
WARM_UP = FILLER_SUBJECTS["karimi"]  # 30 days of hourly readings, as seeded

WALL_TIME_BUDGET_S = 15.0
PEAK_MEMORY_BUDGET_MB = 300.0
HISTORY_RATIO_TOLERANCE = 0.10
CASE_TIMEOUT_S = 120.0
_CHUNK_ROWS = 10_000
_QUARTER = timedelta(minutes=15)


# --- the readings ------------------------------------------------------------------------


def quarter_hour_readings(
    metering_point_id: int, first_reading_id: int, count: int
) -> Iterator[dict[str, Any]]:
    """`count` consecutive 15-minute readings ending at the demo's reference day (UTC, naive
    like the seeded ones): a daily rhythm, more in winter, some noise."""
    rng = random.Random(metering_point_id)
    end = datetime.combine(REFERENCE_DAY, datetime.min.time())
    start = end - count * _QUARTER
    for offset in range(count):
        read_at = start + offset * _QUARTER
        daily = 1.8 if read_at.hour in (6, 7, 8, 17, 18, 19, 20) else 1.0
        season = 1.7 if read_at.month in (11, 12, 1, 2, 3) else 1.0
        yield {
            "reading_id": first_reading_id + offset,
            "metering_point_id": metering_point_id,
            "read_at": read_at,
            "kwh": round((0.08 * daily * season) + rng.random() * 0.1, 3),
        }


async def replace_readings(conn: AsyncConnection, subject_id: str, count: int) -> int:
    """Give the subject's (only) metering point exactly `count` 15-minute readings in place of
    the seeded ones; return the subject's reading count as a SELECT finds it afterwards."""
    tables = SYSTEM_TABLES["network"].tables
    customers, points = tables["network_customers"], tables["metering_points"]
    readings = tables["meter_readings"]
    subject_points = (
        sa.select(points.c.metering_point_id)
        .join(customers, points.c.network_customer_id == customers.c.network_customer_id)
        .where(customers.c.personal_number == subject_id)
    )
    point_ids = list((await conn.execute(subject_points)).scalars())
    if len(point_ids) != 1:
        raise SystemExit(f"expected one metering point for a volume customer, found {point_ids}")
    await conn.execute(sa.delete(readings).where(readings.c.metering_point_id.in_(point_ids)))
    first = await conn.scalar(sa.select(sa.func.coalesce(sa.func.max(readings.c.reading_id), 0)))
    chunk: list[dict[str, Any]] = []
    for row in quarter_hour_readings(point_ids[0], int(first or 0) + 1, count):
        chunk.append(row)
        if len(chunk) == _CHUNK_ROWS:
            await conn.execute(sa.insert(readings), chunk)
            chunk = []
    if chunk:
        await conn.execute(sa.insert(readings), chunk)
    found = await conn.scalar(
        sa.select(sa.func.count())
        .select_from(readings)
        .where(readings.c.metering_point_id.in_(subject_points.scalar_subquery()))
    )
    return int(found or 0)


async def seed_volume(settings: Settings) -> dict[str, int]:
    """Replace both customers' readings; fail unless the counts are exact."""
    engine = create_async_engine(settings.all_system_urls()["network"])
    try:
        async with engine.begin() as conn:
            counts = {
                TEN_YEARS: await replace_readings(conn, TEN_YEARS, TEN_YEARS_ROWS),
                ONE_YEAR: await replace_readings(conn, ONE_YEAR, ONE_YEAR_ROWS),
            }
    finally:
        await engine.dispose()
    expected = {TEN_YEARS: TEN_YEARS_ROWS, ONE_YEAR: ONE_YEAR_ROWS}
    if counts != expected:
        raise SystemExit(f"meter readings seeded {counts}, expected {expected}")
    return {"10y": counts[TEN_YEARS], "1y": counts[ONE_YEAR]}


# --- one case ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRun:
    case_number: str
    wall_seconds: float
    worker_cpu_seconds: float  # user + system, during the case
    meter_rows_delivered: int
    extract_json_bytes: int
    history_events: int
    history_bytes: int  # sum of the events' serialized protobuf size
    history_json_chars: int
    activity_seconds: dict[str, float]  # scheduled -> completed, per activity type
    peak_rss_by_activity_mb: dict[str, float]  # sampled every 10 ms
    peak_memory_mb: float  # the worker's VmHWM after the case
    memory_mb: float  # the worker's VmRSS after the case


def worker_memory_mb(pid: int) -> dict[str, float]:
    """VmHWM (peak resident set over the process's life) and VmRSS, in MB (2^20 bytes)."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            found[key] = int(value.split()[0]) / 1024  # kB
    return found


def worker_cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    # /proc/<pid>/stat: the command may hold spaces, so count fields after its closing ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def meter_rows(extract_json: Path) -> int:
    answer = json.loads(extract_json.read_text())
    return sum(
        len(table["rows"])
        for section in answer["systems"]
        if section["system"] == "network"
        for table in section["tables"]
        if table["table"] == "meter_readings"
    )


def activity_windows(history: WorkflowHistory) -> list[tuple[str, float, float]]:
    """Each completed activity as (type, scheduled, completed), in epoch seconds."""
    scheduled: dict[int, tuple[str, float]] = {}
    windows: list[tuple[str, float, float]] = []
    for event in history.events:
        at = event.event_time.ToDatetime(tzinfo=UTC).timestamp()
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = (name, at)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attributes = event.activity_task_completed_event_attributes
            name, began = scheduled[attributes.scheduled_event_id]
            windows.append((name, began, at))
    return windows


def activity_seconds(windows: list[tuple[str, float, float]]) -> dict[str, float]:
    """How long each activity type took, scheduled to completed (summed over its activities:
    the four `collect`s run in parallel add up)."""
    took: dict[str, float] = {}
    for name, began, ended in windows:
        took[name] = round(took.get(name, 0.0) + ended - began, 3)
    return took


def peak_by_activity(
    samples: list[tuple[float, float]], windows: list[tuple[str, float, float]]
) -> dict[str, float]:
    """The highest sampled RSS (MB) while each activity type ran; "between" outside them."""
    peaks: dict[str, float] = {}
    for at, rss in samples:
        running = {name for name, began, ended in windows if began <= at <= ended} or {"between"}
        for name in running:
            peaks[name] = round(max(peaks.get(name, 0.0), rss), 1)
    return peaks


class MemorySampler:
    """The worker's VmRSS every few milliseconds while a case runs, with the time."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self._pid, self._interval = pid, interval
        self.samples: list[tuple[float, float]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> MemorySampler:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _sample(self) -> None:
        while True:
            self.samples.append((time.time(), worker_memory_mb(self._pid)["VmRSS"]))
            await asyncio.sleep(self._interval)


async def run_case(client: Client, stack: BenchStack, subject_id: str) -> CaseRun:
    """Submit an access request signed with BankID and wait until it is delivered."""
    settings = stack.settings
    pid = stack.workers[0].pid
    sampler = MemorySampler(pid)
    cpu_before = worker_cpu_seconds(pid)
    began = time.monotonic()
    async with sampler:
        submitted = await client.execute_workflow(
            IntakeWorkflow.run,
            SubmitRequestInput(
                kind=Kind.ACCESS,
                subject_id=subject_id,
                received_at=datetime.now(UTC),
                channel=Channel.E_SERVICE,
                verified_by=IdentityMethod.BANKID,
                eid_order_ref=FakeEidProvider(settings.eid_dir).sign(subject_id),
                assignee=HANDLERS[0],
                details=RequestDetails(),
            ),
            id=f"intake-{uuid.uuid4()}",
            task_queue=settings.task_queue,
        )
        handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
        result = await asyncio.wait_for(handle.result(), CASE_TIMEOUT_S)
    wall = time.monotonic() - began
    cpu = worker_cpu_seconds(pid) - cpu_before
    memory = worker_memory_mb(pid)
    if result.outcome is not Outcome.DELIVERED or result.delivery is None:
        raise SystemExit(f"{submitted.case_number} ended {result.outcome.value}, not delivered")
    extract_json = Path(result.delivery.location) / "extract.json"
    history = await handle.fetch_history()
    windows = activity_windows(history)
    return CaseRun(
        case_number=submitted.case_number,
        wall_seconds=wall,
        worker_cpu_seconds=round(cpu, 2),
        meter_rows_delivered=meter_rows(extract_json),
        extract_json_bytes=extract_json.stat().st_size,
        history_events=len(history.events),
        history_bytes=sum(event.ByteSize() for event in history.events),
        history_json_chars=len(history.to_json()),
        activity_seconds=activity_seconds(windows),
        peak_rss_by_activity_mb=peak_by_activity(sampler.samples, windows),
        peak_memory_mb=memory["VmHWM"],
        memory_mb=memory["VmRSS"],
    )


# --- the benchmark -----------------------------------------------------------------------


def all_rows(name: str, delivered: int, seeded: int) -> Figure:
    return Figure(name, delivered, "rows", f"= {seeded:,}", delivered == seeded)


def figures_of(one_year: CaseRun, ten_years: CaseRun) -> list[Figure]:
    ratio = ten_years.history_bytes / one_year.history_bytes
    return [
        all_rows("meter rows delivered, 10 years", ten_years.meter_rows_delivered, TEN_YEARS_ROWS),
        all_rows("meter rows delivered, 1 year", one_year.meter_rows_delivered, ONE_YEAR_ROWS),
        at_most("wall time, 10 years", ten_years.wall_seconds, "s", WALL_TIME_BUDGET_S),
        info("wall time, 1 year", one_year.wall_seconds, "s"),
        info("worker CPU time, 10 years", ten_years.worker_cpu_seconds, "s"),
        info("worker CPU time, 1 year", one_year.worker_cpu_seconds, "s"),
        at_most("peak worker memory", ten_years.peak_memory_mb, "MB", PEAK_MEMORY_BUDGET_MB),
        info("peak worker memory after 1 year", one_year.peak_memory_mb, "MB"),
        info("history size, 1 year", one_year.history_bytes, "bytes"),
        info("history size, 10 years", ten_years.history_bytes, "bytes"),
        Figure(
            "history size ratio 10y/1y",
            ratio,
            "",
            f"within ±{HISTORY_RATIO_TOLERANCE:.0%} of 1",
            abs(ratio - 1) <= HISTORY_RATIO_TOLERANCE,
        ),
    ]


async def run() -> list[Figure]:
    figures, _ = await measure()
    return figures


async def measure() -> tuple[list[Figure], dict[str, Any]]:
    """The figures and the details behind them (per case: activities, sizes, memory)."""
    async with bench_stack(workers=1, settings_update={"release_policy": "automatic"}) as stack:
        seeded = await seed_volume(stack.settings)
        pid = stack.workers[0].pid
        idle = worker_memory_mb(pid)
        print(f"Volume: seeded {seeded} meter readings; warm-up case ...", flush=True)
        warm_up = await run_case(stack.client, stack, WARM_UP)
        print("  1 year ...", flush=True)
        one_year = await run_case(stack.client, stack, ONE_YEAR)
        print("  10 years ...", flush=True)
        ten_years = await run_case(stack.client, stack, TEN_YEARS)
    details = {
        "meter_rows_seeded": seeded,
        "order": "warm-up (30 days hourly), then 1 year, then 10 years, one worker process",
        "history_size": "sum of HistoryEvent.ByteSize() (serialized protobuf)",
        "worker_memory_idle_mb": idle,
        "warm_up": asdict(warm_up),
        "one_year": asdict(one_year),
        "ten_years": asdict(ten_years),
    }
    return figures_of(one_year, ten_years), details


def main() -> None:
    began = time.monotonic()
    figures, details = asyncio.run(measure())
    details["run_seconds"] = round(time.monotonic() - began, 1)
    print_table(SECTION, figures)
    print(f"  written to {save(SECTION, figures, details)}")
    if failed(figures):
        sys.exit(1)


if __name__ == "__main__":
    main()
