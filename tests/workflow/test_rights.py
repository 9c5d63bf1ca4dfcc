"""Rectification, restriction, objection and refusal end to end: real server, real databases.

Each test seeds its own copy of the demo systems, since these workflows write to them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from contract.actions import (
    ApproveReleaseInput,
    DecideRectificationInput,
    LiftRestrictionInput,
    RecordRestrictionGroundInput,
    RefuseInput,
)
from contract.case import CaseResult, CaseState, Outcome
from contract.intake import FieldChange, RequestDetails, SubmitRequestResult
from contract.vocabulary import Kind, RectifiableField, RectificationDecision, RestrictionGround
from demo.people import DEMO_SUBJECTS
from demo.systems import select_campaign_audience
from infra.config import Settings
from infra.db import create_engine
from systems.recipients import subject_recipients
from systems.writes import fields_held, is_restricted
from tests.databases import sync_url
from tests.helpers import record_history, status_of, submit, wait_for_state
from tests.support.requests import in_system

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOLVAN = DEMO_SUBJECTS["tolvan"]


async def audience(settings: Settings) -> list[str]:
    engine = create_engine(settings.system_url("marketing"), own_database=False)
    try:
        return list(await select_campaign_audience(engine))
    finally:
        await engine.dispose()


def fibre_providers(settings: Settings, subject_id: str) -> set[str]:
    """The providers the subject buys fibre services from, read straight from the database."""
    engine = sa.create_engine(sync_url(settings.system_url("network")))
    query = sa.text(
        "SELECT DISTINCT s.service_provider FROM fibre_service_subscriptions s "
        "JOIN fibre_connections c ON c.connection_id = s.connection_id "
        "JOIN network_customers n ON n.network_customer_id = c.network_customer_id "
        "WHERE n.personal_number = :subject"
    )
    try:
        with engine.connect() as conn:
            return set(conn.execute(query, {"subject": subject_id}).scalars())
    finally:
        engine.dispose()


def outbox(settings: Settings, *parts: str) -> Path:
    return settings.outbox_dir.joinpath(*parts)


def mailbox_body(settings: Settings, message_id: str) -> str:
    message = json.loads(
        (outbox(settings, "digital-mailbox", message_id, "message.json")).read_text()
    )
    return str(message["body"])


async def test_objection_suppresses_marketing_at_once_and_tells_each_provider(
    client: Client, writable: Settings
) -> None:
    before = await audience(writable)
    providers = (await in_system(writable, "marketing", subject_recipients, TOLVAN)).named
    assert before and providers, "the demo has tolvan in the campaign audience and providers"

    submitted = await submit(client, writable, TOLVAN, Kind.OBJECTION, assignee=None)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    result = await handle.result()  # no handler step: it runs to the end by itself
    assert result.outcome is Outcome.COMPLETED

    after = await audience(writable)
    assert len(after) < len(before), "the objecting subject left the campaign audience"
    notices = sorted(
        p.name for p in outbox(writable, "recipients", submitted.case_number).iterdir()
    )
    assert len(notices) == len(set(providers)), "one notice per provider that received data"
    body = mailbox_body(writable, f"{submitted.case_number}-objection_confirmed")
    assert "direktmarknadsföring" in body and "avbrott" in body

    status = await status_of(handle)
    assert status.recipients_notified == sorted(set(providers))
    await record_history(handle, "objection")


async def test_an_objection_cannot_be_refused(client: Client, writable: Settings) -> None:
    submitted = await submit(client, writable, TOLVAN, Kind.OBJECTION)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("refuse", RefuseInput(handler="anna", reason="Orimlig."))
    assert "cannot be refused" in str(refused.value.cause)
    assert (await handle.result()).outcome is Outcome.COMPLETED


async def test_restriction_holds_until_lifted_and_the_subject_is_told_first(
    client: Client, writable: Settings
) -> None:
    assert len(await audience(writable)) > 0
    before = await audience(writable)
    submitted = await submit(
        client,
        writable,
        TOLVAN,
        Kind.RESTRICTION,
        bankid=True,
        details=RequestDetails(restriction_ground=RestrictionGround.NEEDED_FOR_LEGAL_CLAIMS),
    )
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    restricted = await wait_for_state(handle, CaseState.RESTRICTED)
    assert restricted.restriction_ground is RestrictionGround.NEEDED_FOR_LEGAL_CLAIMS
    # Answered: the subject was told it applies. It may stay open for months, never overdue.
    assert restricted.next_escalation is None
    for system in ("billing", "network", "marketing"):
        assert await in_system(writable, system, is_restricted, TOLVAN), system
    assert len(await audience(writable)) < len(before), "restricted: out of the campaign audience"
    assert "Skäl till begränsningen" in mailbox_body(
        writable, f"{submitted.case_number}-restriction_applied"
    )

    with pytest.raises(WorkflowUpdateFailedError):  # not an update a restriction case has
        await handle.execute_update(
            "decide_rectification",
            DecideRectificationInput(handler="anna", decision=RectificationDecision.ACCEPT),
        )
    await handle.execute_update(
        "lift_restriction", LiftRestrictionInput(handler="anna", reason="Tvisten är avgjord.")
    )
    assert (await handle.result()).outcome is Outcome.LIFTED
    for system in ("billing", "network", "marketing"):
        assert not await in_system(writable, system, is_restricted, TOLVAN), system
    assert await audience(writable) == before
    steps = [(s.state, s.action) for s in (await status_of(handle)).steps]
    told = steps.index((CaseState.SENDING_NOTICE, "lift_restriction"))
    lifted = steps.index((CaseState.LIFTING_RESTRICTION, "subject_told"))
    assert told < lifted, "the subject is told before the restriction is lifted"
    await record_history(handle, "restriction_lifted")
    assert "Tvisten är avgjord" in mailbox_body(
        writable, f"{submitted.case_number}-restriction_lifting"
    )
    # Art. 19: every recipient of restricted data is told of the restriction and of its end.
    told: set[str] = set()
    for system in ("billing", "network", "marketing", "disclosure"):
        told |= set((await in_system(writable, system, subject_recipients, TOLVAN)).named)
    recipients_dir = outbox(writable, "recipients", submitted.case_number)
    for notice in ("restriction-", "restriction_lifted-"):
        sent = {json.loads(p.read_text())["recipient"] for p in recipients_dir.glob(f"{notice}*")}
        assert told and sent == told, notice


async def test_rectification_corrects_every_system_and_tells_every_recipient(
    client: Client, writable: Settings
) -> None:
    old = {
        s: await in_system(writable, s, fields_held, TOLVAN)
        for s in ("billing", "network", "marketing")
    }
    holders = [s for s, held in old.items() if "email" in held]
    assert len(holders) >= 2, "the demo keeps the e-mail address in more than one system"
    changes = [
        FieldChange(
            field=RectifiableField.EMAIL,
            new_value="tolvan.ny@example.se",
            evidence="Kunden ringde och bekräftade.",
        ),
        FieldChange(field=RectifiableField.STREET, new_value="Nygatan 5"),
    ]
    submitted = await submit(
        client,
        writable,
        TOLVAN,
        Kind.RECTIFICATION,
        bankid=True,
        details=RequestDetails(changes=changes, restrict_while_checking=True),
    )
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    waiting = await wait_for_state(handle, CaseState.AWAITING_DECISION)
    assert waiting.requested_fields == [RectifiableField.EMAIL, RectifiableField.STREET]
    assert await in_system(writable, "billing", is_restricted, TOLVAN)

    # A partial decision must name some, not all, fields, and give a reason.
    for bad in (
        DecideRectificationInput(
            handler="anna",
            decision=RectificationDecision.PARTLY,
            accepted_fields=[RectifiableField.EMAIL],
        ),
        DecideRectificationInput(
            handler="anna",
            decision=RectificationDecision.PARTLY,
            accepted_fields=[RectifiableField.EMAIL, RectifiableField.STREET],
            reason="x",
        ),
        DecideRectificationInput(handler="anna", decision=RectificationDecision.REJECT),
    ):
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update("decide_rectification", bad)
    assert (await status_of(handle)).state is CaseState.AWAITING_DECISION

    await handle.execute_update(
        "decide_rectification",
        DecideRectificationInput(handler="anna", decision=RectificationDecision.ACCEPT),
    )
    result = await handle.result()
    assert result.outcome is Outcome.COMPLETED

    for system in holders:
        now = await in_system(writable, system, fields_held, TOLVAN)
        assert now["email"] == ["tolvan.ny@example.se"], system
    billing = await in_system(writable, "billing", fields_held, TOLVAN)
    assert billing["street"] == ["Nygatan 5"]
    for system in ("billing", "network", "marketing"):
        assert not await in_system(writable, system, is_restricted, TOLVAN), "lifted at the end"

    # Art. 19: one notice per recipient of the old values, each with just the fields it
    # received and their new values, to the address the recipients register has. Who received
    # what, from the declarations and the demo's disclosure log: an address went to the invoice
    # printer, the grid datahub and the supplier (by name, from the metering point), the fibre
    # providers and the police; the e-mail address only to the contractor, the fibre providers
    # and the marketing partner. The collection agency and the bank are categories billing
    # cannot name: the assignee is told to reach them.
    notices = {
        notice["recipient"]: notice
        for notice in (
            json.loads(path.read_text())
            for path in outbox(writable, "recipients", submitted.case_number).glob(
                "rectification-*"
            )
        )
    }
    both, address_only = ["email", "street"], ["street"]
    expected = {
        "Exempeltryck AB": address_only,
        "Mälarenergi Elhandel AB": address_only,
        "Svenska kraftnät (datahubben)": address_only,
        "Polismyndigheten": address_only,
        "Länsförsäkringar": address_only,
        "Elnätsentreprenad AB": both,
        "Nordnät Bredband AB": both,
    }
    for provider in fibre_providers(writable, TOLVAN):
        expected[provider] = both
    assert {name: n["fields"] for name, n in notices.items()} == expected
    # Ongoing recipients get the new values; the police got one release years ago and learn
    # which field was corrected, not the new address (that would be a new disclosure).
    assert "e-postadress: tolvan.ny@example.se" in notices["Nordnät Bredband AB"]["body"]
    assert "gatuadress: Nygatan 5" in notices["Mälarenergi Elhandel AB"]["body"]
    assert notices["Exempeltryck AB"]["email"] == "dataskydd@exempeltryck.example"
    assert notices["Polismyndigheten"]["address"][0] == "Polismyndigheten"
    final = await status_of(handle)
    assert final.recipients_to_notify == [
        "Banker och betaltjänstleverantörer",
        "Inkassoföretag vid obetald faktura",
    ]
    staff = outbox(writable, "staff").glob(f"{submitted.case_number}-assignee-recipients*")
    assert "Inkassoföretag vid obetald faktura" in " ".join(p.read_text() for p in staff)
    police = notices["Polismyndigheten"]["body"]
    assert "gatuadress" in police and "Nygatan 5" not in police
    await record_history(handle, "rectification_restricted_accepted")
    answer = mailbox_body(writable, f"{submitted.case_number}-rectification_answer")
    assert "Rättade uppgifter: e-postadress, gatuadress" in answer
    # The subject is told who the recipients were (Art. 19, last sentence).
    assert "Mälarenergi Elhandel AB" in answer and "Polismyndigheten" in answer
    assert "underrättar en handläggare Banker" in answer and "Inkassoföretag" in answer


async def test_a_protected_persons_new_address_never_reaches_a_recipient(
    client: Client, writable: Settings
) -> None:
    protected = DEMO_SUBJECTS["protected"]
    submitted, handle = await rectification_awaiting_decision(
        client, writable, protected, RectifiableField.STREET, "Hemliga vägen 1"
    )
    await handle.execute_update(
        "decide_rectification",
        DecideRectificationInput(handler="anna", decision=RectificationDecision.ACCEPT),
    )
    assert (await handle.result()).outcome is Outcome.COMPLETED
    assert (await in_system(writable, "billing", fields_held, protected))["street"] == [
        "Hemliga vägen 1"
    ]
    notices = list(outbox(writable, "recipients", submitted.case_number).glob("rectification-*"))
    assert notices, "the recipients are told that the address was corrected"
    for path in notices:
        notice = json.loads(path.read_text())
        assert notice["fields"] == ["street"]
        assert "Hemliga" not in notice["body"], notice["recipient"]


async def test_a_rejected_rectification_changes_nothing_and_gives_reasons(
    client: Client, writable: Settings
) -> None:
    before = await in_system(writable, "billing", fields_held, TOLVAN)
    submitted, handle = await rectification_awaiting_decision(
        client, writable, TOLVAN, RectifiableField.NAME, "Tolvan Elva"
    )
    rejection = DecideRectificationInput(
        handler="anna",
        decision=RectificationDecision.REJECT,
        reason="Namnet stämmer med folkbokföringen.",
    )
    # A refusal is a decision maker's (the delegation register), not a handler's.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("decide_rectification", rejection)
    assert "decision maker with delegation for GDPR refusals" in str(refused.value.cause)
    assert (await status_of(handle)).state is CaseState.AWAITING_DECISION
    await handle.execute_update(
        "decide_rectification", rejection.model_copy(update={"handler": "chef.jurist"})
    )
    assert (await handle.result()).outcome is Outcome.REJECTED
    assert await in_system(writable, "billing", fields_held, TOLVAN) == before
    assert not outcome_dir_has_files(outbox(writable, "recipients", submitted.case_number))
    body = mailbox_body(writable, f"{submitted.case_number}-rectification_answer")
    assert "folkbokföringen" in body and "Integritetsskyddsmyndigheten" in body


async def rectification_awaiting_decision(
    client: Client,
    settings: Settings,
    subject: str,
    field: RectifiableField,
    value: str,
    *,
    restrict: bool = False,
) -> tuple[SubmitRequestResult, WorkflowHandle[Any, CaseResult]]:
    """A BankID-signed rectification of one field, waiting for the handler's decision."""
    submitted = await submit(
        client,
        settings,
        subject,
        Kind.RECTIFICATION,
        bankid=True,
        details=RequestDetails(
            changes=[FieldChange(field=field, new_value=value)], restrict_while_checking=restrict
        ),
    )
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_DECISION)
    return submitted, handle


def outcome_dir_has_files(path: Path) -> bool:
    return path.exists() and any(path.iterdir())


async def test_refusal_needs_a_reason_tells_the_subject_and_the_dpo(
    client: Client, worker: Settings
) -> None:
    with pytest.raises(ValidationError):
        RefuseInput(handler="anna", reason="  ")
    submitted = await submit(client, worker, DEMO_SUBJECTS["joint_a"], Kind.ACCESS, bankid=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    await handle.execute_update(
        "refuse", RefuseInput(handler="chef.jurist", reason="Femte identiska begäran denna vecka.")
    )
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update("approve_release", ApproveReleaseInput(handler="bo"))
    assert (await handle.result()).outcome is Outcome.REFUSED
    await record_history(handle, "access_refused")
    body = mailbox_body(worker, f"{submitted.case_number}-refused")
    assert "Femte identiska" in body and "Integritetsskyddsmyndigheten" in body
    staff = json.loads(
        outbox(worker, "staff", f"{submitted.case_number}-dpo-refused.json").read_text()
    )
    assert submitted.case_number in staff["subject"]
    assert "joint" not in json.dumps(staff) and DEMO_SUBJECTS["joint_a"] not in json.dumps(staff)


async def test_lifting_one_case_leaves_another_cases_restriction_in_force(
    client: Client, writable: Settings
) -> None:
    disputed = await submit(
        client,
        writable,
        TOLVAN,
        Kind.RESTRICTION,
        bankid=True,
        details=RequestDetails(restriction_ground=RestrictionGround.NEEDED_FOR_LEGAL_CLAIMS),
    )
    dispute = client.get_workflow_handle(disputed.case_number, result_type=CaseResult)
    await wait_for_state(dispute, CaseState.RESTRICTED)
    checked, check = await rectification_awaiting_decision(
        client, writable, TOLVAN, RectifiableField.CITY, "Sala", restrict=True
    )
    await check.execute_update(
        "decide_rectification",
        DecideRectificationInput(
            handler="chef.jurist", decision=RectificationDecision.REJECT, reason="Orten stämmer."
        ),
    )
    assert (await check.result()).outcome is Outcome.REJECTED
    for system in ("billing", "network", "marketing"):
        assert await in_system(writable, system, is_restricted, TOLVAN), (
            f"{system}: the legal-claims restriction of {disputed.case_number} still holds"
        )
    await dispute.execute_update(
        "lift_restriction", LiftRestrictionInput(handler="anna", reason="Tvisten är avgjord.")
    )
    await dispute.result()
    for system in ("billing", "network", "marketing"):
        assert not await in_system(writable, system, is_restricted, TOLVAN), system


async def test_a_restriction_without_a_ground_asks_the_subject_instead_of_assuming_one(
    client: Client, writable: Settings
) -> None:
    subject = DEMO_SUBJECTS["coordination"]
    submitted = await submit(client, writable, subject, Kind.RESTRICTION, bankid=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    waiting = await wait_for_state(handle, CaseState.AWAITING_DECISION)
    assert waiting.restriction_ground is None
    assert not await in_system(writable, "billing", is_restricted, subject), "nothing assumed"
    asked = mailbox_body(writable, f"{submitted.case_number}-restriction_ground_requested-ground")
    assert "artikel 18.1" in asked and "rättsliga anspråk" in asked
    assert [p.reason for p in waiting.pauses] == ["clarification"]
    await handle.execute_update(
        "record_restriction_ground",
        RecordRestrictionGroundInput(handler="anna", ground=RestrictionGround.UNLAWFUL_NO_ERASURE),
    )
    restricted = await wait_for_state(handle, CaseState.RESTRICTED)
    assert await in_system(writable, "billing", is_restricted, subject)
    applied = mailbox_body(writable, f"{submitted.case_number}-restriction_applied")
    assert "behandlingen är olaglig" in applied, "the ground the subject gave, not (a)"
    assert all(p.ended_at is not None for p in restricted.pauses)
    with pytest.raises(WorkflowUpdateFailedError) as again:
        await handle.execute_update(
            "record_restriction_ground",
            RecordRestrictionGroundInput(
                handler="anna", ground=RestrictionGround.OBJECTION_PENDING
            ),
        )
    assert "waits for no ground" in str(again.value.cause)
    await handle.terminate("test over")
