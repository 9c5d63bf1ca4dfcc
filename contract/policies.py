"""Retry policies and timeouts the workflows share. Here, in the package the sandbox passes
through, rather than in workflows/case.py: a workflow that needs only these (intake, once per
request) then does not re-import the case workflow's module on every run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

In = TypeVar("In")
R = TypeVar("R")

# Register writes and notices are small and must eventually happen: retry without a limit,
# backing off to once a minute while a database or provider is down.
PERSISTENT = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
SHORT_TIMEOUT = timedelta(seconds=30)


async def run_here_or_queued(
    patch: str,
    method: Callable[[Any, In], Awaitable[R]],
    arg: In,
    *,
    start_to_close_timeout: timedelta,
    retry_policy: RetryPolicy,
) -> R:
    """An activity method, from workflow code: run as a local activity (in the worker that runs
    the workflow task: one round trip to the server fewer) once `patch` is in the case's
    history, scheduled on the task queue for a case whose history ran it so before the patch
    (its replay must find the same command)."""
    if workflow.patched(patch):
        return await workflow.execute_local_activity_method(
            method, arg, start_to_close_timeout=start_to_close_timeout, retry_policy=retry_policy
        )
    return await workflow.execute_activity_method(
        method, arg, start_to_close_timeout=start_to_close_timeout, retry_policy=retry_policy
    )
