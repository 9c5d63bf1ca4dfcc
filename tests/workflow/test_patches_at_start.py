"""Every patch a case knows is decided at its start, before its first local activity (patch
`patches-at-start`, workflows/case.py).

A patch decided just after a local activity can land in the next workflow task when the worker
completes a task the moment the activity's result comes; a replay then reads the patch as
absent and the case no longer replays. It was seen in CI (a `status` query of a closed access
case failing with "patch marker for change escalation-ladder, no corresponding change
command") and reproduced by racing two approvals on a loaded machine (2 of 40 histories).
Here: the history of a new case of each kind holds every patch of its kind, each one before
the first local activity's marker, and replays.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Replayer

from app.registry import CASE_WORKFLOWS
from app.worker_setup import WORKFLOWS, worker_interceptors, workflow_runner
from contract.actions import ApproveReleaseInput
from contract.case import CaseResult, CaseState
from contract.vocabulary import Kind
from demo.people import DEMO_SUBJECTS
from infra.client import data_converter
from infra.config import Settings
from tests.helpers import submit, wait_for_state
from workflows.access import AccessRequestWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def markers(handle: WorkflowHandle[Any, Any]) -> list[tuple[int, str]]:
    """(event id, what) of the history's markers: a patch's id, or "local activity"."""
    found = []
    async for event in handle.fetch_history_events():
        if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
            continue
        marker = event.marker_recorded_event_attributes
        if marker.marker_name == "core_patch":
            data = marker.details["patch-data"].payloads[0].data
            found.append((event.event_id, json.loads(data)["id"]))
        elif marker.marker_name == "core_local_activity":
            found.append((event.event_id, "local activity"))
    return found


@pytest.mark.parametrize("kind", [Kind.OBJECTION, Kind.ACCESS], ids=lambda k: k.value)
async def test_a_new_case_decides_every_patch_before_its_first_local_activity(
    client: Client, worker: Settings, kind: Kind
) -> None:
    subject = DEMO_SUBJECTS["marketing_only" if kind is Kind.OBJECTION else "joint_b"]
    submitted = await submit(client, worker, subject, kind, bankid=kind is Kind.ACCESS)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    if kind is Kind.ACCESS:
        await wait_for_state(handle, CaseState.AWAITING_REVIEW)
        await handle.execute_update(
            AccessRequestWorkflow.approve_release, ApproveReleaseInput(handler="anna")
        )
    await handle.result()  # to its end: a patch decided anywhere in its course is in history
    found = await markers(handle)
    first_local = min(event for event, what in found if what == "local activity")
    patches = {what: event for event, what in found if what != "local activity"}
    workflow = CASE_WORKFLOWS[kind]
    assert set(workflow.PATCHES) <= set(patches), "every patch of the kind is decided"
    unlisted = set(patches) - set(workflow.PATCHES) - {"patches-at-start"}
    assert unlisted == set(), "a patch the case decided is missing from its kind's PATCHES"
    late = {patch: event for patch, event in patches.items() if event > first_local}
    assert late == {}, f"decided after the first local activity (event {first_local})"

    history = await handle.fetch_history()
    replayer = Replayer(
        workflows=list(WORKFLOWS),
        namespace=client.namespace,
        data_converter=data_converter(worker),
        workflow_runner=workflow_runner(),
        interceptors=worker_interceptors(),
    )
    assert (
        await replayer.replay_workflow(history, raise_on_replay_failure=False)
    ).replay_failure is None
