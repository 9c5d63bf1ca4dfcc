"""The case service: the one door through which staff and the customer e-service act on cases.
It alone (with the workers) holds a Temporal client; people hold none, nor any payload key.

    python -m service    # uvicorn on DSR_SERVICE_ADDRESS (make run starts it)

/api/v1 is the JSON API (its OpenAPI document at /api/v1/openapi.json);
/ is the web console, signed in with the organisation's provider (service.console);
/healthz answers while the process runs, /readyz when Temporal and the identity provider
answer, /metrics gives Prometheus the calls and their latency per route.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

import httpx
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client
from temporalio.service import RPCError

from activities.register import RegisterActivities
from infra import plugins
from infra.client import connect
from infra.config import Settings
from infra.db import create_engine, sessionmaker
from service import api, console, desk, eservice
from service.auth import ProviderUnavailable, TokenVerifier
from service.metering import Metrics, RateLimit
from service.problems import Problem, on_http, on_problem, on_validation, problem_response

log = structlog.get_logger("service")


class BodyLimit:
    """Bodies past `limit` bytes are refused (413, a problem): by the declared length before
    anything is read, and a body sent without one (chunked) as soon as what arrived passes it.
    (Starlette's own limit answers in plain text, not as a problem.)"""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"the request body is larger than {self.limit} bytes"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await problem_response(413, too_large)(scope, receive, send)
            return
        arrived = 0

        async def counted() -> Message:
            nonlocal arrived
            message = await receive()
            if message["type"] == "http.request":
                arrived += len(message.get("body", b""))
                if arrived > self.limit:
                    # Raised while the route reads its body: answered as a problem (413).
                    raise StarletteHTTPException(413, too_large)
            return message

        await self.app(scope, counted, send)


class Metered:
    """Each call counted and timed by route template, method and status (pure ASGI: no task
    in between, so what the route raises reaches its handlers as raised)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def noted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, noted)
        finally:
            self.metrics.observe(scope, status, time.perf_counter() - started)


class SecurityHeaders:
    """On every answer: no sniffing of content types, no referrer to other sites."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def headed(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
            await send(message)

        await self.app(scope, receive, headed)


async def on_temporal_error(request: Request, error: Exception) -> JSONResponse:
    """Temporal answered with something no route expects (it restarts, is unavailable)."""
    assert isinstance(error, RPCError)
    log.warning("temporal_error", status=error.status.name)
    return problem_response(503, f"Temporal cannot be reached right now ({error.status.name})")


def create_app(settings: Settings, *, temporal: Client | None = None) -> FastAPI:
    """The application. `temporal`: a client to use (tests); otherwise one is connected at
    start-up from the settings."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient() as http:
            app.state.verifier = TokenVerifier(
                issuer=settings.oidc_issuer,
                audience=settings.oidc_audience,
                login_claim=settings.oidc_login_claim,
                http=http,
            )
            try:
                await app.state.verifier.discover()
            except ProviderUnavailable as error:
                # Not fatal: the first call tries again, and /readyz says why meanwhile.
                log.warning("identity_provider_unavailable", reason=str(error))
            app.state.temporal = temporal or await connect(settings)
            engine = create_engine(settings.register_database_url)
            app.state.register = RegisterActivities(
                sessionmaker(engine), secret=settings.reference_secret, ring=settings.key_ring()
            )
            app.state.register_sessions = sessionmaker(engine)
            try:
                yield
            finally:
                await engine.dispose()

    app = FastAPI(
        title="Ärendetjänsten (DSR engine case service)",
        version="1",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        # No docs pages: FastAPI's load Swagger UI from a CDN, third-party script on the
        # console's own origin. The OpenAPI document is served; read it with any viewer.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    # The e-ID provider the e-service's proofs are checked with (the demo's, as the worker's).
    app.state.eid_provider = plugins.eid_provider(settings)
    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RPCError, on_temporal_error)
    for router in api.ROUTERS:
        app.include_router(router)
    app.include_router(eservice.router)
    console.install(app, settings)
    for router in desk.ROUTERS:
        app.include_router(router)
    app.state.rate_limit = RateLimit(settings.service_rate_limit)
    metrics = Metrics()
    app.add_middleware(SecurityHeaders)
    app.add_middleware(Metered, metrics=metrics)
    app.add_middleware(BodyLimit, limit=settings.service_max_body_bytes)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return metrics.exposition()

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        problems = []
        verifier: TokenVerifier = request.app.state.verifier
        try:
            if not verifier.metadata:
                await verifier.discover()
        except ProviderUnavailable as error:
            problems.append(str(error))
        client: Client = request.app.state.temporal
        try:
            await client.service_client.check_health()
        except Exception as error:  # noqa: BLE001 - any failure means not ready
            problems.append(f"Temporal: {type(error).__name__}")
        if problems:
            return JSONResponse({"status": "not ready", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    return app
