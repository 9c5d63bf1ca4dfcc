"""The open-cases benchmark against the case service: the service over the bench's stack, the
command line signed in to it, and its API's and console's answers timed over the backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.measure import COMMAND_TIMEOUT_S
from bench.throwaway import HANDLERS, ROOT, TEAM_LEADS, BenchStack, free_port, wait_for_port
from infra.idp import (
    IdentityProviderError,
    LocalIdentityProvider,
    command_line_sign_in,
    demo_password,
    device_sign_in,
    start_identity_provider,
    submit_form,
)
from infra.roster import load_roster

# From the roster the stack runs with: the cases go to its first three handlers
# (bench/backlog.py), and are reassigned to the next one; who signs in, at the command line
# and to the API, is a team lead (reassigns others' cases).
REASSIGNED_TO = HANDLERS[3]
SIGNED_IN = TEAM_LEADS[0]
API_ACTIONS = 100
API_READS = 60
PAGE_VIEWS = 40


@dataclass(frozen=True)
class CaseService:
    """The case service over the bench's stack, and the identity provider it trusts."""

    url: str
    provider: LocalIdentityProvider


@contextlib.asynccontextmanager
async def case_service(stack: BenchStack) -> AsyncIterator[CaseService]:
    """`python -m service` over this stack (the worker's environment, a free port, no rate
    limit), trusting a local identity provider with the roster's staff, until the block ends."""
    staff = list(load_roster(stack.settings.roster).staff)
    port = free_port()
    console = f"http://127.0.0.1:{port}"
    provider = start_identity_provider(staff, console_redirects=[f"{console}/auth/callback"])
    env = {
        **stack.env,
        "DSR_SERVICE_ADDRESS": f"127.0.0.1:{port}",
        "DSR_OIDC_ISSUER": provider.issuer,
        "DSR_OIDC_CONSOLE_CLIENT_SECRET": provider.console_secret,
        "DSR_CONSOLE_URL": console,
        "DSR_SERVICE_RATE_LIMIT": "1000000/minute",
    }
    service = subprocess.Popen(
        [sys.executable, "-m", "service"],
        env=env,
        cwd=ROOT,
        stdout=(stack.root / "service.log").open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        await wait_for_port(port, "the case service")
        yield CaseService(f"http://127.0.0.1:{port}", provider)
    finally:
        service.terminate()
        service.wait(timeout=30)
        provider.stop()


def cli_env(service: CaseService, home: Path) -> dict[str, str]:
    """The CLI's environment as a handler has it: the service's address and where their
    sign-in is kept, nothing of the engine's."""
    kept = {key: value for key, value in os.environ.items() if not key.startswith("DSR_")}
    return {**kept, "DSR_SERVICE_URL": service.url, "XDG_CONFIG_HOME": str(home)}


async def cli_sign_in(env: dict[str, str], login: str) -> None:
    """`starter.py login` as `login`: the device flow, the person's part in the provider's
    pages done as they would (infra.idp.command_line_sign_in)."""
    try:
        await asyncio.to_thread(command_line_sign_in, env, login, None, COMMAND_TIMEOUT_S)
    except IdentityProviderError as error:
        raise SystemExit(str(error)) from None


async def timed_api(service: CaseService, cases: list[str], overdue: int) -> dict[str, Any]:
    """The case service's API, signed in as a team lead: reassigning cases (an update each),
    the overdue list and a case's status, each call timed from the client."""
    token = await asyncio.to_thread(device_sign_in, service.provider.issuer, SIGNED_IN)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=f"{service.url}/api/v1", headers=headers, timeout=60
    ) as api:

        async def timed(method: str, url: str, **kwargs: Any) -> tuple[float, httpx.Response]:
            began = time.perf_counter()
            response = await api.request(method, url, **kwargs)
            elapsed = time.perf_counter() - began
            if response.status_code != 200:
                raise SystemExit(f"{method} {url}: {response.status_code} {response.text}")
            return elapsed, response

        await timed("GET", "/me")
        actions = [
            (await timed("POST", f"/cases/{case}/reassign", json={"to": REASSIGNED_TO}))[0]
            for case in cases[:API_ACTIONS]
        ]
        lists = []
        listed = 0
        for _ in range(API_READS // 2):
            elapsed, response = await timed("GET", "/cases", params={"overdue": "true"})
            lists.append(elapsed)
            listed = len(response.json()["cases"])
        reads = [
            (await timed("GET", f"/cases/{case}"))[0]
            for case in cases[API_ACTIONS : API_ACTIONS + API_READS]
        ]
    return {
        "action_seconds": [round(s, 4) for s in actions],
        "overdue_list_seconds": [round(s, 4) for s in lists],
        "status_seconds": [round(s, 4) for s in reads],
        "overdue_listed": listed,
        "overdue_expected": overdue,
    }


def timed_pages(service: CaseService, cases: list[str]) -> dict[str, Any]:
    """The console in a browser's place (an HTTP client with a cookie jar, signed in through
    the provider's own form): the inbox as the team lead opens it (their cases and the
    unassigned, sorted by deadline, the first page), filtered to the overdue, and case pages,
    each page timed from the request to its last byte."""
    with httpx.Client(base_url=service.url, follow_redirects=True, timeout=60) as browser:
        login = browser.get("/")
        inbox = submit_form(
            browser, login, {"login": SIGNED_IN, "password": demo_password(SIGNED_IN)}
        )
        if inbox.status_code != 200 or "Mina ärenden" not in inbox.text:
            raise SystemExit(f"the console did not sign {SIGNED_IN} in: {inbox.status_code}")

        def timed(url: str, **params: str) -> tuple[float, httpx.Response]:
            began = time.perf_counter()
            response = browser.get(url, params=params)
            elapsed = time.perf_counter() - began
            if response.status_code != 200:
                raise SystemExit(f"GET {url}: {response.status_code} {response.text[:300]}")
            return elapsed, response

        inboxes = [timed("/")[0] for _ in range(PAGE_VIEWS)]
        overdue = [timed("/", vy="alla", frist="forsenade")[0] for _ in range(PAGE_VIEWS // 2)]
        first = timed("/")[1].text
        rows = first.count('<th scope="row">')
        found = re.search(r"<strong>(\d+)</strong> öppna? ärenden?", first)
        total = int(found.group(1)) if found else 0
        case_pages = [timed(f"/arenden/{case}")[0] for case in cases[-PAGE_VIEWS:]]
    return {
        "inbox_seconds": [round(s, 4) for s in inboxes],
        "inbox_overdue_seconds": [round(s, 4) for s in overdue],
        "case_page_seconds": [round(s, 4) for s in case_pages],
        "inbox_rows": rows,
        "inbox_total": total,
    }
