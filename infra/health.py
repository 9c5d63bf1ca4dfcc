"""The worker's health endpoint, for an orchestrator's probes (Kubernetes, systemd, a load
balancer):

- `GET /healthz`: 200 while the process runs (liveness: restart it when this fails).
- `GET /readyz`: 200 while the worker polls its task queue and the Temporal server answers a
  health check; 503 before the worker has started, once it is stopping (SIGTERM), and while
  the server cannot be reached (readiness: take it out of rotation, do not restart it).

The answers name no case, person, address, key or error message: only booleans and a state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Literal

import structlog
from aiohttp import web
from temporalio.client import Client
from temporalio.worker import Worker

log = structlog.get_logger("health")

Readiness = Literal["ready", "starting", "stopping", "temporal_unreachable"]
# A probe that waits longer than this for the server calls it unreachable.
CHECK_TIMEOUT = timedelta(seconds=2)


class WorkerHealth:
    """What the probes are told about one worker. `mark_stopping()` is called on SIGTERM,
    before the worker's graceful shutdown begins, so nothing new is routed to a worker that is
    only finishing what it runs."""

    def __init__(self, client: Client, worker: Worker) -> None:
        self._client = client
        self._worker = worker
        self._stopping = False

    def mark_stopping(self) -> None:
        self._stopping = True

    async def readiness(self) -> Readiness:
        if self._stopping:
            return "stopping"
        if not self._worker.is_running:
            return "starting"
        if not await self._server_reachable():
            return "temporal_unreachable"
        return "ready"

    async def _server_reachable(self) -> bool:
        try:
            return await self._client.service_client.check_health(timeout=CHECK_TIMEOUT)
        except Exception as error:  # any failure to get an answer means "not reachable"
            # The type only: an RPC error's text can name the server's address.
            log.warning("temporal health check failed", error_type=type(error).__name__)
            return False


class HealthAddressError(ValueError):
    """The health endpoint cannot be served at the configured address; the message says why."""


def create_app(health: WorkerHealth) -> web.Application:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(_request: web.Request) -> web.Response:
        state = await health.readiness()
        return web.json_response(
            {"status": state, "ready": state == "ready"}, status=200 if state == "ready" else 503
        )

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


@asynccontextmanager
async def serve_health(health: WorkerHealth, address: str) -> AsyncIterator[None]:
    """Serve the endpoint at `address` ("host:port") while the block runs; "" serves nothing."""
    if not address:
        yield
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise HealthAddressError(f"DSR_WORKER_HEALTH_ADDRESS {address!r}: give host:port")
    runner = web.AppRunner(create_app(health), access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host.strip("[]"), int(port)).start()
        except OSError as error:
            raise HealthAddressError(
                f"DSR_WORKER_HEALTH_ADDRESS {address}: cannot listen ({error.strerror})"
            ) from None
        log.info("health endpoint served", health_url=f"http://{address}/readyz")
        yield
    finally:
        await runner.cleanup()
