"""The commands. Each checks what it can of its input here (the shape of a case number, a day,
a period), sends the rest to the case service, and prints the service's answer: one JSON object
with --json, a line or a table otherwise. A refusal is one line on stderr and exit code 1; the
service checks roles, the law and the case's state before anything is written.

The commands are in the modules below, each registering its own on `cli.app.app` when it is
imported, in the order `--help` lists them.
"""

from __future__ import annotations

import sys

# isort: off
from cli.app import app
from cli import requests as requests
from cli import actions as actions
from cli import reading as reading
from cli import documents as documents
from cli import account as account

# isort: on


def main() -> None:
    app()
    sys.stdout.flush()
