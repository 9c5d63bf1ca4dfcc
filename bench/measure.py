"""Measuring a benchmark's processes and commands: CPU time from /proc, a SQLite database's size
on disk, a command line timed over runs, percentiles.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.throwaway import ROOT

RUNS = 3
COMMAND_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Timed:
    seconds: list[float]
    output: str  # stdout of the last run

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


# --- measurements --------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of stat(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def database_bytes(db: Path) -> dict[str, int]:
    """The SQLite file and its write-ahead log and shared-memory index, where they exist."""
    sizes: dict[str, int] = {}
    for suffix in ("", "-wal", "-shm"):
        path = db.with_name(db.name + suffix)
        if path.exists():
            sizes[path.name] = path.stat().st_size
    return sizes


async def timed_cli(env: dict[str, str], *arguments: str, runs: int = RUNS) -> Timed:
    """Run `python starter.py ARGUMENTS` `runs` times as a handler would; wall time of each."""
    seconds: list[float] = []
    output = ""
    for _ in range(runs):
        began = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "starter.py"),
            *arguments,
            env=env,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), COMMAND_TIMEOUT_S)
        seconds.append(time.perf_counter() - began)
        if process.returncode != 0:
            raise SystemExit(
                f"starter.py {' '.join(arguments)} exited {process.returncode}: "
                f"{err.decode()[-2000:]}"
            )
        output = out.decode()
    return Timed([round(s, 3) for s in seconds], output)


def p95(seconds: list[float]) -> float:
    return round(statistics.quantiles(seconds, n=20, method="inclusive")[18], 4)


def percentile(values: Sequence[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]
