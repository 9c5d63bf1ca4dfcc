"""Committed histories replay against today's workflow code: a non-deterministic change fails CI."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from app.worker_setup import WORKFLOWS, worker_interceptors, workflow_runner
from infra.client import data_converter
from infra.codec import history_place
from infra.config import Settings

HISTORIES = sorted((Path(__file__).resolve().parent.parent / "histories").glob("*.json"))


def test_there_are_histories_to_replay() -> None:
    names = {path.stem for path in HISTORIES}
    assert {"access_verified_at_intake", "access_verified_by_handler_letter", "intake_0"} <= names


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    text = path.read_text()
    # Payloads sealed since binding open only in their namespace and workflow.
    namespace, workflow_id = history_place(text) or ("default", path.stem)
    replayer = Replayer(
        workflows=list(WORKFLOWS),
        namespace=namespace,
        data_converter=data_converter(Settings()),
        workflow_runner=workflow_runner(),
        interceptors=worker_interceptors(),
    )
    history = WorkflowHistory.from_json(workflow_id, text)
    await replayer.replay_workflow(history)
