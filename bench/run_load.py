"""The load benchmark: 500 requests of every kind submitted at once to a stack of its own (a dev
server, the demo systems with a synthetic customer per GDPR request, worker processes), each
driven to its end as its handler would, then checked against the case register and Temporal.
PASS when every case ended, none was lost or duplicated, and the register agrees with Temporal
on every one (bench/load.py says how each is counted).

    python -m bench.run_load [--requests 500] [--workers 2] [--timeout 1200]

Prints the figures, writes them to var/bench/load.json and exits 1 on FAIL.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from bench.check import activity_retries, check
from bench.drive import drive_load
from bench.load import LoadResult, plan_requests, subjects_needed
from bench.report import Figure, at_least, at_most, failed, info, print_table, save
from bench.seed import seed_subjects, synthetic_subjects
from bench.throwaway import bench_stack

SECTION = "load"
PROBLEMS_SHOWN = 20


async def bench_load(
    *, requests: int, workers: int, timeout: float, poll_seconds: float
) -> tuple[LoadResult, dict[str, int]]:
    """The run's result, and the activity attempts its cases needed again (why, per activity)."""
    async with bench_stack(workers=workers) as stack:
        subjects = synthetic_subjects(subjects_needed(requests))
        await seed_subjects(stack.settings.all_system_urls(), subjects)
        began = time.monotonic()

        def progress(registered: int, ended: int, submitted: int) -> None:
            print(
                f"  {time.monotonic() - began:5.0f} s: {registered}/{submitted} registered, "
                f"{ended}/{submitted} ended",
                flush=True,
            )

        print(
            f"Load: {requests} requests of every kind at once, {workers} worker processes ...",
            flush=True,
        )
        run = await drive_load(
            stack.client,
            stack.settings,
            plan_requests(requests, subjects),
            timeout=timeout,
            poll_seconds=poll_seconds,
            progress=progress,
        )
        result = await check(stack.client, stack.settings, run)
        cases = [r.case_number for r in run.requests if r.case_number]
        return result, await activity_retries(stack.client, cases)


def figures(result: LoadResult, retried: dict[str, int]) -> list[Figure]:
    timed_out = sum(n for why, n in retried.items() if "timed out" in why)
    return [
        info("submitted", result.submitted, "requests"),
        at_least("completed", result.completed, "cases", result.submitted),
        at_most("lost", result.lost, "cases", 0),
        at_most("duplicated", result.duplicated, "cases", 0),
        at_most("mismatched", result.mismatched, "cases", 0),
        at_most("unexpected outcome", result.unexpected, "cases", 0),
        info("unfinished", result.unfinished, "cases"),
        info("submitted twice", result.submitted_twice, "requests"),
        info("stale handler actions", result.stale_actions, "refused"),
        info("calls tried again", result.retries, "calls"),
        info("activity attempts retried", sum(retried.values()), "attempts"),
        info("  of them timed out", timed_out, "attempts"),
        info("elapsed", result.elapsed_seconds, "s"),
        info("throughput", round(result.throughput, 3), "cases/s"),
    ]


def print_kinds(result: LoadResult) -> None:
    print("\n   kind            submitted  completed  median s     max s  outcomes")
    for kind, count in result.per_kind.items():
        outcomes = ", ".join(f"{name} {n}" for name, n in sorted(count.outcomes.items()))
        median = "-" if count.median_seconds is None else f"{count.median_seconds:.1f}"
        longest = "-" if count.max_seconds is None else f"{count.max_seconds:.1f}"
        print(
            f"   {kind:<15} {count.submitted:>9}  {count.completed:>9}  {median:>8}  "
            f"{longest:>8}  {outcomes}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds for the whole run")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between looks")
    args = parser.parse_args()
    result, retried = asyncio.run(
        bench_load(
            requests=args.requests,
            workers=args.workers,
            timeout=args.timeout,
            poll_seconds=args.poll,
        )
    )
    table = figures(result, retried)
    print_table(SECTION, table)
    print_kinds(result)
    if retried:
        print("\n   activity attempts tried again (why the one before ended)")
        for why, count in retried.items():
            print(f"   {count:>5}  {why}")
    for problem in result.problems[:PROBLEMS_SHOWN]:
        print(f"   ! {problem}")
    if len(result.problems) > PROBLEMS_SHOWN:
        print(f"   ! ... and {len(result.problems) - PROBLEMS_SHOWN} more (in the JSON)")
    verdict = "FAIL" if failed(table) else "PASS"
    path = save(SECTION, table, details={**result.as_json(), "activity_retries": retried})
    print(f"\n{SECTION}: {verdict} ({path})")
    sys.exit(1 if failed(table) else 0)


if __name__ == "__main__":
    main()
