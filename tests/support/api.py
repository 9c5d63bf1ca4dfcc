"""Calls on the case service's API that tests share: a case's status awaited, a refusal read as
problem details (RFC 9457)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from contract.case import CaseState

PROBLEM = "application/problem+json"


async def state_of(api: httpx.AsyncClient, case: str) -> dict[str, Any]:
    response = await api.get(f"/cases/{case}")
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()
    return status


async def wait_for(api: httpx.AsyncClient, case: str, state: CaseState) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        status = await state_of(api, case)
        if status["state"] == state.value:
            return status
        assert time.monotonic() < deadline, f"{case} is {status['state']}, not {state.value}"
        await asyncio.sleep(0.2)


def problem(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"]
    return str(body["detail"])
