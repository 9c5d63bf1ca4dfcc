"""Activities scheduled with a heartbeat timeout heartbeat while they run (the worker's
HeartbeatWhileRunning): one that works longer than its heartbeat timeout is not taken for dead,
and without the interceptor the same activity times out. Real dev server, a worker in-process
with the engine's sandbox."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, TimeoutError, TimeoutType
from temporalio.worker import Interceptor, Worker

from activities.heartbeat import HeartbeatWhileRunning

# This module defines workflows, so the sandbox imports it afresh: the worker's wiring (app/,
# not passed through) comes from outside.
with workflow.unsafe.imports_passed_through():
    from app.worker_setup import workflow_runner

pytestmark = pytest.mark.asyncio(loop_scope="session")

WORK_SECONDS = 3.0
HEARTBEAT_TIMEOUT = timedelta(seconds=1)


@activity.defn
async def slow_step() -> str:
    """Works longer than its heartbeat timeout, without heartbeating itself."""
    await asyncio.sleep(WORK_SECONDS)
    return "done"


@workflow.defn
class SlowStepWorkflow:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            slow_step,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


async def run_slow_step(client: Client, interceptors: Sequence[Interceptor]) -> str:
    queue = f"heartbeat-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[SlowStepWorkflow],
        activities=[slow_step],
        workflow_runner=workflow_runner(),
        interceptors=interceptors,
    ):
        return await client.execute_workflow(
            SlowStepWorkflow.run, id=f"heartbeat-{uuid.uuid4()}", task_queue=queue
        )


async def test_a_long_activity_with_a_heartbeat_timeout_is_kept_alive(client: Client) -> None:
    assert await run_slow_step(client, [HeartbeatWhileRunning()]) == "done"


async def test_without_the_interceptor_the_same_activity_times_out(client: Client) -> None:
    with pytest.raises(WorkflowFailureError) as failure:
        await run_slow_step(client, [])
    assert isinstance(failure.value.cause, ActivityError)
    timeout = failure.value.cause.cause
    assert isinstance(timeout, TimeoutError) and timeout.type is TimeoutType.HEARTBEAT
