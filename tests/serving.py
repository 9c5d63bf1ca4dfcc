"""The case service running for real in a test: uvicorn on a loopback port, trusting the local
identity provider (Node's oidc-provider); and people at the command line, each signed in once
a session by `dsr login` (the device flow, the person's part through the provider's forms)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr
from temporalio.client import Client

from contract.case import CaseState
from infra.config import Settings
from infra.idp import LocalIdentityProvider, command_line_sign_in, demo_password, submit_form
from service.app import create_app
from tests.helpers import Cli


@dataclass
class RunningService:
    url: str
    settings: Settings
    idp: LocalIdentityProvider

    def api(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=f"{self.url}/api/v1", headers=headers, timeout=60)


@contextlib.asynccontextmanager
async def running_service(
    client: Client, settings: Settings, idp: LocalIdentityProvider, port: int = 0
) -> AsyncIterator[RunningService]:
    """The service on a loopback port (a free one unless given), trusting `idp`, until the
    block ends."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    port = listener.getsockname()[1]
    # The console signs people in only on the port the provider knows (the session's).
    settings = settings.model_copy(
        update={
            "oidc_issuer": idp.issuer,
            "console_url": f"http://127.0.0.1:{port}",
            "oidc_console_client_secret": SecretStr(idp.console_secret),
        }
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, temporal=client), log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        assert not task.done(), "the service did not start"
        await asyncio.sleep(0.05)
    try:
        yield RunningService(f"http://127.0.0.1:{port}", settings, idp)
    finally:
        server.should_exit = True
        await task
        listener.close()


async def cli_login(cli: Cli, login: str) -> str:
    """Run `dsr login` as `cli`, and do the person's part in the browser when it shows the
    code; what the command printed."""
    said = await asyncio.to_thread(command_line_sign_in, cli.env, login)
    return "\n".join(said)


@dataclass
class SignIns:
    """Who has signed in this session, each in a config directory of their own. The service
    of every test listens on `port`, so a sign-in holds for the session, as a person's holds
    for their working day."""

    home: Path
    port: int
    done: set[str] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class Desk:
    """The running service, and the people at the command line in front of it."""

    service: RunningService
    sign_ins: SignIns

    async def login(self, login: str) -> Cli:
        """`login` at the command line, signed in (the first time by `dsr login`)."""
        cli = Cli(self.service.url, self.sign_ins.home / login)
        async with self.sign_ins.lock:
            if login not in self.sign_ins.done:
                said = await cli_login(cli, login)
                assert f"as {login}" in said, said
                self.sign_ins.done.add(login)
        return cli


@contextlib.asynccontextmanager
async def desk_for(
    client: Client, settings: Settings, idp: LocalIdentityProvider, sign_ins: SignIns
) -> AsyncIterator[Desk]:
    async with running_service(client, settings, idp, port=sign_ins.port) as service:
        yield Desk(service, sign_ins)


def console_sign_in(
    base: str, login: str, password: str | None = None
) -> tuple[httpx.Client, httpx.Response]:
    """Open the console, be sent to the provider, sign in there: a browser (an HTTP client
    with a cookie jar) and the page it ends on (the inbox when it worked)."""
    browser = httpx.Client(base_url=base, follow_redirects=True, timeout=20)
    page = browser.get("/")
    assert "/interaction/" in str(page.url), page.url  # the provider's login form
    page = submit_form(
        browser, page, {"login": login, "password": password or demo_password(login)}
    )
    return browser, page


async def reaches(api: httpx.AsyncClient, case: str, state: CaseState) -> dict[str, Any]:
    """The case's status (through the API) once it is in `state`; fails after 30 s."""
    deadline = time.monotonic() + 30
    while True:
        status: dict[str, Any] = (await api.get(f"/cases/{case}")).json()
        if status["state"] == state.value:
            return status
        assert time.monotonic() < deadline, f"{case} is {status['state']}, not {state.value}"
        await asyncio.sleep(0.2)


async def registered(api: httpx.AsyncClient, kind: str, subject: str, **more: Any) -> str:
    """A GDPR request registered through the API; its case number."""
    response = await api.post("/requests", json={"kind": kind, "subject": subject, **more})
    assert response.status_code == 201, response.text
    return str(response.json()["case_number"])
