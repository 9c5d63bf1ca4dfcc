"""Tokens from the local identity provider for the tests: a person's by the device flow
(infra.idp.device_sign_in, the person's part through the provider's own HTML forms), and the
customer e-service's by client credentials."""

from __future__ import annotations

import asyncio

import httpx

from infra.idp import ESERVICE_CLIENT, LocalIdentityProvider, device_sign_in


async def device_login(idp: LocalIdentityProvider, login: str, password: str | None = None) -> str:
    return await asyncio.to_thread(device_sign_in, idp.issuer, login, password)


async def eservice_token(idp: LocalIdentityProvider) -> str:
    async with httpx.AsyncClient() as http:
        metadata = (await http.get(f"{idp.issuer}/.well-known/openid-configuration")).json()
        answer = await http.post(
            metadata["token_endpoint"],
            data={"grant_type": "client_credentials", "scope": "api"},
            auth=(ESERVICE_CLIENT, idp.eservice_secret),
        )
    answer.raise_for_status()
    return str(answer.json()["access_token"])
