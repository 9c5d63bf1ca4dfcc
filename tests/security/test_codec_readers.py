"""Point 5 of the boundary: the codec server decodes a case's payloads for a person signed in
at the organisation's identity provider (the token a signed-in Web UI passes on), only for the
roles that see personal data, and records in the case's trail who had it decoded. In
production `/encode` is off. The codec server as `python codec_server.py` builds it, over a
real case's history, the local identity provider and the case register."""

from __future__ import annotations

import aiohttp
import pytest
import sqlalchemy as sa
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.client import Client

from codec_server import build
from infra.config import Settings
from infra.db import CaseEvent
from infra.idp import LocalIdentityProvider
from tests.databases import sync_url
from tests.helpers import awaiting_identity, serving
from tests.oidc import device_login

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def post(url: str, body: str, token: str | None = None) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        return response.status, await response.json()


def decoders(settings: Settings, case: str) -> list[str]:
    engine = sa.create_engine(sync_url(settings.register_database_url))
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(CaseEvent.actor).where(
                        CaseEvent.case_number == case, CaseEvent.action == "read:payloads"
                    )
                ).scalars()
            )
    finally:
        engine.dispose()


async def test_a_person_with_a_reading_role_decodes_and_the_trail_says_who(
    client: Client, worker: Settings, idp: LocalIdentityProvider
) -> None:
    handle = await awaiting_identity(client, worker)
    started = (await handle.fetch_history()).events[0]
    sealed = started.workflow_execution_started_event_attributes.input
    body = json_format.MessageToJson(Payloads(payloads=list(sealed.payloads)))
    production = worker.model_copy(update={"oidc_issuer": idp.issuer, "environment": "production"})
    async with serving(await build(production)) as url:
        status, answer = await post(f"{url}/decode", body)
        assert status == 401 and "bearer token is required" in str(answer["error"])
        status, answer = await post(f"{url}/decode", body, "eyJhbGciOiJFUzI1NiJ9.e30.c2lnbmF0dXJl")
        assert status == 401 and "access token" in str(answer["error"])
        assert decoders(worker, handle.id) == []

        status, answer = await post(
            f"{url}/decode", body, await device_login(idp, "dataskyddsombud")
        )
        assert status == 403
        assert "may not read case data here" in str(answer["error"])
        assert "a case handler or a team lead" in str(answer["error"])
        assert decoders(worker, handle.id) == []

        status, answer = await post(f"{url}/decode", body, await device_login(idp, "anna"))
        assert status == 200, answer
        opened = json_format.ParseDict(answer, Payloads())
        assert b"binary/encrypted" not in opened.payloads[0].metadata.get("encoding", b"")
        assert decoders(worker, handle.id) == ["anna"]

        token = worker.codec_token_values[0]
        status, answer = await post(f"{url}/encode", body, token)
        assert status == 403 and "/encode is off in production" in str(answer["error"])
