"""Imports only run downward (issue 21): bench and scripts, then the case service, the
worker's wiring (app/) and the command line, then workflows, activities, systems and dsr at
the ground, as [tool.importlinter] in pyproject.toml lays them out. An import that runs back
up (dsr's worker wiring once imported every activity and workflow) fails here, naming the
chain."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_imports_run_only_downward() -> None:
    checked = subprocess.run(
        # import-linter's own command, installed next to this interpreter.
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Imports run downward KEPT" in checked.stdout
