"""The shape check of the throughput benchmark: the engine's case and the bare reference's run
the same activities per part, as their histories show, so the figures compare like with like.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

# --- the shape check -------------------------------------------------------------------------


# Event types whose number depends on timing, not on what a workflow does.
TIMING_EVENTS = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    }
)


@dataclass(frozen=True)
class CaseIds:
    intake: str
    case: str

    @property
    def disposal(self) -> str:
        return f"{self.case}-extract-disposal"


async def history_shape(client: Client, workflow_id: str) -> Counter[str]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return Counter(
        EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        for event in history.events
        if event.event_type not in TIMING_EVENTS
    )


async def activities_in(client: Client, workflow_id: str) -> list[str]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def case_activities(client: Client, ids: CaseIds) -> dict[str, list[str]]:
    """The activities of one case's workflows, in the order they were scheduled (the extract
    disposal's up to its timer of days)."""
    await disposal_waiting(client, ids.disposal)
    return {
        "intake": await activities_in(client, ids.intake),
        "case": await activities_in(client, ids.case),
        "extract disposal": await activities_in(client, ids.disposal),
    }


async def disposal_waiting(client: Client, workflow_id: str) -> None:
    """The extract disposal has reached its timer of days (its history is complete for now)."""
    for _ in range(100):
        if (await history_shape(client, workflow_id))["TIMER_STARTED"]:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{workflow_id} never reached its timer")


async def compare_shapes(
    client: Client, engine: CaseIds, bare: CaseIds
) -> tuple[int, dict[str, Any]]:
    """How many events differ between the engine's histories and the bare ones, and both."""
    await disposal_waiting(client, engine.disposal)
    await disposal_waiting(client, bare.disposal)
    differing = 0
    shapes: dict[str, Any] = {}
    for part, engine_id, bare_id in (
        ("intake", engine.intake, bare.intake),
        ("case", engine.case, bare.case),
        ("extract disposal", engine.disposal, bare.disposal),
    ):
        ours, theirs = await history_shape(client, engine_id), await history_shape(client, bare_id)
        differing += sum(((ours - theirs) + (theirs - ours)).values())
        shapes[part] = {"engine": dict(ours), "bare": dict(theirs)}
    return differing, shapes
