"""Imports only run downward (issue 21): bench and scripts, then the case service, the
worker's wiring (app/) and the command line, then workflows, activities, systems and dsr at
the ground, as [tool.importlinter] in pyproject.toml lays them out. An import that runs back
up (dsr's worker wiring once imported every activity and workflow) fails here, naming the
chain."""

from __future__ import annotations

import ast
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


def test_no_test_module_imports_another() -> None:
    """What tests share lives in tests/support/ (and the helpers beside it), never in a test
    module another one imports: a test module is collected for its tests, not borrowed."""
    borrowed = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            borrowed += [
                f"{path.relative_to(ROOT)} imports {name}"
                for name in names
                if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")
            ]
    assert borrowed == []
