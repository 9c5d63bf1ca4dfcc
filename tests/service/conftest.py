"""The case service running for real: uvicorn on a loopback port, the local identity provider
(Node's oidc-provider) signing people in, a worker on the test's task queue."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
import uvicorn
from temporalio.client import Client

from dsr.config import PROJECT_ROOT, Settings
from dsr.idp import LocalIdentityProvider, start_identity_provider
from dsr.roster import load_roster
from service.app import create_app


@pytest.fixture(scope="session")
def idp() -> Iterator[LocalIdentityProvider]:
    staff = list(load_roster(PROJECT_ROOT / "config" / "roster.yaml").staff)
    provider = start_identity_provider(
        staff, console_redirects=["http://127.0.0.1:8300/auth/callback"]
    )
    yield provider
    provider.stop()


@dataclass
class RunningService:
    url: str
    settings: Settings
    idp: LocalIdentityProvider

    def api(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=f"{self.url}/api/v1", headers=headers, timeout=60)


@contextlib.asynccontextmanager
async def running_service(
    client: Client, settings: Settings, idp: LocalIdentityProvider
) -> AsyncIterator[RunningService]:
    """The service on a free loopback port, trusting `idp`, until the block ends."""
    settings = settings.model_copy(update={"oidc_issuer": idp.issuer})
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, temporal=client), log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        assert not task.done(), "the service did not start"
        await asyncio.sleep(0.05)
    try:
        yield RunningService(f"http://127.0.0.1:{port}", settings, idp)
    finally:
        server.should_exit = True
        await task
        listener.close()


@pytest_asyncio.fixture(loop_scope="session")
async def service(
    client: Client, writable: Settings, idp: LocalIdentityProvider
) -> AsyncIterator[RunningService]:
    # Over a private copy of the demo systems: an erasure approved here really erases.
    async with running_service(client, writable, idp) as running:
        yield running
