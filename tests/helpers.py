"""Small helpers the workflow tests share: submit like the CLI does, wait for a state."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

from aiohttp import web
from aiosmtpd.smtp import SMTP as SMTPServer, Envelope, Session
from temporalio.client import Client, WorkflowHandle

from contract.actions import ApproveReleaseInput, RecordManualDeliveryInput
from contract.case import CaseResult, CaseState, CaseStatus
from contract.intake import RequestDetails, SubmitRequestInput, SubmitRequestResult
from contract.vocabulary import Channel, IdentityMethod, Kind
from demo.people import DEMO_SUBJECTS
from infra.config import Settings
from infra.outbox import FakeEidProvider
from workflows.intake import IntakeWorkflow


async def submit_access(
    client: Client,
    settings: Settings,
    subject_id: str,
    *,
    bankid: bool = False,
    channel: Channel = Channel.E_SERVICE,
    received_at: datetime | None = None,
    assignee: str | None = "anna",
    deliver_elsewhere: bool = False,
) -> SubmitRequestResult:
    """An access request; `deliver_elsewhere`: the subject wants the answer elsewhere than
    their own mailbox or registered address, so identity must be proven first."""
    return await submit(
        client,
        settings,
        subject_id,
        Kind.ACCESS,
        bankid=bankid,
        channel=channel,
        received_at=received_at,
        assignee=assignee,
        details=RequestDetails(deliver_elsewhere=deliver_elsewhere),
    )


async def awaiting_identity(
    client: Client, settings: Settings, who: str = "tolvan"
) -> WorkflowHandle[Any, Any]:
    """A letter access case assigned to anna, waiting for the subject's identity proof."""
    submitted = await submit_access(
        client,
        settings,
        DEMO_SUBJECTS[who],
        channel=Channel.LETTER,
        assignee="anna",
        deliver_elsewhere=True,
    )
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_IDENTITY)
    return handle


async def release_and_hand_over(handle: WorkflowHandle[Any, Any], handler: str = "anna") -> Any:
    """Approve an access answer asked for elsewhere, record that a handler sent it there, and
    return the case's result."""
    await handle.execute_update("approve_release", ApproveReleaseInput(handler=handler))
    await wait_for_state(handle, CaseState.AWAITING_MANUAL_DELIVERY)
    await handle.execute_update(
        "record_manual_delivery",
        RecordManualDeliveryInput(handler=handler, note="Skickat dit den registrerade bad om"),
    )
    return await handle.result()


async def submit(
    client: Client,
    settings: Settings,
    subject_id: str,
    kind: Kind,
    *,
    bankid: bool = False,
    channel: Channel = Channel.E_SERVICE,
    received_at: datetime | None = None,
    assignee: str | None = "anna",
    details: RequestDetails | None = None,
) -> SubmitRequestResult:
    """Submit like the CLI does; `bankid` plays the person signing in the e-service."""
    order_ref = FakeEidProvider(settings.eid_dir).sign(subject_id) if bankid else None
    return await client.execute_workflow(
        IntakeWorkflow.run,
        SubmitRequestInput(
            kind=kind,
            subject_id=subject_id,
            received_at=received_at or datetime.now(UTC),
            channel=channel,
            verified_by=IdentityMethod.BANKID if bankid else None,
            eid_order_ref=order_ref,
            assignee=assignee,
            details=details or RequestDetails(),
        ),
        id=f"intake-{uuid.uuid4()}",
        task_queue=settings.task_queue,
    )


async def status_of(handle: WorkflowHandle[object, object]) -> CaseStatus:
    return await handle.query("status", result_type=CaseStatus)


async def wait_for_state(
    handle: WorkflowHandle[object, object], state: CaseState, *, timeout: float = 30.0
) -> CaseStatus:
    async def poll() -> CaseStatus:
        while True:
            current = await status_of(handle)
            if current.state is state:
                return current
            await asyncio.sleep(0.1)

    return await asyncio.wait_for(poll(), timeout)


HISTORIES = Path(__file__).resolve().parent / "histories"


async def record_history(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """With DSR_RECORD_HISTORIES=1, save the finished case's history for the replay test.

    Recordings go to `tests/histories/new/`, never over a committed history: after a deliberate
    workflow change (with `workflow.patched`), move the ones that show it next to the old ones
    under a new name (`..._with_<change>.json`); old histories must keep replaying.
    """
    if os.environ.get("DSR_RECORD_HISTORIES") != "1":
        return
    history = await handle.fetch_history()
    staged = HISTORIES / "new"
    staged.mkdir(parents=True, exist_ok=True)
    (staged / f"{name}.json").write_text(history.to_json())


class Mailbox:
    """A real SMTP server on a free local port that keeps what it receives, and refuses mail
    to the addresses in `unknown` as a real server refuses an unknown user (550)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.unknown: set[str] = set()

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.unknown:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(
            cast(EmailMessage, message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"


STARTER = Path(__file__).resolve().parent.parent / "starter.py"


def engine_env(client: Client, settings: Settings) -> dict[str, str]:
    """The environment of a process of the engine's own (a worker, a migration) for `settings`."""
    return {
        **os.environ,
        "DSR_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "DSR_TASK_QUEUE": settings.task_queue,
        "DSR_VAR_DIR": str(settings.var_dir),
        "DSR_DOCUMENT_ARCHIVE_URL": settings.document_archive_url,
        "DSR_REGISTER_URL": settings.register_url,
        "DSR_SUBJECT_REFERENCE_SECRET": settings.reference_secret,
        "DSR_ROSTER": str(settings.roster),
    }


class Tool:
    """A command run as a process of its own: its exit code, standard output and error."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.argv = argv
        self.env = env

    async def run(self, *args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            *self.argv,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
        )
        out, err = await process.communicate()
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    async def json(self, *args: str) -> dict[str, Any]:
        code, out, err = await self.run(*args, "--json")
        assert code == 0, err
        lines = out.strip().splitlines()
        assert len(lines) == 1, f"one JSON object expected, got: {out!r}"
        answer: dict[str, Any] = json.loads(lines[0])
        return answer


class Operator(Tool):
    """`python -m infra.migrate`, as an operator runs it with the engine's settings."""

    def __init__(self, client: Client, settings: Settings) -> None:
        super().__init__([sys.executable, "-m", "infra.migrate"], engine_env(client, settings))


class Cli(Tool):
    """`starter.py` as a person runs it: against the case service at `service_url`, signed in
    with the sign-in kept under `home` (tests.serving.Desk.login signs them in). It knows
    nothing of Temporal or the databases."""

    def __init__(self, service_url: str, home: Path) -> None:
        engine = {key for key in os.environ if key.startswith("DSR_")}
        env = {key: value for key, value in os.environ.items() if key not in engine}
        super().__init__(
            [sys.executable, str(STARTER)],
            {**env, "DSR_SERVICE_URL": service_url, "XDG_CONFIG_HOME": str(home)},
        )

    async def wait_for(self, case: str, state: str) -> dict[str, Any]:
        for _ in range(100):
            current = await self.json("status", case)
            if current["state"] == state:
                return current
            await asyncio.sleep(0.2)
        raise AssertionError(f"{case} never reached {state}")


def free_port() -> int:
    """A local TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """An aiohttp application (the codec server) on a free loopback port; its URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
