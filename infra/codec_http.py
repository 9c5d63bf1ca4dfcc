"""The codec server: the Temporal Web UI and `temporal workflow show --codec-endpoint` send it
sealed payloads and get them back readable (and the other way), following Temporal's codec
server protocol (POST /encode and /decode, a JSON body {"payloads": [...]}).

Who may use it: `Authorization: Bearer <token>`, either one of the operators' codec tokens
(`temporal workflow show --codec-auth`), or a person's access token from the organisation's
identity provider, which a signed-in Web UI passes on (its codec pass-access-token setting).
A person's token is checked as the case service checks it, and decodes only for the roles
allowed to see personal data (`Readers`). Every decoded case is recorded in its trail with who
decoded it (`Record`). Browsers may call it from the Web UI's origin only (CORS). A Web UI
without an identity provider cannot send a header, so in development the token may instead
lead the path (`/t/<token>/decode`), which `make run` puts in the UI's codec endpoint;
production refuses path tokens, and turns `/encode` off (nobody needs to seal a payload by
hand there, and a sealed payload made to order is one step towards a forged update).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Collection
from typing import Protocol

import structlog
from aiohttp import web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

from infra.codec import BINDING, BINDING_SEPARATOR, refused_reason

log = structlog.get_logger("codec_server")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The largest body accepted: a few workflow histories' payloads at once.
MAX_BODY = 8 * 1024 * 1024
# Who decoded with an operator's codec token rather than as a person.
TOKEN_HOLDER = "codec-token"
# A case's workflows are named by its case number (the case, "<case>-extract-disposal", ...).
_CASE = re.compile(r"DSR-\d{4}-\d{6}")


class Refused(Exception):
    """A caller the codec server does not serve: 401 (who are you?) or 403 (not you)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Readers(Protocol):
    async def login(self, token: str) -> str:
        """The signed-in person's login if they may see personal data; Refused otherwise."""
        ...


# Records that `who` had these cases' payloads decoded.
Record = Callable[[str, list[str]], Awaitable[None]]


def workflows_of(payloads: Payloads) -> tuple[list[str], int]:
    """The workflows the payloads were sealed for (their binding, which the seal itself
    vouches for: a changed binding does not open), and how many carry none (sealed before
    binding)."""
    found: set[str] = set()
    unbound = 0
    for payload in payloads.payloads:
        binding = payload.metadata.get(BINDING, b"").decode(errors="replace")
        parts = binding.split(BINDING_SEPARATOR)
        if len(parts) >= 2:
            found.add(parts[1])
        else:
            unbound += 1
    return sorted(found), unbound


def cases_of(workflows: list[str]) -> list[str]:
    """The cases those workflows belong to (a case's workflows are named by its number)."""
    return sorted({case.group() for w in workflows if (case := _CASE.match(w))})


def create_app(
    codec: PayloadCodec,
    *,
    tokens: Collection[str],
    origins: Collection[str],
    path_tokens: bool = False,
    readers: Readers | None = None,
    record: Record | None = None,
    encoding: bool = True,
) -> web.Application:
    """The codec server's routes around `codec`; `tokens` are the operators' bearer tokens,
    `readers` judges a person's access token, `record` is told who decoded which cases, and
    `encoding` off answers /encode with 403."""
    if not tokens or any(len(token) < 16 for token in tokens):
        raise ValueError("codec server: give at least one token of 16 or more characters")
    allowed = frozenset(origins)

    async def caller(request: web.Request) -> str:
        """Who asks: TOKEN_HOLDER, or a person's login; Refused if nobody we serve."""
        header = request.headers.get("Authorization", "")
        given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if not given and path_tokens:
            given = request.match_info.get("token", "")
        if any(hmac.compare_digest(given.encode(), t.encode()) for t in tokens):
            return TOKEN_HOLDER
        if given and readers is not None and given.count(".") == 2:
            return await readers.login(given)
        raise Refused(401, "a valid bearer token is required")

    def with_cors(response: web.StreamResponse, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = (
                "Authorization, Content-Type, X-Namespace"
            )
            response.headers["Vary"] = "Origin"
        return response

    def route(convert: Callable[[Payloads], Awaitable[Payloads]], name: str) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            if request.method == "OPTIONS":  # a browser's preflight: no token yet
                return with_cors(web.Response(status=204), request)
            try:
                who = await caller(request)
            except Refused as refused:
                return with_cors(
                    web.json_response({"error": str(refused)}, status=refused.status), request
                )
            if name == "encode" and not encoding:
                return with_cors(
                    web.json_response({"error": "/encode is off in production"}, status=403),
                    request,
                )
            try:
                payloads = json_format.Parse(await request.text(), Payloads())
            except json_format.ParseError:
                return with_cors(
                    web.json_response({"error": 'the body is not {"payloads": [...]}'}, status=400),
                    request,
                )
            try:
                converted = await convert(payloads)
            except ValueError as error:  # a payload no key opens
                return with_cors(web.json_response({"error": str(error)}, status=422), request)
            if name == "decode":
                # Evidence before the answer: every decoding is logged with who and which
                # workflows (an intake holds a request before it is a case), and each case's
                # trail shows who read it.
                workflows, unbound = workflows_of(payloads)
                log.info("payloads decoded", actor=who, workflows=workflows, unbound=unbound)
                if record is not None:
                    await record(who, cases_of(workflows))
            return with_cors(web.json_response(json_format.MessageToDict(converted)), request)

        return handle

    async def encode(payloads: Payloads) -> Payloads:
        return Payloads(payloads=await codec.encode(payloads.payloads))

    async def decode(payloads: Payloads) -> Payloads:
        opened = await codec.decode(payloads.payloads)
        for payload in opened:
            reason = refused_reason(payload)
            if reason is not None:
                raise ValueError(reason)
        return Payloads(payloads=opened)

    app = web.Application(client_max_size=MAX_BODY)
    for prefix in ("", "/t/{token}") if path_tokens else ("",):
        for name, convert in (("encode", encode), ("decode", decode)):
            handler = route(convert, name)
            app.router.add_post(f"{prefix}/{name}", handler)
            app.router.add_route("OPTIONS", f"{prefix}/{name}", handler)
    return app
