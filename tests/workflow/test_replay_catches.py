"""The replay test catches what it is there to catch: a committed history does not replay
against a workflow changed without `workflow.patched`, and does against the same change behind
a patch and against the workflow as it is.

Each change is a subclass of the access workflow registered under its name, as a new release
of `workflows/access.py` would be, and replayed the way tests/workflow/test_replay.py and
deploy/replay.py replay (the worker's workflows, sandbox and data converter).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, WorkflowReplayResult

from contract.case import CaseInput, CaseResult, CollectionResult, ExtractResult
from contract.policies import PERSISTENT, SHORT_TIMEOUT
from contract.steps import BuildExtractInput, PlanCollectionInput
from workflows.access import AccessRequestWorkflow

# This module defines workflows, so the sandbox imports it afresh: what it imports of the
# worker's wiring and the platform (app/, infra/: not passed through) and of the activities
# comes from outside.
with workflow.unsafe.imports_passed_through():
    from activities.extract import ExtractActivities
    from activities.sources import SourceActivities
    from app.worker_setup import WORKFLOWS, worker_interceptors, workflow_runner
    from infra.client import data_converter
    from infra.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="session")

# An access case verified by e-ID at intake, collected from four systems, built, released by a
# handler and delivered: every kind of step the changes below touch.
HISTORY = "access_verified_at_intake_with_system_watch.json"
NAME = "AccessRequestWorkflow"


@workflow.defn(name=NAME)
class WaitsBeforeBuilding(AccessRequestWorkflow):
    """A timer where the history has the build activity."""

    @workflow.run
    async def run(self, case: CaseInput) -> CaseResult:
        return await super().run(case)

    async def _build(self, version: int, collections: list[CollectionResult]) -> ExtractResult:
        await workflow.sleep(timedelta(seconds=1))
        return await super()._build(version, collections)


@workflow.defn(name=NAME)
class PlansTwice(AccessRequestWorkflow):
    """An extra activity: the collection is planned twice, where history has it once."""

    @workflow.run
    async def run(self, case: CaseInput) -> CaseResult:
        return await super().run(case)

    async def _collect(self, version: int) -> list[CollectionResult]:
        await workflow.execute_activity_method(
            SourceActivities.plan_collection,
            PlanCollectionInput(case_number=self._case.case_number),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )
        return await super()._collect(version)


@workflow.defn(name=NAME)
class BuildsAnotherProduct(AccessRequestWorkflow):
    """Another activity in the place of one in history (as if build_extract were renamed)."""

    @workflow.run
    async def run(self, case: CaseInput) -> CaseResult:
        return await super().run(case)

    def _product(
        self,
    ) -> Callable[[ExtractActivities, BuildExtractInput], Coroutine[Any, Any, ExtractResult]]:
        return ExtractActivities.build_portable


@workflow.defn(name=NAME)
class WaitsBeforeBuildingSincePatch(AccessRequestWorkflow):
    """The same timer as WaitsBeforeBuilding, as the project makes such a change: behind a
    patch, so a case from before it keeps its course."""

    @workflow.run
    async def run(self, case: CaseInput) -> CaseResult:
        return await super().run(case)

    async def _build(self, version: int, collections: list[CollectionResult]) -> ExtractResult:
        if workflow.patched("test-wait-before-building"):
            await workflow.sleep(timedelta(seconds=1))
        return await super()._build(version, collections)


def with_access(access: type) -> Sequence[type]:
    """The worker's workflows, with `access` in the place of today's access workflow."""
    assert AccessRequestWorkflow in WORKFLOWS
    return [access if w is AccessRequestWorkflow else w for w in WORKFLOWS]


async def replay(access: type) -> WorkflowReplayResult:
    replayer = Replayer(
        workflows=list(with_access(access)),
        data_converter=data_converter(Settings()),
        workflow_runner=workflow_runner(),
        interceptors=worker_interceptors(),
    )
    # Resolved here, not at import: the sandbox imports this module again and refuses I/O.
    path = Path(__file__).resolve().parent.parent / "histories" / HISTORY
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    return await replayer.replay_workflow(history, raise_on_replay_failure=False)


async def test_the_history_replays_against_the_workflow_as_it_is() -> None:
    """Without this, a replay that checked nothing would pass the test below too."""
    assert (await replay(AccessRequestWorkflow)).replay_failure is None


async def test_the_same_change_behind_a_patch_replays() -> None:
    assert (await replay(WaitsBeforeBuildingSincePatch)).replay_failure is None


@pytest.mark.parametrize(
    ("changed", "told"),
    [
        (WaitsBeforeBuilding, "Timer machine does not handle this event"),
        (PlansTwice, "Activity machine does not handle this event"),
        (BuildsAnotherProduct, "'build_extract' does not match activity type of activity command"),
    ],
    ids=["timer", "extra-activity", "other-activity"],
)
async def test_a_change_without_a_patch_fails_the_replay(changed: type, told: str) -> None:
    failure = (await replay(changed)).replay_failure
    assert isinstance(failure, workflow.NondeterminismError), repr(failure)
    assert "Nondeterminism error" in str(failure) and told in str(failure), str(failure)
