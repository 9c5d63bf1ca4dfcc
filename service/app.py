"""The case service: the one door through which staff and the customer e-service act on cases.
It alone (with the workers) holds a Temporal client; people hold none, nor any payload key.

    python -m service    # uvicorn on DSR_SERVICE_ADDRESS (make run starts it)

/api/v1 is the JSON API (its OpenAPI document at /api/v1/openapi.json, pages at /api/docs);
/healthz answers while the process runs, /readyz when Temporal and the identity provider
answer, /metrics gives Prometheus the calls and their latency per route.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import Client

from activities.register import RegisterActivities
from dsr.adapters import FakeEidProvider
from dsr.client import connect
from dsr.config import Settings
from dsr.db import create_engine, sessionmaker
from service import api, eservice
from service.auth import ProviderUnavailable, TokenVerifier
from service.metering import Metrics, RateLimit
from service.problems import Problem, on_http, on_problem, on_validation, problem_response

log = structlog.get_logger("service")


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
                sessionmaker(engine), secret=settings.subject_reference_secret
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
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    # The e-ID provider the e-service's proofs are checked with (the demo's, as the worker's).
    app.state.eid_provider = FakeEidProvider(settings.eid_dir)
    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.include_router(api.router)
    app.include_router(eservice.router)
    app.state.rate_limit = RateLimit(settings.service_rate_limit)
    metrics = Metrics()
    app.middleware("http")(metrics.middleware)

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        # The declared length is checked before anything is read; a body sent without one is
        # refused as well when it grows past the limit (uvicorn gives h11 the limit too).
        declared = request.headers.get("content-length")
        if declared is not None and (
            not declared.isdigit() or int(declared) > settings.service_max_body_bytes
        ):
            return problem_response(
                413, f"the request body is larger than {settings.service_max_body_bytes} bytes"
            )
        return await call_next(request)

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
