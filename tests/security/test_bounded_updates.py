"""Point 3 of the boundary: no flood of updates freezes a case. Temporal keeps at most 2,000
updates in one execution; `refresh_roster` took no input and no check, so 2,000 calls froze a
case for good. Real server, real worker."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError

from contract.case import ReassignInput
from contract.roster import RefreshRosterInput
from infra.config import Settings
from tests.helpers import awaiting_identity, status_of

pytestmark = pytest.mark.asyncio(loop_scope="session")
# Refreshes sent, fifty at a time. The case's validator takes one every ten seconds at most and
# refuses the others before history, but each refusal still costs the case a workflow task: a
# flood past Temporal's 2,000 updates per execution (DSR_TEST_FLOOD=3000) takes minutes here
# (326 s), so CI sends sixty.
FLOOD = int(os.environ.get("DSR_TEST_FLOOD", "60"))


async def refreshes_in_history(handle: WorkflowHandle[Any, Any]) -> int:
    return sum(
        1
        for event in (await handle.fetch_history()).events
        if event.HasField("workflow_execution_update_accepted_event_attributes")
        and event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        == "refresh_roster"
    )


async def test_a_flood_of_roster_refreshes_leaves_the_case_taking_actions(
    client: Client, worker: Settings
) -> None:
    handle = await awaiting_identity(client, worker)
    gate = asyncio.Semaphore(50)
    outcomes = {"read": 0, "refused": 0}

    async def refresh() -> None:
        async with gate:
            try:
                await handle.execute_update("refresh_roster", RefreshRosterInput(handler="anna"))
                outcomes["read"] += 1
            except (WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, RPCError):
                outcomes["refused"] += 1

    await asyncio.gather(*(refresh() for _ in range(FLOOD)))
    # One read is taken, the rest refused before history: at most one every ten seconds.
    assert outcomes["read"] + outcomes["refused"] == FLOOD
    assert 1 <= outcomes["read"] <= 30, outcomes
    assert await refreshes_in_history(handle) == outcomes["read"]
    await handle.execute_update("reassign", ReassignInput(handler="anna", to="chef.jurist"))
    assert (await status_of(handle)).assignee == "chef.jurist"


async def test_a_refresh_names_who_asks_and_one_runs_at_a_time(
    client: Client, worker: Settings
) -> None:
    handle = await awaiting_identity(client, worker)
    with pytest.raises(WorkflowUpdateFailedError) as unnamed:
        await handle.execute_update("refresh_roster")  # as before: no input, no actor
    assert "names who asks" in str(unnamed.value.cause)
    await handle.execute_update("refresh_roster", RefreshRosterInput(handler="anna"))
    with pytest.raises(WorkflowUpdateFailedError) as again:
        await handle.execute_update("refresh_roster", RefreshRosterInput(handler="anna"))
    assert "read again at most every 10 s" in str(again.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as stranger:
        await handle.execute_update("refresh_roster", RefreshRosterInput(handler="mallory"))
    assert "read again at most" in str(stranger.value.cause)
    assert await refreshes_in_history(handle) == 1
