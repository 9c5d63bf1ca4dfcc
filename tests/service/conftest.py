"""The case service running for real (tests.serving), over a private copy of the demo
systems, with the session's local identity provider (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.client import Client

from infra.config import Settings
from infra.idp import LocalIdentityProvider
from tests.serving import RunningService, running_service


@pytest_asyncio.fixture(loop_scope="session")
async def service(
    client: Client, writable: Settings, idp: LocalIdentityProvider
) -> AsyncIterator[RunningService]:
    # Over a private copy of the demo systems: an erasure approved here really erases.
    async with running_service(client, writable, idp) as running:
        yield running
