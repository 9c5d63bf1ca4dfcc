"""Figures with budgets: each benchmark returns Figures; `make bench` prints them with PASS/FAIL,
writes them as JSON under var/bench/ and exits non-zero when a budget is missed."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "var" / "bench"


@dataclass(frozen=True)
class Figure:
    """One measured value; `budget` says what it must stay within, `passed` whether it did
    (None: reported without a budget)."""

    name: str
    value: float
    unit: str
    budget: str = ""
    passed: bool | None = None

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: ""}[self.passed]


def at_most(name: str, value: float, unit: str, limit: float) -> Figure:
    return Figure(name, value, unit, f"<= {limit:g} {unit}".strip(), value <= limit)


def at_least(name: str, value: float, unit: str, limit: float) -> Figure:
    return Figure(name, value, unit, f">= {limit:g} {unit}".strip(), value >= limit)


def info(name: str, value: float, unit: str) -> Figure:
    return Figure(name, value, unit)


def machine() -> dict[str, Any]:
    """Where the figures came from."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def save(section: str, figures: list[Figure], details: dict[str, Any] | None = None) -> Path:
    """var/bench/<section>.json with the figures, the machine and the time."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{section}.json"
    record = {
        "section": section,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "figures": [{**asdict(figure), "verdict": figure.verdict} for figure in figures],
        "details": details or {},
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def print_table(section: str, figures: list[Figure]) -> None:
    width = max((len(figure.name) for figure in figures), default=10)
    print(f"\n== {section}")
    for figure in figures:
        value = f"{figure.value:,.3f}".rstrip("0").rstrip(".")
        print(
            f"  {figure.name:<{width}}  {value:>14} {figure.unit:<8} {figure.budget:<18} "
            f"{figure.verdict}"
        )


def failed(figures: list[Figure]) -> list[Figure]:
    return [figure for figure in figures if figure.passed is False]
