"""Heartbeats while an activity runs, so that a worker that died (or a task the worker never
got) is found within the activity's heartbeat timeout, not its whole start-to-close timeout.

The workflow decides: every activity it gives a heartbeat timeout heartbeats while it runs
(`HeartbeatWhileRunning`, installed on the worker), however long it waits on a system, a
lock or a mailbox. An activity whose worker process is gone, or whose event loop is stuck,
stops heartbeating, and the server retries it elsewhere once the timeout has run out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

T = TypeVar("T")

# Well inside the 30 s heartbeat timeouts the workflows give (the SDK sends at most one
# heartbeat per 0.8 x that timeout anyway).
HEARTBEAT_SECONDS = 5.0


async def heartbeating(work: Coroutine[Any, Any, T], every: float = HEARTBEAT_SECONDS) -> T:
    """Run `work`, heartbeating every `every` seconds until it ends; its result or its error.
    Work done within `every` sends no heartbeat at all. If the activity is cancelled, so is the
    work."""
    task = asyncio.create_task(work)
    try:
        while True:
            await asyncio.wait({task}, timeout=every)
            if task.done():
                break
            activity.heartbeat()
    finally:
        task.cancel()
    return task.result()


class HeartbeatWhileRunning(Interceptor):
    """Worker interceptor: activities scheduled with a heartbeat timeout heartbeat while they
    run."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Heartbeating(next)


class _Heartbeating(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        timeout = activity.info().heartbeat_timeout
        if not timeout or not asyncio.iscoroutinefunction(input.fn):
            return await self.next.execute_activity(input)
        every = min(HEARTBEAT_SECONDS, timeout.total_seconds() / 3)
        return await heartbeating(self.next.execute_activity(input), every)
