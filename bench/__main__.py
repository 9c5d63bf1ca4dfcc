"""`make bench`: every benchmark, each in a process of its own (so one's memory and leftovers
never weigh on the next), then docs/performance.md from the figures they wrote under
var/bench/. Exits 1 if any budget was missed or a section failed to run.

    python -m bench                  # all sections
    python -m bench volume load      # some of them
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from bench.report import RESULTS, ROOT

# Section name -> module; the order they run in (the heavy load run last but one, the
# many-open-cases run last: it leaves the most behind).
SECTIONS = {
    "throughput": "bench.throughput",
    "volume": "bench.volume",
    "load": "bench.run_load",
    "open_cases": "bench.open_cases",
}
TITLES = {
    "throughput": "Throughput and latency against bare Temporal (issue 9, items 1-2)",
    "volume": "Volume: ten years of 15-minute meter values (issue 9, item 3)",
    "load": "Load: 500 requests of every kind at once (issue 8, item 2)",
    "open_cases": "Many open cases (issue 9, item 4)",
}
# What limits each section, as profiled (py-spy on the worker): printed under its figures.
LIMITS = {
    "throughput": (
        "The engine's worker process is the bottleneck: each automated access case costs it "
        "about twice the bare worker's CPU. Profiled: collection (reading four systems and "
        "writing the sealed file, about a fifth), the sandbox importing the case workflow's "
        "modules afresh for each new workflow (about a tenth), the payload codec visiting and "
        "encrypting every payload (about a tenth), the register's trail writes. What would "
        "move it: passing the workflow modules through the sandbox (measured: worker CPU per "
        "case roughly halved, at the price of the sandbox's checks on our own workflow code), "
        "and more worker processes on the task queue (the engine scales out; the ratio "
        "compares one process with one)."
    ),
    "volume": (
        "The peak is set by `build_extract` (`peak_rss_by_activity_mb` in var/bench/volume.json). "
        "A long table's rows are no longer parsed (activities/collected.py): they stay the "
        "collected file's text and are copied into the extract, which took the peak from 339 "
        "to about 264 MB. What is left at the peak: the worker at rest (about 145 MB), the "
        "collected rows' text, the encoded answer and its ciphertext (about 34 MB each for ten "
        "years). What would move it further: sealing the extract in chunks as it is written."
    ),
    "load": (
        "The 500 requests run on two worker processes; a request's handler actions come from "
        "the benchmark as a handler would send them. Activities now heartbeat while they run, "
        "so one whose task was lost under load is retried after its 30 s heartbeat timeout "
        "rather than its 5-minute start-to-close timeout."
    ),
    "open_cases": (
        "The command line is a client of the case service (signed in with `starter.py login`) "
        "and imports nothing of Temporal, SQLAlchemy or the workflows: `whoami` is its start-up, "
        "reading the cached sign-in and one call; `list --overdue` is one call, which the "
        "service answers with one visibility query, read straight from its pages. Help is "
        "plain (click's): typer's rich help took longer to draw than all the rest of a start "
        "(typer is held below 0.27, which would import pydantic on every start). The API "
        "figures are the service's own, timed one call at a time from a client on the same "
        "machine. The worker's memory is bounded by its workflow cache (1,000 workflows by "
        "default), not by the number of open cases. An action is one call to Temporal (the "
        "update; a lookup only when no running case answers) and a case's status one query. "
        "The console's pages are timed as a browser gets them, signed in through the "
        "provider's own form: the inbox reads the case register (the open cases by deadline, "
        "a hundred a page, on their own index), not Temporal's visibility, and the case page "
        "is one status query and the read written to the trail."
    ),
}
DOC = ROOT / "docs" / "performance.md"


def run_section(name: str) -> tuple[int, float]:
    started = time.monotonic()
    code = subprocess.run([sys.executable, "-m", SECTIONS[name]], cwd=ROOT).returncode
    return code, time.monotonic() - started


def _value(figure: dict[str, Any]) -> str:
    return f"{figure['value']:,.3f}".rstrip("0").rstrip(".") + (
        f" {figure['unit']}" if figure["unit"] else ""
    )


def render(outcomes: dict[str, tuple[int, float]]) -> str:
    """docs/performance.md from the latest figures of each section."""
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (`python -m bench`) from the figures under `var/bench/`; do",
        "not edit by hand. Each section runs on a throwaway stack of its own (a Temporal dev",
        "server on a SQLite file in WAL mode, the demo systems seeded, worker processes) on the",
        "machine named below. Comparisons with bare Temporal are ratios measured in the same",
        "run, so a busy machine moves both sides.",
        "",
    ]
    for name in SECTIONS:
        path = RESULTS / f"{name}.json"
        if not path.exists():
            continue
        record = json.loads(path.read_text())
        machine = record["machine"]
        lines += [
            f"## {TITLES[name]}",
            "",
            f"Measured {record['at']} on {machine['cpu']} ({machine['cores']} cores), "
            f"Python {machine['python']}, {machine['system']}"
            + (f"; the section took {outcomes[name][1]:.0f} s." if name in outcomes else "."),
            "",
            "| figure | value | budget | |",
            "|---|---|---|---|",
        ]
        for figure in record["figures"]:
            lines.append(
                f"| {figure['name']} | {_value(figure)} | {figure['budget'] or '-'} | "
                f"{figure['verdict']} |"
            )
        lines += ["", LIMITS[name], ""]
    return "\n".join(lines)


def main() -> None:
    chosen = sys.argv[1:] or list(SECTIONS)
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        sys.exit(f"unknown section(s): {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    outcomes: dict[str, tuple[int, float]] = {}
    for name in chosen:
        print(f"\n### {name} ({SECTIONS[name]})", flush=True)
        outcomes[name] = run_section(name)
    document = render(outcomes)
    if set(outcomes) == set(SECTIONS):
        total = sum(seconds for _, seconds in outcomes.values())
        document += f"\n`make bench` took {total / 60:.1f} minutes for all sections.\n"
    DOC.write_text(document)
    print("\n### summary")
    for name, (code, seconds) in outcomes.items():
        print(f"  {name:<12} {'PASS' if code == 0 else 'FAIL'}  {seconds:6.0f} s")
    print(f"  written to {DOC.relative_to(ROOT)}")
    if any(code != 0 for code, _ in outcomes.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
