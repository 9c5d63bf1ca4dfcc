"""A Temporal server that says to slow down (RESOURCE_EXHAUSTED) makes a list wait, not fail.

Its own dev server, whose namespace takes one visibility call a second: the case service's
list, called three times at once as three supervisors might, answers each of them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from contract import search
from infra.binaries import installed_binary
from service import cases


@pytest_asyncio.fixture(loop_scope="session")
async def slow_visibility() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=installed_binary("temporal"),
        search_attributes=search.ALL,
        dev_server_log_level="error",
        dev_server_extra_args=["--dynamic-config-value", "frontend.namespaceRPS.visibility=1"],
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.mark.asyncio(loop_scope="session")
async def test_a_list_over_the_visibility_rate_waits_and_answers(
    slow_visibility: WorkflowEnvironment,
) -> None:
    query = cases.list_query(
        kind=None, open_only=True, overdue=False, due_within=None, assignee=None
    )
    answers = await asyncio.gather(
        *(cases.list_cases(slow_visibility.client, query) for _ in range(3))
    )
    assert answers == [[], [], []]
