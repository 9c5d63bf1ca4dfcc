"""The codec server over real HTTP: no token, no payloads; with one, sealed payloads come back
readable; browsers only from the Web UI's origin."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from infra.codec import EncryptionCodec, KeyRing
from infra.codec_http import create_app
from tests.helpers import serving

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOKEN = "a-supervisors-token-0123456789"
UI = "http://127.0.0.1:8233"
CODEC = EncryptionCodec(KeyRing({"k1": b"k" * 32}, "k1"))
ORIGINAL = Payload(metadata={"encoding": b"json/plain"}, data=b'{"subject_id": "191212121212"}')


async def serve(path_tokens: bool) -> AsyncIterator[str]:
    app = create_app(CODEC, tokens=[TOKEN], origins=[UI], path_tokens=path_tokens)
    async with serving(app) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session")
async def server() -> AsyncIterator[str]:
    async for url in serve(path_tokens=False):
        yield url


@pytest_asyncio.fixture(loop_scope="session")
async def development_server() -> AsyncIterator[str]:
    async for url in serve(path_tokens=True):
        yield url


async def sealed_body() -> str:
    payloads = Payloads(payloads=await CODEC.encode([ORIGINAL]))
    return json_format.MessageToJson(payloads)


async def post(url: str, body: str, **headers: str) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        text = await response.text()
        is_json = response.content_type == "application/json"
        return response.status, json.loads(text) if is_json else {"text": text}


async def test_without_a_valid_token_nothing_is_decoded(server: str) -> None:
    body = await sealed_body()
    status, answer = await post(f"{server}/decode", body)
    assert status == 401 and "payloads" not in answer
    status, _ = await post(f"{server}/decode", body, Authorization="Bearer wrong-token-000000")
    assert status == 401
    # A token in the path is for a development UI only.
    status, _ = await post(f"{server}/t/{TOKEN}/decode", body)
    assert status == 404


async def test_with_a_token_sealed_payloads_come_back_readable_and_encode_seals(
    server: str,
) -> None:
    status, answer = await post(
        f"{server}/decode", await sealed_body(), Authorization=f"Bearer {TOKEN}"
    )
    assert status == 200
    decoded = json_format.ParseDict(answer, Payloads())
    assert list(decoded.payloads) == [ORIGINAL]

    plain = json_format.MessageToJson(Payloads(payloads=[ORIGINAL]))
    status, answer = await post(f"{server}/encode", plain, Authorization=f"Bearer {TOKEN}")
    assert status == 200
    sealed = json_format.ParseDict(answer, Payloads())
    assert b"191212121212" not in sealed.SerializeToString()
    assert await CODEC.decode(list(sealed.payloads)) == [ORIGINAL]


async def test_a_malformed_body_is_a_clear_400(server: str) -> None:
    status, answer = await post(f"{server}/decode", "not json", Authorization=f"Bearer {TOKEN}")
    assert status == 400 and "payloads" in str(answer["error"])


async def test_browsers_may_call_it_from_the_web_ui_only(server: str) -> None:
    async with aiohttp.ClientSession() as session:
        for origin, allowed in ((UI, True), ("http://evil.example", False)):
            async with session.options(
                f"{server}/decode",
                headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            ) as preflight:
                granted = preflight.headers.get("Access-Control-Allow-Origin")
                assert (granted == origin) is allowed
        async with session.get(f"{server}/decode") as get:
            assert get.status == 405


async def test_a_development_ui_may_carry_the_token_in_its_path(development_server: str) -> None:
    status, answer = await post(f"{development_server}/t/{TOKEN}/decode", await sealed_body())
    assert status == 200
    assert list(json_format.ParseDict(answer, Payloads()).payloads) == [ORIGINAL]
    status, _ = await post(f"{development_server}/t/wrong-token-000000/decode", await sealed_body())
    assert status == 401


async def test_a_short_or_missing_token_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="16 or more characters"):
        create_app(CODEC, tokens=["short"], origins=[UI])
    with pytest.raises(ValueError, match="at least one token"):
        create_app(CODEC, tokens=[], origins=[UI])
