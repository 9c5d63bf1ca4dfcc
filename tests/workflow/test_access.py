"""The access request end to end on a real Temporal dev server against the real demo databases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from activities.store import ExtractStore
from app.worker_setup import build_activities, create_worker
from contract import search
from contract.actions import (
    ActionResult,
    ApproveReleaseInput,
    CloseUnverifiedInput,
    RecordManualDeliveryInput,
    RequestChangesInput,
    VerifyIdentityInput,
)
from contract.case import CaseResult, CaseState, DeliveryMethod, IdentityBasis, Outcome
from contract.vocabulary import Channel, IdentityMethod, Kind
from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS
from demo.systems import SeedManifest
from infra.config import Settings
from infra.db import Case, CaseEvent, create_engine, sessionmaker
from systems.catalog import load_catalog
from tests.helpers import record_history, status_of, submit, submit_access, wait_for_state

pytestmark = pytest.mark.asyncio(loop_scope="session")


def extract_rows(settings: Settings, json_ref: str) -> dict[str, dict[str, set[int]]]:
    """Primary keys per system and table in a built extract."""
    answer = json.loads(ExtractStore(settings.extract_dir, settings.key_ring()).read_text(json_ref))
    catalog = load_catalog()
    found: dict[str, dict[str, set[int]]] = {}
    for section in answer["systems"]:
        for table in section["tables"]:
            key = catalog.systems[section["system"]].tables[table["table"]].primary_key
            found.setdefault(section["system"], {})[table["table"]] = {
                row[key] for row in table["rows"]
            }
    return found


def expected_rows(manifest: SeedManifest, subject_id: str) -> dict[str, dict[str, set[int]]]:
    expected: dict[str, dict[str, set[int]]] = {}
    for system in ("billing", "network", "marketing", "disclosure"):
        for table, keys in manifest.rows_of(subject_id, system).items():
            if keys:
                expected.setdefault(system, {})[table] = set(keys)
    return expected


async def accepted_updates(handle: WorkflowHandle[Any, Any]) -> list[str]:
    history = await handle.fetch_history()
    return [
        event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]


async def trail(settings: Settings, case_number: str) -> tuple[Case, list[CaseEvent]]:
    engine = create_engine(settings.register_database_url)
    try:
        async with sessionmaker(engine)() as session:
            case = await session.get_one(Case, case_number)
            events = (
                await session.scalars(
                    select(CaseEvent)
                    .where(CaseEvent.case_number == case_number)
                    .order_by(CaseEvent.step)
                )
            ).all()
        return case, list(events)
    finally:
        await engine.dispose()


async def test_verified_at_intake_is_collected_reviewed_and_delivered(
    client: Client, worker: Settings, seeded: SeedManifest
) -> None:
    settings = worker
    submitted = await submit_access(client, settings, DEMO_SUBJECTS["tolvan"], bankid=True)
    assert not submitted.existing
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)

    review = await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    assert review.identity is not None and review.identity.method is IdentityMethod.BANKID
    assert review.extract is not None
    # Every seeded row of the subject, in every system, and no row of anyone else.
    assert extract_rows(settings, review.extract.json_ref) == expected_rows(
        seeded, DEMO_SUBJECTS["tolvan"]
    )

    approved = await handle.execute_update(
        "approve_release", ApproveReleaseInput(handler="anna"), result_type=ActionResult
    )
    assert approved is not None
    result = await handle.result()
    assert result.outcome is Outcome.DELIVERED
    assert result.delivery is not None and result.delivery.method is DeliveryMethod.DIGITAL_MAILBOX
    outbox = Path(result.delivery.location)
    assert {p.name for p in outbox.iterdir()} == {"message.json", "extract.html", "extract.json"}
    html = (outbox / "extract.html").read_text()
    for heading in (
        "Ändamål",
        "Kategorier av personuppgifter",
        "Mottagare",
        "Lagringstid",
        "Varifrån uppgifterna kommer",
        "Automatiserat beslutsfattande",
        "Dina rättigheter",
        "Integritetsskyddsmyndigheten",
    ):
        assert heading in html
    # Codes a system stores appear in Swedish in the letter; the JSON keeps them, with a legend.
    for words in ("Elnät", "Stadsnät (fiber)", "Godkänt", "Myndighet", "Försäkringsbolag"):
        assert words in html, words
    for code in ("electricity", "fibre", "approved", "authority", "insurer", "contractor"):
        assert f">{code}<" not in html and f"({code}" not in html, code
    assert "identitetsuppgifter, adress" in html and "identifier,address" not in html

    answer = json.loads((outbox / "extract.json").read_text())
    # The whole organisation was searched, and the answer names every place (Art. 15, EDPB
    # 01/2022): the four systems, the document archive and the case register.
    assert [p["title"] for p in answer["places_searched"]] == [
        "Kund- och faktureringssystemet",
        "Logg över utlämnade uppgifter",
        "Marknadsföringssystemet",
        "Nätsystemet (elnät och stadsnät)",
        "Diarium och arkiv",
        "Ärenderegistret (dina tidigare begäranden och våra svar)",
    ]
    assert "samtliga system" not in html
    for place in answer["places_searched"]:
        assert place["title"] in html
    # The archive's documents that name him, listed, each copy with the neighbour masked.
    documents = {d["title"]: d for d in answer["documents"]["documents"]}
    assert set(documents) == {
        "Klagomål på mätarskåp i gemensam källare",
        "Avtal om fiberanslutning, Blåklintsgränd 12",
    }
    complaint = documents["Klagomål på mätarskåp i gemensam källare"]
    assert complaint["type"] == "Korrespondens" and complaint["date"] == "2025-09-12"
    assert "Tolvan Tolvansson" in complaint["copy"]  # his own data stays
    assert "holm" not in complaint["copy"].lower() and "Kvarnfallsgatan" not in complaint["copy"]
    assert complaint["copy"].count("[uppgift om annan person borttagen]") == 3
    assert "Anders Holm" not in html and "Kvarnfallsgatan" not in html
    assert "artikel 15.4" in html and "Kopior av handlingarna" in html
    contracts = next(t for s in answer["systems"] for t in s["tables"] if t["table"] == "contracts")
    assert {row["kind"] for row in contracts["rows"]} == {"electricity", "fibre"}
    assert contracts["legend"]["kind"]["electricity"] == "Elnät"
    recipients = {r["name"] for r in answer["recipients"]}
    assert answer["subject_found"] is True
    assert answer["sources"] and any("UC" in s or "kredit" in s.lower() for s in answer["sources"])
    assert answer["automated_decisions"], "the credit check is an automated decision"
    disclosed = [r for r in answer["recipients"] if r["source"] == "utlämnandelogg"]
    assert disclosed and all(r["name"] in recipients for r in disclosed)
    # Recipients by name where known (Art. 15(1)(c)): the supplier the metering point names
    # behind "Din elhandlare", the fibre providers his subscriptions name, the printer; a
    # category only where no system names who.
    types = {(r["name"], r["type"]) for r in answer["recipients"]}
    assert ("Mälarenergi Elhandel AB", "Din elhandlare") in types
    assert ("Exempeltryck AB", "personuppgiftsbiträde") in types
    assert ("Nordnät Bredband AB", "tjänsteleverantör i stadsnätet") in types
    assert ("Inkassoföretag vid obetald faktura", "mottagarkategori") in types
    assert ("Din elhandlare", "mottagarkategori") not in types

    await record_history(handle, "access_verified_at_intake")
    final = await status_of(handle)
    assert final.state is CaseState.CLOSED and final.outcome is Outcome.DELIVERED
    assert [s.state for s in final.steps] == [
        CaseState.COLLECTING,
        CaseState.BUILDING_EXTRACT,
        CaseState.AWAITING_REVIEW,
        CaseState.DELIVERING,
        CaseState.CLOSED,
    ]
    described = await handle.describe()
    attributes = described.typed_search_attributes
    assert attributes.get(search.KIND) == "access"
    assert attributes.get(search.STATE) == "closed"
    assert attributes.get(search.CASE_NUMBER) == submitted.case_number
    assert attributes.get(search.ASSIGNEE) == "anna"

    case, events = await trail(settings, submitted.case_number)
    assert case.state == "closed" and case.outcome == "delivered" and case.open_key is None
    assert case.subject_ref != DEMO_SUBJECTS["tolvan"] and len(case.subject_ref) == 64
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, "registered"),
        ("registered", "collecting"),
        ("collecting", "building_extract"),
        ("building_extract", "awaiting_review"),
        ("awaiting_review", "delivering"),
        ("delivering", "closed"),
    ]
    assert events[4].actor == "anna"


async def test_a_letter_to_the_population_register_address_needs_no_identity_proof(
    client: Client, worker: Settings, seeded: SeedManifest
) -> None:
    """Art. 12(2),(6), EDPB 01/2022 §§ 69-77: a request by letter is answered by letter to the
    address the population register (SPAR) has for the number, which reaches the subject and
    nobody else: no proof is asked, the clock does not stop. Not to the customer record's
    address (Karin Lindqvist has moved), and on paper every row is printed, in annexes."""
    settings = worker
    subject = DEMO_SUBJECTS["joint_a"]
    submitted = await submit_access(
        client, settings, subject, channel=Channel.LETTER, assignee=None
    )
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    review = await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    assert review.identity is None and review.identity_basis is IdentityBasis.REGISTERED_ADDRESS
    assert review.pauses == [] and review.deadline == submitted.deadline
    assert not (settings.outbox_dir / "digital-mailbox").exists(), "nobody was asked for proof"
    assert [s.action for s in review.steps][0] == "identity_not_needed:registered_address"
    assert review.extract is not None
    # The co-holder of the shared contract: the contract is there, their own data is not.
    rows = extract_rows(settings, review.extract.json_ref)
    assert rows == expected_rows(seeded, subject)
    other = seeded.rows_of(DEMO_SUBJECTS["joint_b"], "billing")
    assert rows["billing"]["contracts"] & other["contracts"], "the shared contract is included"
    assert not rows["billing"]["customers"] & other["customers"]
    assert not rows["billing"]["contract_holders"] & other["contract_holders"]

    await handle.execute_update(
        "approve_release", ApproveReleaseInput(handler="bo"), result_type=ActionResult
    )
    result = await handle.result()
    assert result.delivery is not None and result.delivery.method is DeliveryMethod.LETTER
    await record_history(handle, "access_letter_to_registered_address")
    letter = Path(result.delivery.location)
    # The population register's address, not the customer record's (she has moved).
    assert (letter / "address.txt").read_text().splitlines() == [
        "Karin Lindqvist",
        "Vallmovägen 3",
        "724 60 Västerås",
    ]
    assert "Rönnbärsstigen" not in (letter / "address.txt").read_text()
    # Paper carries every row: two years of hourly readings in an annex of their own.
    body = (letter / "letter.html").read_text()
    readings = len(seeded.rows_of(subject, "network")["meter_readings"])
    assert readings > 100
    assert f"Samtliga {readings} rader finns i bilaga 1" in body
    assert f"Bilaga 1: Mätvärden (timvärden) ({readings} rader)" in body
    annex = body[body.index("Bilaga 1:") :]
    assert annex.count("<tr>") == readings + 1  # the heading and every row
    assert "extract.json" not in body


async def test_an_answer_asked_for_elsewhere_waits_for_identity_proof(
    client: Client, worker: Settings
) -> None:
    """Delivered anywhere but the subject's own mailbox or registered address, the answer could
    reach someone else: proof first, then a handler sends it where it was asked for."""
    submitted = await submit_access(
        client, worker, DEMO_SUBJECTS["joint_a"], assignee=None, deliver_elsewhere=True
    )
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    waiting = await wait_for_state(handle, CaseState.AWAITING_IDENTITY)
    assert waiting.identity is None and waiting.extract is None and waiting.identity_basis is None
    moved = await handle.execute_update(
        "verify_identity",
        VerifyIdentityInput(method=IdentityMethod.SIGNED_LETTER, handler="bo"),
        result_type=ActionResult,
    )
    assert moved.state is not CaseState.AWAITING_IDENTITY
    review = await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    assert review.assignee == "bo", "the first handler to act on an unassigned case takes it"
    await handle.execute_update("approve_release", ApproveReleaseInput(handler="bo"))
    manual = await wait_for_state(handle, CaseState.AWAITING_MANUAL_DELIVERY)
    assert manual.manual_handling_reason == "delivery_elsewhere"
    await handle.execute_update(
        "record_manual_delivery",
        RecordManualDeliveryInput(handler="bo", note="Skickat till ombudet enligt fullmakt"),
    )
    assert (await handle.result()).outcome is Outcome.DELIVERED_MANUALLY
    await record_history(handle, "access_verified_by_handler_elsewhere")


async def test_skyddad_folkbokforing_in_the_population_register_routes_to_a_handler(
    client: Client, worker: Settings
) -> None:
    """Sofia Lund's customer record says nothing; SPAR reports skyddad folkbokföring. No
    address is used or shown: proof is asked, and a handler hands the answer over."""
    submitted = await submit_access(client, worker, FILLER_SUBJECTS["lund"])
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_IDENTITY)
    await handle.execute_update(
        "verify_identity", VerifyIdentityInput(method=IdentityMethod.ID_CHECKED, handler="anna")
    )
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
    manual = await wait_for_state(handle, CaseState.AWAITING_MANUAL_DELIVERY)
    assert manual.manual_handling_reason == "protected_identity"
    assert not (worker.outbox_dir / "letters").exists(), "no letter to an address"
    await handle.terminate("test over")


async def test_actions_in_the_wrong_state_are_rejected_and_change_nothing(
    client: Client, worker: Settings
) -> None:
    submitted = await submit_access(
        client, worker, DEMO_SUBJECTS["coordination"], deliver_elsewhere=True
    )
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_IDENTITY)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
    assert "awaiting_identity" in str(refused.value.cause)
    assert "approve the release only while it is awaiting_review" in str(refused.value.cause)
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(
            "record_manual_delivery", RecordManualDeliveryInput(handler="anna", note="x")
        )

    assert (await status_of(handle)).state is CaseState.AWAITING_IDENTITY
    # Rejected updates leave no trace in history: nothing was accepted.
    assert not await accepted_updates(handle)

    await handle.execute_update(
        "verify_identity", VerifyIdentityInput(method=IdentityMethod.ID_CHECKED, handler="anna")
    )
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    with pytest.raises(WorkflowUpdateFailedError) as again:
        await handle.execute_update(
            "verify_identity", VerifyIdentityInput(method=IdentityMethod.ID_CHECKED, handler="x")
        )
    assert "you can verify identity only while it is awaiting_identity" in str(again.value.cause)


async def test_duplicate_submission_returns_the_open_case(client: Client, worker: Settings) -> None:
    first = await submit_access(
        client, worker, DEMO_SUBJECTS["marketing_only"], deliver_elsewhere=True
    )
    second = await submit_access(client, worker, DEMO_SUBJECTS["marketing_only"])
    assert second.existing and second.case_number == first.case_number
    intakes = [
        e.id
        async for e in client.list_workflows(
            f'WorkflowType = "IntakeWorkflow" AND TaskQueue = "{worker.task_queue}"'
        )
    ]
    assert len(intakes) == 2
    for n, intake_id in enumerate(sorted(intakes)):
        await record_history(client.get_workflow_handle(intake_id), f"intake_{n}")
    assert second.deadline == first.deadline
    started = [
        execution.id
        async for execution in client.list_workflows(f'DsrCaseNumber = "{first.case_number}"')
    ]
    assert started == [first.case_number]

    # Once it is closed, the same subject may ask again and gets a new case.
    handle = client.get_workflow_handle(first.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_IDENTITY)
    await handle.execute_update(
        "close_unverified", CloseUnverifiedInput(handler="anna", reason="Ingen legitimation.")
    )
    await handle.result()
    third = await submit_access(client, worker, DEMO_SUBJECTS["marketing_only"])
    assert not third.existing and third.case_number != first.case_number


async def test_unknown_subject_still_gets_an_answer(client: Client, worker: Settings) -> None:
    submitted = await submit_access(client, worker, DEMO_SUBJECTS["unknown"], bankid=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    review = await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    assert review.extract is not None and not review.extract.subject_found
    await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
    result = await handle.result()
    assert result.outcome is Outcome.DELIVERED and result.delivery is not None
    html = (Path(result.delivery.location) / "extract.html").read_text()
    assert "Vi behandlar inga personuppgifter om dig" in html
    # It says where it looked, every place by name, and that none held anything.
    assert "Där vi har sökt" in html and html.count("inga uppgifter om dig") == 6
    assert "Diarium och arkiv: inga uppgifter om dig" in html


async def test_the_answer_lists_the_subjects_earlier_requests_from_the_case_register(
    client: Client, worker: Settings
) -> None:
    subject = DEMO_SUBJECTS["marketing_only"]
    objected = await submit(client, worker, subject, Kind.OBJECTION)
    await client.get_workflow_handle(objected.case_number).result()
    submitted = await submit_access(client, worker, subject)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
    result = await handle.result()
    assert result.delivery is not None
    folder = Path(result.delivery.location)
    answer = json.loads((folder / "extract.json").read_text())
    [earlier] = answer["earlier_cases"]["cases"]
    assert earlier["case_number"] == objected.case_number
    assert earlier["kind"] == "Invändning mot direktmarknadsföring (artikel 21)"
    assert earlier["outcome"] == "genomförd" and earlier["closed"] is not None
    assert [s["what"] for s in earlier["letters"]] == [
        "Ett meddelande skickades till din digitala brevlåda"
    ]
    html = (folder / "extract.html").read_text()
    assert objected.case_number in html and "Dina tidigare begäranden hos oss" in html
    register = next(p for p in answer["places_searched"] if p["name"] == "register")
    assert register["found"] is True


async def test_close_unverified_sends_a_notice_with_the_right_to_complain(
    client: Client, worker: Settings
) -> None:
    submitted = await submit_access(client, worker, DEMO_SUBJECTS["tolvan"], deliver_elsewhere=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_IDENTITY)
    with pytest.raises(ValidationError, match="must not be blank"):
        CloseUnverifiedInput(handler="anna", reason="   ")
    await handle.execute_update(
        "close_unverified",
        CloseUnverifiedInput(handler="anna", reason="Ingen svarade på vår begäran om ID."),
    )
    result = await handle.result()
    assert result.outcome is Outcome.CLOSED_UNVERIFIED
    await record_history(handle, "access_closed_unverified")
    notice = (
        worker.outbox_dir / "digital-mailbox" / f"{submitted.case_number}-identity_not_verified"
    )
    body = json.loads((notice / "message.json").read_text())["body"]
    assert "Integritetsskyddsmyndigheten" in body and "Ingen svarade" in body
    assert not (worker.extract_dir / submitted.case_number).exists(), "nothing was collected"


async def test_protected_identity_goes_to_manual_delivery(client: Client, worker: Settings) -> None:
    submitted = await submit_access(
        client, worker, DEMO_SUBJECTS["protected"], bankid=True, channel=Channel.LETTER
    )
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
    manual = await wait_for_state(handle, CaseState.AWAITING_MANUAL_DELIVERY)
    assert manual.manual_handling_reason == "protected_identity"
    assert not (worker.outbox_dir / "letters").exists(), "no letter to an address"
    await handle.execute_update(
        "record_manual_delivery",
        RecordManualDeliveryInput(handler="anna", note="Hämtat på kundcenter"),
    )
    result = await handle.result()
    assert result.outcome is Outcome.DELIVERED_MANUALLY
    await record_history(handle, "access_protected_manual")


async def test_request_changes_collects_again_and_keeps_both_versions(
    client: Client, worker: Settings
) -> None:
    submitted = await submit_access(client, worker, DEMO_SUBJECTS["joint_b"], bankid=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    await handle.execute_update(
        "request_changes", RequestChangesInput(handler="anna", reason="Fakturan saknades.")
    )
    second = await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    assert second.extract is not None and second.extract.version == 2
    assert [s.action for s in second.steps].count("request_changes") == 1
    await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
    assert (await handle.result()).outcome is Outcome.DELIVERED
    await record_history(handle, "access_request_changes")


async def test_the_automatic_release_policy_delivers_e_id_cases_without_review(
    client: Client, settings: Settings
) -> None:
    automatic = settings.model_copy(update={"release_policy": "automatic"})
    async with (
        build_activities(automatic) as activities,
        create_worker(client, automatic, activities),
    ):
        # Verified with e-ID at intake: delivered without a handler.
        released = await submit_access(client, automatic, DEMO_SUBJECTS["tolvan"], bankid=True)
        handle = client.get_workflow_handle(released.case_number, result_type=CaseResult)
        result = await handle.result()
        assert result.outcome is Outcome.DELIVERED
        assert result.delivery is not None and result.delivery.delivered_by == "engine"
        await record_history(handle, "access_released_by_policy")
        final = await status_of(handle)
        assert [(s.state, s.action, s.actor) for s in final.steps][-3:] == [
            (CaseState.BUILDING_EXTRACT, "collected", "engine"),
            (CaseState.DELIVERING, "released_by_policy", "engine"),
            (CaseState.CLOSED, "delivered:digital_mailbox", "engine"),
        ]
        # Identity proven by a handler, or protected identity: reviewed as always.
        by_letter = await submit_access(
            client, automatic, DEMO_SUBJECTS["coordination"], deliver_elsewhere=True
        )
        letter = client.get_workflow_handle(by_letter.case_number)
        await wait_for_state(letter, CaseState.AWAITING_IDENTITY)
        await letter.execute_update(
            "verify_identity",
            VerifyIdentityInput(handler="anna", method=IdentityMethod.SIGNED_LETTER),
            result_type=ActionResult,
        )
        await wait_for_state(letter, CaseState.AWAITING_REVIEW)
        protected = await submit_access(client, automatic, DEMO_SUBJECTS["protected"], bankid=True)
        await wait_for_state(
            client.get_workflow_handle(protected.case_number), CaseState.AWAITING_REVIEW
        )
