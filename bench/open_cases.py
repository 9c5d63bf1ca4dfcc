"""Many open cases: 5,000 access requests waiting for a handler on a stack of its own (one worker
process), then what a backlog costs and how fast a supervisor's commands answer.

The cases: access requests without e-ID whose answer is asked for elsewhere than the subject's
own mailbox (so each asks the subject for identity proof by digital mailbox and waits in
`awaiting_identity`), one subject each, since intake keeps one open case per
subject and kind. A share of them was received 40 days ago and is registered only now: the
identity request comes too late to stop the clock, so reminder, escalation and overdue fire at
once and `list --overdue` has them to find. Submitted straight to the intake workflow, as the
case service registers what `starter.py submit` sends it, a bounded number at a time.

Figures: the submission rate, and the CPU time the worker and the server spent per case (which,
unlike the rate, hardly depends on what else the machine is running); the worker's memory
(VmRSS, VmHWM); the size of the Temporal server's database (the SQLite file with its -wal and
-shm). Then the case service is started (its own process, as `python -m service`, trusting the
local identity provider), and a team lead signs in at the command line with `starter.py login`
(the device flow, the person's part through the provider's pages) as a handler does. The CLI is
the service's client, its environment only the service's address and the sign-in: timed are
its start-up (`--help`, Python importing the CLI; budget) and a first call to the service
(`whoami --json`: start-up, the cached token, one request; budget), and the wall time of
`starter.py list --overdue --json` (budget), of `list --open --json` and of `status CASE
--json` through the service, each the median of three runs as subprocesses, as a handler runs
them. The overdue list is checked against the cases made overdue; `list --open` must return
every case, across the SDK's pages of 1,000; the status must show the case waiting and
overdue. The status asked for is that of the first overdue case, long evicted from the
worker's cache (1,000 workflows, the SDK's default) by then, so its first run replays the
case's history. Then the service's API itself (the same team lead, a token by the device
flow): p95 of an action (`reassign`, an update each, on 100 cases), of the overdue list and of
a case's status, one call at a time from the client (budgets for the action and the list).
Last, the web console's pages as the team lead opens them in a browser (signed in through the
provider's own form): p95 of the inbox (theirs and the unassigned, sorted by deadline, the
first hundred), of the inbox filtered to everyone's overdue cases, and of a case's page, each
from the request to the last byte (budget 200 ms each).

    python -m bench.open_cases [--cases 5000] [--overdue 500]

Prints the figures, writes them to var/bench/open_cases.json and exits 1 on FAIL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

from bench.backlog import IN_FLIGHT, LATE_BY, open_backlog, settle
from bench.measure import cpu_seconds, database_bytes, p95, timed_cli
from bench.report import Figure, at_most, failed, info, print_table, save
from bench.service_timing import (
    SIGNED_IN,
    case_service,
    cli_env,
    cli_sign_in,
    timed_api,
    timed_pages,
)
from bench.throwaway import bench_stack
from bench.volume import worker_memory_mb
from contract.case import CaseState, Escalation

SECTION = "open_cases"
CASES = 5_000
OVERDUE = 500
LIST_BUDGET_S = 2.0
# The command line is a thin client of the service: it must start at once (median wall time of
# `--help`, and of `whoami --json`, which also reads the sign-in and calls the service).
CLI_START_BUDGET_S = 0.3
# The case service with the backlog open (issue 18): one call at a time, as a person clicks.
API_ACTION_P95_BUDGET_S = 0.150
API_LIST_P95_BUDGET_S = 0.300
# The web console's pages (issue 19), rendered by the service, as a handler clicks through.
PAGE_P95_BUDGET_S = 0.200
SETTLE_TIMEOUT_S = 600.0
MB = 1024 * 1024


def check_overdue_list(output: str, expected: set[str]) -> dict[str, Any]:
    """What `list --overdue --json` returned against the cases made overdue."""
    rows = json.loads(output)["cases"]
    listed = [row["case_number"] for row in rows]
    wrong_rows = [
        row["case_number"]
        for row in rows
        if not row["open"]
        or row["escalation"] != Escalation.OVERDUE.value
        or row["state"] != CaseState.AWAITING_IDENTITY.value
    ]
    return {
        "listed": len(listed),
        "expected": len(expected),
        "duplicates": len(listed) - len(set(listed)),
        "missing": sorted(expected - set(listed))[:20],
        "missing_count": len(expected - set(listed)),
        "not_overdue": sorted(set(listed) - expected)[:20],
        "not_overdue_count": len(set(listed) - expected),
        "wrong_rows": wrong_rows[:20],
        "wrong_rows_count": len(wrong_rows),
    }


def check_status(output: str, case_number: str) -> list[str]:
    current = json.loads(output)
    problems = []
    if current.get("case_number") != case_number:
        problems.append(f"status answered for {current.get('case_number')}, not {case_number}")
    if current.get("state") != CaseState.AWAITING_IDENTITY.value:
        problems.append(f"{case_number} is {current.get('state')}, not awaiting_identity")
    if current.get("escalation") != Escalation.OVERDUE.value:
        problems.append(f"{case_number} escalation is {current.get('escalation')}, not overdue")
    return problems


async def measure(
    *, cases: int = CASES, overdue: int = OVERDUE
) -> tuple[list[Figure], dict[str, Any]]:
    if not 0 < overdue <= cases:
        raise SystemExit("open_cases: need 0 < overdue <= cases")
    async with bench_stack(workers=1) as stack:
        pid = stack.workers[0].pid
        idle = worker_memory_mb(pid)
        print(
            f"Open cases: {cases} access requests waiting for identity proof, {overdue} of them "
            f"received {LATE_BY.days} days ago; {IN_FLIGHT} submissions at once ...",
            flush=True,
        )
        processes = {"worker": pid, "server": stack.server.pid}
        cpu_before = {name: cpu_seconds(p) for name, p in processes.items()}
        began = time.monotonic()
        submitted = await open_backlog(stack, cases=cases, overdue=overdue)
        submit_seconds = time.monotonic() - began
        settle_seconds = await settle(
            stack.client, waiting=cases, overdue=overdue, timeout=SETTLE_TIMEOUT_S
        )
        cpu_ms = {
            name: (cpu_seconds(p) - cpu_before[name]) * 1000 / cases
            for name, p in processes.items()
        }
        load = os.getloadavg()  # other work on the machine slows the rate, not the CPU figures
        print(
            f"  submitted in {submit_seconds:.0f} s, settled {settle_seconds:.0f} s later",
            flush=True,
        )
        memory = worker_memory_mb(pid)
        server_memory = worker_memory_mb(stack.server.pid)
        db = database_bytes(stack.server_db)
        register_db = database_bytes(stack.settings.var_dir / "register.db")

        late = [case for case in submitted if case.overdue]
        # The first overdue case: submitted earliest, so long evicted from the worker's cache;
        # the first status run replays its history, the next ones find it cached.
        probe = late[0].case_number
        async with case_service(stack) as service:
            env = cli_env(service, stack.root / "sign-in")
            print(f"  {SIGNED_IN} signs in (starter.py login); timing the CLI ...", flush=True)
            await cli_sign_in(env, SIGNED_IN)
            # The service's first call connects what it needs (Temporal, the provider's keys).
            await timed_cli(env, "whoami", "--json", runs=1)
            start_up = await timed_cli(env, "--help")
            whoami = await timed_cli(env, "whoami", "--json")
            if json.loads(whoami.output).get("login") != SIGNED_IN:
                raise SystemExit(f"the CLI is not signed in as {SIGNED_IN}: {whoami.output}")
            overdue_list = await timed_cli(env, "list", "--overdue", "--json")
            open_list = await timed_cli(env, "list", "--open", "--json")
            status = await timed_cli(env, "status", probe, "--json")
            print("  timing the case service's API ...", flush=True)
            api = await timed_api(service, [case.case_number for case in submitted], overdue)
            print("  timing the console's pages ...", flush=True)
            pages = await asyncio.to_thread(
                timed_pages, service, [case.case_number for case in submitted]
            )

    listed = check_overdue_list(overdue_list.output, {case.case_number for case in late})
    open_listed = {row["case_number"] for row in json.loads(open_list.output)["cases"]}
    all_open = open_listed == {case.case_number for case in submitted}
    status_problems = check_status(status.output, probe)
    right = (
        listed["missing_count"] == 0
        and listed["not_overdue_count"] == 0
        and listed["duplicates"] == 0
        and listed["wrong_rows_count"] == 0
    )
    figures = [
        info("cases submitted", len(submitted), "cases"),
        info("submission rate", round(len(submitted) / submit_seconds, 1), "cases/s"),
        info("worker CPU per case", round(cpu_ms["worker"]), "ms"),
        info("server CPU per case", round(cpu_ms["server"]), "ms"),
        info("worker memory (VmRSS)", round(memory["VmRSS"], 1), "MB"),
        info("worker peak memory (VmHWM)", round(memory["VmHWM"], 1), "MB"),
        info("server database", round(sum(db.values()) / MB, 1), "MB"),
        info("server database per case", round(sum(db.values()) / len(submitted) / 1024, 1), "kB"),
        at_most("list --overdue", overdue_list.median, "s", LIST_BUDGET_S),
        Figure(
            "overdue cases listed",
            listed["listed"],
            "cases",
            f"= {overdue}, all overdue",
            right,
        ),
        info("list --open", open_list.median, "s"),
        Figure("open cases listed", len(open_listed), "cases", f"= {cases}, all ours", all_open),
        Figure(
            "status CASE",
            status.median,
            "s",
            "answers right",
            not status_problems,
        ),
        at_most("CLI start-up (--help)", start_up.median, "s", CLI_START_BUDGET_S),
        at_most("CLI whoami (one service call)", whoami.median, "s", CLI_START_BUDGET_S),
        at_most(
            "API action p95 (reassign)", p95(api["action_seconds"]), "s", API_ACTION_P95_BUDGET_S
        ),
        at_most(
            "API list p95 (overdue)", p95(api["overdue_list_seconds"]), "s", API_LIST_P95_BUDGET_S
        ),
        Figure(
            "API overdue cases listed",
            api["overdue_listed"],
            "cases",
            f"= {overdue}",
            api["overdue_listed"] == overdue,
        ),
        info("API status p95", p95(api["status_seconds"]), "s"),
        at_most("console inbox p95", p95(pages["inbox_seconds"]), "s", PAGE_P95_BUDGET_S),
        Figure(
            "console inbox rows",
            pages["inbox_rows"],
            "rows",
            f"first 100 of {pages['inbox_total']}",
            0 < pages["inbox_rows"] == min(100, pages["inbox_total"]),
        ),
        at_most(
            "console inbox p95 (overdue, everyone's)",
            p95(pages["inbox_overdue_seconds"]),
            "s",
            PAGE_P95_BUDGET_S,
        ),
        at_most("console case page p95", p95(pages["case_page_seconds"]), "s", PAGE_P95_BUDGET_S),
    ]
    details = {
        "cases": cases,
        "overdue": overdue,
        "in_flight": IN_FLIGHT,
        "submit_seconds": round(submit_seconds, 1),
        "settle_seconds": round(settle_seconds, 1),
        "cpu_ms_per_case": {name: round(ms, 1) for name, ms in cpu_ms.items()},
        "load_average_1_5_15_min": load,
        "worker_cache": "max_cached_workflows is the SDK default (1000)",
        "worker_memory_idle_mb": idle,
        "worker_memory_mb": memory,
        "server_memory_mb": server_memory,
        "server_database_bytes": db,
        "register_database_bytes": register_db,
        "cli_seconds": {
            "--help": start_up.seconds,
            "whoami --json": whoami.seconds,
            "list --overdue --json": overdue_list.seconds,
            "list --open --json": open_list.seconds,
            "status CASE --json": status.seconds,
        },
        "api": api,
        "console": pages,
        "open_cases_listed": len(open_listed),
        "overdue_list_check": listed,
        "status_case": probe,
        "status_problems": status_problems,
    }
    return figures, details


async def run() -> list[Figure]:
    figures, _ = await measure()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=CASES)
    parser.add_argument("--overdue", type=int, default=OVERDUE)
    args = parser.parse_args()
    began = time.monotonic()
    figures, details = asyncio.run(measure(cases=args.cases, overdue=args.overdue))
    details["run_seconds"] = round(time.monotonic() - began, 1)
    print_table(SECTION, figures)
    print(f"  written to {save(SECTION, figures, details)}")
    if failed(figures):
        sys.exit(1)


if __name__ == "__main__":
    main()
