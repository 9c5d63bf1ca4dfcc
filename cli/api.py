"""Calls to the case service's JSON API (/api/v1) with the signed-in person's access token.

A refusal comes back as an RFC 9457 problem whose `detail` is the one line the command prints;
the token is never printed, and nothing here holds a Temporal client, a database or a key.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from typing import Any

from cli import signin

# Long enough for an intake or an update the case answers once it is written.
TIMEOUT_SECONDS = 90.0


class ApiError(Exception):
    """The service refused, or cannot be reached: one line for the person."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


# Terminal control in stored text (a requester's description, a handler's reason, a value
# from a system): escape sequences (CSI, OSC such as hyperlinks and window titles, and the
# rest; an unterminated one loses its introducer only, not the text after it) go whole, then
# any C0 or C1 control character left, but for tab and newline. What
# the service answers is shown, never obeyed by the terminal.
_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-_]?)")
# And the bidirectional overrides and isolates, which make a line read other than it is.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def inert(value: Any) -> Any:
    """`value` with terminal control taken out of every string in it."""
    if isinstance(value, str):
        return _CONTROL.sub("", _SEQUENCE.sub("", value))
    if isinstance(value, dict):
        return {inert(key): inert(item) for key, item in value.items()}
    if isinstance(value, list):
        return [inert(item) for item in value]
    return value


def _query(params: dict[str, Any] | None) -> str:
    if not params:
        return ""
    pairs = {
        key: ("true" if value is True else "false" if value is False else str(value))
        for key, value in params.items()
        if value is not None
    }
    return "?" + urllib.parse.urlencode(pairs) if pairs else ""


def call(
    method: str,
    path: str,
    *,
    body: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    raw: bool = False,
) -> Any:
    """One call as the signed-in person: the JSON answer (or the text, with `raw`)."""
    service = signin.service_url()
    try:
        token = signin.access_token(service)
    except signin.SignInError as error:
        raise ApiError(str(error)) from None
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the service's URL from DSR_SERVICE_URL
        f"{service}/api/v1{path}{_query(params)}", data=data, method=method
    )
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Accept", "application/json, text/html;q=0.9")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        status, answer = signin.exchange(request, TIMEOUT_SECONDS)
    except signin.Unreachable as reason:
        raise ApiError(
            f"cannot reach the case service at {service} ({reason}); is it running (make run)?"
        ) from None
    if status >= 300:
        raise _refusal(status, answer)
    text = answer.decode("utf-8")
    if raw:
        return inert(text)
    return inert(json.loads(text)) if text else {}


def _refusal(status: int, raw: bytes) -> ApiError:
    try:
        problem = json.loads(raw or b"{}")
    except ValueError:
        problem = {}
    detail = problem.get("detail") if isinstance(problem, dict) else None
    message = inert(str(detail)) if detail else f"the case service answered {status}"
    if 300 <= status < 400:
        message = f"the case service answered with a redirect ({status}); not followed"
    if status == 401:
        message += " (run dsr login)"
    return ApiError(message, status)
