"""Retry policies and timeouts the workflows share. Here, in the package the sandbox passes
through, rather than in workflows/case.py: a workflow that needs only these (intake, once per
request) then does not re-import the case workflow's module on every run."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# Register writes and notices are small and must eventually happen: retry without a limit,
# backing off to once a minute while a database or provider is down.
PERSISTENT = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
SHORT_TIMEOUT = timedelta(seconds=30)
