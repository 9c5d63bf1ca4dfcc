"""The command line is a client of the case service: it starts without the engine."""

from __future__ import annotations

import subprocess
import sys

from infra.config import PROJECT_ROOT

ENGINE = {"temporalio", "sqlalchemy", "pydantic", "workflows", "activities", "service", "systems"}

# Run a command's help as `dsr` would, then list what was imported.
PROBE = """
import sys
sys.argv = ["dsr", "submit", "rectification", "--help"]
from cli.main import app
try:
    app()
except SystemExit:
    pass
print("\\n".join(sorted(sys.modules)), file=sys.stderr)
"""


def test_the_command_line_imports_nothing_of_the_engine() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert "--change" in done.stdout
    loaded = done.stderr.split()
    assert [name for name in loaded if name.split(".")[0] in ENGINE] == []
    assert "contract.vocabulary" in loaded and "contract.base" not in loaded
