"""Errors as RFC 9457 problem details: `application/problem+json` with the same one-line message
the CLI prints as `detail`, and the status code for what went wrong:

400 a malformed request, 401 no valid token, 403 the signed-in person may not (the message
names the role it takes), 404 no such case, 409 the case is not in a state for the action,
413 the body is too large, 422 the input is invalid, 429 too many calls, 503 Temporal or the
identity provider cannot be reached.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """A refused or failed call; `detail` is the one line a person reads."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="dsr"'})


def problem_response(
    status: int, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def validation_detail(errors: list[Any]) -> str:
    """The first error as the CLI words it: `where: what`."""
    first = errors[0]
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    where = ".".join(location) or "input"
    text = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {text}"


async def on_problem(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Problem)
    return problem_response(error.status, error.detail, error.headers)


async def on_validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return problem_response(422, validation_detail(list(error.errors())))


async def on_http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    if error.status_code == 404 and detail == "Not Found":
        detail = f"no such resource: {request.url.path}"
    if error.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem_response(error.status_code, detail, dict(error.headers or {}))
