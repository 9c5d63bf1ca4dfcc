"""Replay workflow histories against this image's workflow code before it goes live.

    python deploy/replay.py                      # every running workflow, fetched from Temporal
    python deploy/replay.py --query 'WorkflowType="ErasureWorkflow"'
    python deploy/replay.py history.json ...     # from `temporal workflow show --output json`

Run it with the NEW image and the production settings (the same environment and secrets as
the worker: the payload keys open the sealed histories): a change that is not deterministic
for a history that exists fails here, and exits non-zero, instead of failing the cases once
the new workers poll. Nothing is written anywhere; the histories stay sealed until the
replayer decodes them in memory. The workflows and the sandbox are the worker's own (the
same as tests/workflow/test_replay.py uses).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from app.worker_setup import WORKFLOWS, worker_interceptors, workflow_runner
from infra.client import connect, data_converter
from infra.codec import history_place
from infra.config import Settings, SettingsError, get_settings

RUNNING = 'ExecutionStatus="Running"'


def replayer(settings: Settings) -> Replayer:
    # The namespace the payloads are bound to (infra.codec): with the Replayer's own default
    # none of them would open, and every history would fail.
    return Replayer(
        workflows=list(WORKFLOWS),
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        workflow_runner=workflow_runner(),
        interceptors=worker_interceptors(),
    )


async def from_files(paths: list[Path]) -> AsyncIterator[WorkflowHistory]:
    for path in paths:
        text = path.read_text(encoding="utf-8")
        # The workflow id its payloads are bound to, not the file's name.
        _, workflow_id = history_place(text) or ("", path.stem)
        yield WorkflowHistory.from_json(workflow_id, text)


async def replay(settings: Settings, *, paths: list[Path], query: str) -> list[str]:
    """Replay the files, or else the workflows the query finds; returns one line per failure
    (the workflow id and the error's type and message), empty when all replayed."""
    if paths:
        histories = from_files(paths)
    else:
        client = await connect(settings)
        histories = client.list_workflows(query).map_histories()
    failures: list[str] = []
    count = 0
    async with replayer(settings).workflow_replay_iterator(histories) as results:
        async for result in results:
            count += 1
            if result.replay_failure is not None:
                error = result.replay_failure
                failures.append(f"{result.history.workflow_id}: {type(error).__name__}: {error}")
    sys.stdout.write(f"replayed {count} histories, {len(failures)} failed\n")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="history JSON files")
    parser.add_argument("--query", default=RUNNING, help=f"a visibility query (default {RUNNING})")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    failures = asyncio.run(replay(settings, paths=args.paths, query=args.query))
    for line in failures:
        sys.stdout.write(f"  {line}\n")
    return 1 if failures else 0


if __name__ == "__main__":
    code = main()
    # The SDK's Rust threads can outlive the interpreter's finalisation and abort the process
    # after the work is done (temporalio/sdk-python issue 300): leave without finalising.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
