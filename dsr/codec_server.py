"""The codec server: the Temporal Web UI and `temporal workflow show --codec-endpoint` send it
sealed payloads and get them back readable (and the other way), following Temporal's codec
server protocol (POST /encode and /decode, a JSON body {"payloads": [...]}).

Only holders of a token may use it: `Authorization: Bearer <token>`. Browsers may call it from
the Web UI's origin only (CORS). A Web UI without an identity provider cannot send a header, so
in development the token may instead lead the path (`/t/<token>/decode`), which `make run`
puts in the UI's codec endpoint; production refuses path tokens.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Collection

from aiohttp import web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

from dsr.codec import refused_reason

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The largest body accepted: a few workflow histories' payloads at once.
MAX_BODY = 8 * 1024 * 1024


def create_app(
    codec: PayloadCodec,
    *,
    tokens: Collection[str],
    origins: Collection[str],
    path_tokens: bool = False,
) -> web.Application:
    """The codec server's routes around `codec`; `tokens` are the accepted bearer tokens."""
    if not tokens or any(len(token) < 16 for token in tokens):
        raise ValueError("codec server: give at least one token of 16 or more characters")
    allowed = frozenset(origins)

    def authorised(request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if not given and path_tokens:
            given = request.match_info.get("token", "")
        return any(hmac.compare_digest(given.encode(), t.encode()) for t in tokens)

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

    def route(convert: Callable[[Payloads], Awaitable[Payloads]]) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            if request.method == "OPTIONS":  # a browser's preflight: no token yet
                return with_cors(web.Response(status=204), request)
            if not authorised(request):
                return with_cors(
                    web.json_response({"error": "a valid bearer token is required"}, status=401),
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
            handler = route(convert)
            app.router.add_post(f"{prefix}/{name}", handler)
            app.router.add_route("OPTIONS", f"{prefix}/{name}", handler)
    return app
