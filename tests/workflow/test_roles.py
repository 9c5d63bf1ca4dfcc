"""Roles from the staff roster: each action is taken only by someone whose role allows it,
judged by the roster as it stands when they act. Real server, real worker, a roster file of
the test's own that it edits while cases run."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from app.worker_setup import build_activities, create_worker
from contract.actions import RefuseInput, VerifyIdentityInput
from contract.case import CaseState, Outcome, ReassignInput
from contract.vocabulary import IdentityMethod
from infra.config import Settings
from infra.idp import LocalIdentityProvider, start_identity_provider
from infra.roster import load_roster
from tests.helpers import awaiting_identity, free_port, status_of
from tests.serving import SignIns, desk_for

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROSTER = Path(__file__).resolve().parents[2] / "config" / "roster.yaml"


@pytest_asyncio.fixture(loop_scope="session")
async def staffed(client: Client, settings: Settings, tmp_path: Path) -> AsyncIterator[Settings]:
    """A worker whose roster is a copy the test may change."""
    roster = tmp_path / "roster.yaml"
    shutil.copy(ROSTER, roster)
    custom = settings.model_copy(update={"roster": roster})
    async with build_activities(custom) as activities:
        async with create_worker(client, custom, activities):
            yield custom


@pytest.fixture
def newcomer_idp() -> Iterator[LocalIdentityProvider]:
    """The organisation's identity provider, which knows Dora before the roster does."""
    staff = list(load_roster(ROSTER).staff)
    provider = start_identity_provider(
        [*staff, "dora"], console_redirects=["http://127.0.0.1:8300/auth/callback"]
    )
    yield provider
    provider.stop()


async def refused(
    handle: WorkflowHandle[Any, Any], update: str, action: object, *, by_copy: bool = True
) -> str:
    """The update is refused for the actor's role: by the validator, judging by the roster
    the case read last (`by_copy`), or by the handler, reading it anew."""
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(update, action)
    cause = failed.value.cause
    expected = "NotPermittedByCopy" if by_copy else "NotPermitted"
    assert getattr(cause, "type", None) == expected, cause
    return str(cause)


def verify(handler: str) -> VerifyIdentityInput:
    return VerifyIdentityInput(method=IdentityMethod.ID_CHECKED, handler=handler)


def edit_roster(settings: Settings, old: str, new: str) -> None:
    text = settings.roster.read_text(encoding="utf-8")
    assert old in text
    settings.roster.write_text(text.replace(old, new), encoding="utf-8")


async def test_each_action_takes_the_role_the_roster_gives(
    client: Client, staffed: Settings
) -> None:
    handle = await awaiting_identity(client, staffed)
    before = await status_of(handle)

    assert "okand is not in the staff roster" in await refused(
        handle, "verify_identity", verify("okand")
    )
    dpo = await refused(handle, "verify_identity", verify("dataskyddsombud"))
    assert "data protection officer" in dpo and "may not verify identity" in dpo
    # A refusal (Art. 12(5)) is a formal decision: a handler may not take it.
    why = await refused(handle, "refuse", RefuseInput(handler="anna", reason="Orimlig."))
    assert "decision maker with delegation for GDPR refusals; anna is a case handler" in why

    # The assignee hands the case on; another handler may not, a team lead may.
    assert "reassign another handler's case" in await refused(
        handle, "reassign", ReassignInput(handler="arkiv.eva", to="bo")
    )
    assert "may not be assigned a case" in await refused(
        handle, "reassign", ReassignInput(handler="anna", to="dataskyddsombud")
    )
    assert "nobody is not in the staff roster" in await refused(
        handle, "reassign", ReassignInput(handler="anna", to="nobody")
    )
    after = await status_of(handle)
    assert (after.state, after.assignee, after.identity) == (before.state, "anna", None)
    assert after.steps == before.steps

    await handle.execute_update("reassign", ReassignInput(handler="anna", to="arkiv.eva"))
    await refused(handle, "reassign", ReassignInput(handler="anna", to="anna"))
    await handle.execute_update("reassign", ReassignInput(handler="bo", to="anna"))
    assert (await status_of(handle)).assignee == "anna"

    await handle.execute_update(
        "refuse", RefuseInput(handler="chef.jurist", reason="Femte begäran denna vecka.")
    )
    result = await handle.result()
    assert result.outcome is Outcome.REFUSED


async def test_a_role_taken_away_is_void_at_once_and_one_given_counts_at_once(
    client: Client, staffed: Settings, newcomer_idp: LocalIdentityProvider, tmp_path: Path
) -> None:
    handle = await awaiting_identity(client, staffed)
    # Anna leaves after the case read the roster: its copy still has her, the roster does not.
    edit_roster(staffed, "  anna:\n    roles: [handler]\n", "")
    why = await refused(handle, "verify_identity", verify("anna"), by_copy=False)
    assert "anna is not in the staff roster" in why and "nothing was done" in why
    status = await status_of(handle)
    assert status.state is CaseState.AWAITING_IDENTITY and status.identity is None

    # Dora joins after the case last read the roster, and signs in. The case service has the
    # case read it again when refused, and tries once more: one command is enough.
    edit_roster(staffed, "staff:\n", "staff:\n  dora:\n    roles: [handler]\n")
    sign_ins = SignIns(home=tmp_path / "sign-ins", port=free_port())
    async with desk_for(client, staffed, newcomer_idp, sign_ins) as desk:
        dora = await desk.login("dora")
        assert (await dora.json("whoami")) == {"login": "dora", "roles": ["handler"]}
        moved = await dora.json("verify-identity", handle.id, "--method", "id_checked")
    assert moved["state"] != CaseState.AWAITING_IDENTITY.value
    status = await status_of(handle)
    assert status.identity is not None and status.identity.verified_by == "dora"
    assert any(step.actor == "dora" for step in status.steps)
    asked = [
        event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        async for event in handle.fetch_history_events()
        if event.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    # Anna's refusal by the roster itself; then the validator's copy refused Dora (nothing in
    # history), the service had the case read the roster, and retried.
    assert asked == ["verify_identity", "refresh_roster", "verify_identity"]


async def test_an_unreadable_roster_refuses_every_action_and_changes_nothing(
    client: Client, staffed: Settings
) -> None:
    handle = await awaiting_identity(client, staffed)
    good = staffed.roster.read_text(encoding="utf-8")
    staffed.roster.write_text("staff: [anna\n", encoding="utf-8")
    why = await refused(handle, "verify_identity", verify("anna"), by_copy=False)
    assert "the staff roster cannot be read (roster.yaml: cannot be read" in why
    assert (await status_of(handle)).state is CaseState.AWAITING_IDENTITY

    staffed.roster.write_text(good, encoding="utf-8")
    await handle.execute_update("verify_identity", verify("anna"))
    assert (await status_of(handle)).identity is not None
    await handle.terminate("test over")
