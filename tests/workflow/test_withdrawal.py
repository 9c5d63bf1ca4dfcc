"""Withdrawal: a subject or requester may withdraw a request at any time. It is recorded, the
work stops, a confirmation goes out and the case closes as withdrawn; what was carried out
stays carried out, and a restriction held for the request is lifted, the subject told first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from contract.actions import ActionResult, PrepareErasurePlanInput, WithdrawInput
from contract.case import CaseResult, CaseState, Outcome
from contract.intake import RequestDetails
from contract.public_access import ConfirmDocumentsInput
from contract.vocabulary import Kind, RestrictionGround
from demo.people import DEMO_SUBJECTS
from infra.config import Settings
from systems.writes import is_restricted
from tests.helpers import record_history, status_of, submit, submit_access, wait_for_state
from tests.serving import Desk
from tests.support.requests import in_system, request_meter_letters

pytestmark = pytest.mark.asyncio(loop_scope="session")


def mailbox_body(settings: Settings, message_id: str) -> str:
    message = settings.outbox_dir / "digital-mailbox" / message_id / "message.json"
    return str(json.loads(message.read_text())["body"])


async def withdrawn(handle: WorkflowHandle[Any, Any], **kwargs: Any) -> CaseResult:
    await handle.execute_update(
        "withdraw", WithdrawInput(handler="anna", **kwargs), result_type=ActionResult
    )
    result: CaseResult = await handle.result()
    return result


async def test_an_access_request_withdrawn_in_review_is_never_delivered(
    client: Client, worker: Settings, desk: Desk
) -> None:
    submitted = await submit_access(client, worker, DEMO_SUBJECTS["tolvan"], bankid=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    result = await withdrawn(handle, note="Ringde och återkallade")
    assert result.outcome is Outcome.WITHDRAWN and result.delivery is None
    await record_history(handle, "access_withdrawn")
    number = submitted.case_number
    assert not (worker.outbox_dir / "digital-mailbox" / number).exists(), "no extract went"
    body = mailbox_body(worker, f"{number}-withdrawn")
    assert "återkallade din begäran" in body and "Inget hade ännu genomförts" in body
    final = await status_of(handle)
    assert [s.action for s in final.steps][-2:] == ["withdraw", "withdrawal_confirmed"]
    # Once closed, nothing more: a second withdrawal is refused with one line.
    code, out, err = await (await desk.login("anna")).run("withdraw", number)
    assert code == 1 and out == ""
    assert err == f"error: case {number} is closed; no action can be taken on it\n"


async def test_a_withdrawn_restriction_is_lifted_after_the_subject_is_told(
    client: Client, writable: Settings
) -> None:
    subject = DEMO_SUBJECTS["coordination"]
    submitted = await submit(
        client,
        writable,
        subject,
        Kind.RESTRICTION,
        bankid=True,
        details=RequestDetails(restriction_ground=RestrictionGround.NEEDED_FOR_LEGAL_CLAIMS),
    )
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.RESTRICTED)
    assert await in_system(writable, "billing", is_restricted, subject)
    result = await withdrawn(handle)
    assert result.outcome is Outcome.WITHDRAWN
    for system in ("billing", "network"):
        assert not await in_system(writable, system, is_restricted, subject), system
    body = mailbox_body(writable, f"{submitted.case_number}-withdrawn")
    assert "hävs nu" in body and "18.3" in body
    steps = [s.state for s in (await status_of(handle)).steps]
    # The subject is told (sending_notice) before the flags come off, then it closes.
    assert steps[-2:] == [CaseState.SENDING_NOTICE, CaseState.CLOSED]
    await record_history(handle, "restriction_withdrawn")


async def test_an_erasure_withdrawn_before_approval_erases_nothing(
    client: Client, writable: Settings
) -> None:
    subject = DEMO_SUBJECTS["tolvan"]
    submitted = await submit(client, writable, subject, Kind.ERASURE, bankid=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_DECISION)
    await handle.execute_update("prepare_erasure_plan", PrepareErasurePlanInput(handler="anna"))
    await wait_for_state(handle, CaseState.AWAITING_APPROVAL)
    result = await withdrawn(handle)
    assert result.outcome is Outcome.WITHDRAWN
    final = await status_of(handle)
    assert not any(key.startswith("erasure:") for key in final.applied), "nothing was erased"
    follow_up = client.get_workflow_handle(f"{submitted.case_number}-retention")
    with pytest.raises(Exception, match="not found"):
        await follow_up.describe()


async def test_a_request_for_documents_withdrawn_in_review_is_confirmed_to_the_requester(
    client: Client, worker: Settings
) -> None:
    handle, located = await request_meter_letters(client, worker)
    assert located.public is not None
    document = located.public.candidates[0].document_id
    await handle.execute_update(
        "confirm_documents", ConfirmDocumentsInput(handler="anna", document_ids=[document])
    )
    await wait_for_state(handle, CaseState.SECRECY_REVIEW)
    result = await withdrawn(handle)
    assert result.outcome is Outcome.WITHDRAWN
    folder = worker.outbox_dir / "email" / f"{handle.id}-withdrawn"
    files = {p.name: p.read_text() for p in Path(folder).iterdir()}
    assert "återkallade din begäran" in files["aterkallelse.html"]
    assert not (worker.outbox_dir / "email" / f"{handle.id}-copies").exists()


async def test_a_withdrawal_is_checked_before_anything_changes(
    client: Client, worker: Settings, desk: Desk
) -> None:
    submitted = await submit_access(client, worker, DEMO_SUBJECTS["joint_b"], bankid=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    cli, dpo = await desk.login("anna"), await desk.login("dataskyddsombud")
    code, _, err = await cli.run("withdraw", submitted.case_number, "--received", "2999-01-01")
    assert code == 1 and "--received: that day has not come yet" in err
    code, _, err = await dpo.run("withdraw", submitted.case_number)
    assert code == 1 and "dataskyddsombud is the data protection officer" in err
    with pytest.raises(WorkflowUpdateFailedError) as unknown:
        await handle.execute_update("withdraw", WithdrawInput(handler="nobody.here"))
    assert "not in the staff roster" in str(unknown.value.cause)
    assert (await status_of(handle)).state is CaseState.AWAITING_REVIEW, "nothing changed"
    answer = await cli.json("withdraw", submitted.case_number)
    assert answer["state"] == "closed"
    assert (await status_of(handle)).outcome is Outcome.WITHDRAWN
