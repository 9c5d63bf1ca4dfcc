"""Public access on the real dev server: anonymous intake, the secrecy review per document,
copies with the masked parts removed from the text, the fee, linking, and the register's
public entry."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from activities.store import ExtractStore
from app.worker_setup import build_activities, create_worker
from contract.actions import ApproveReleaseInput, RecordManualDeliveryInput
from contract.case import CaseResult, CaseState, ExtendInput, Outcome
from contract.public_access import (
    ConfirmDocumentsInput,
    LinkCaseInput,
    Mask,
    ReviewDocumentInput,
    SearchAgainInput,
)
from contract.public_request import Contact, DocumentQuery, PublicRequest
from contract.vocabulary import ReviewDecision, SecrecyGround
from demo.archive import PROTECTED_ADDRESS
from demo.people import DEMO_SUBJECTS
from infra.config import Settings
from tests.databases import sync_url
from tests.helpers import Mailbox, record_history, status_of, submit_access, wait_for_state
from tests.support.requests import request_documents, request_meter_letters

pytestmark = pytest.mark.asyncio(loop_scope="session")


def expected_fee(pages: int) -> int:
    """The default fee schedule, written out: nine pages free, 50 kr for the tenth, 2 kr for
    each page after it."""
    return 0 if pages <= 9 else 50 + 2 * (pages - 10)


def emailed(settings: Settings, message_id: str) -> dict[str, Any]:
    folder = settings.outbox_dir / "email" / message_id
    message: dict[str, Any] = json.loads((folder / "message.json").read_text())
    message["files"] = {name: (folder / name).read_text() for name in message["attachments"]}
    return message


async def review(
    handle: WorkflowHandle[Any, Any], document_id: int, decision: ReviewDecision, **kwargs: Any
) -> None:
    await handle.execute_update(
        "review_document",
        ReviewDocumentInput(handler="anna", document_id=document_id, decision=decision, **kwargs),
    )


async def release_copies(handle: WorkflowHandle[Any, Any], handler: str = "anna") -> None:
    """The handler has looked at the copies as they will go (preview) and sends them."""
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    await handle.execute_update("approve_release", ApproveReleaseInput(handler=handler))


async def test_an_anonymous_request_gets_copies_with_the_masked_parts_removed(
    client: Client, worker: Settings
) -> None:
    handle, located = await request_meter_letters(client, worker)
    assert located.public is not None and located.public.sender == "anonymous"
    candidates = located.public.candidates
    assert len(candidates) >= 2
    first, second = candidates[0].document_id, candidates[1].document_id

    # A document the search did not find cannot be confirmed: search again to add it.
    with pytest.raises(WorkflowUpdateFailedError) as not_found:
        await handle.execute_update(
            "confirm_documents", ConfirmDocumentsInput(handler="anna", document_ids=[99999])
        )
    assert "not among the documents found" in str(not_found.value.cause)
    await handle.execute_update(
        "confirm_documents", ConfirmDocumentsInput(handler="anna", document_ids=[first, second])
    )
    await wait_for_state(handle, CaseState.SECRECY_REVIEW)

    # A part to mask that is not in the text (a typo) is refused: it would otherwise go out.
    with pytest.raises(WorkflowUpdateFailedError) as typo:
        await review(
            handle,
            first,
            ReviewDecision.MASK,
            masks=[Mask(text="Gläntans väg 7", ground=SecrecyGround.PROTECTED_IDENTITY)],
        )
    assert "does not occur in the text" in str(typo.value.cause)
    protected = [
        Mask(text=PROTECTED_ADDRESS, ground=SecrecyGround.PROTECTED_IDENTITY),
        Mask(text="Sanna Ek", ground=SecrecyGround.PROTECTED_IDENTITY),
    ]
    await review(handle, first, ReviewDecision.MASK, masks=protected)
    assert (await status_of(handle)).state is CaseState.SECRECY_REVIEW  # one left to review
    await review(handle, second, ReviewDecision.MASK, masks=protected)

    # Before anything goes, the handler sees exactly what the requester will receive: the
    # prepared letter and copies wait, and nothing is sent.
    preview = await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    assert preview.public is not None and preview.public.letter_ref is not None
    store = ExtractStore(worker.extract_dir, worker.key_ring())
    previewed = {
        Path(ref).name: store.read_text(ref)
        for ref in [preview.public.letter_ref, *preview.public.copy_refs]
    }
    assert not (worker.outbox_dir / "email" / f"{handle.id}-copies").exists()
    await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
    answered = await wait_for_state(handle, CaseState.AWAITING_DECISION_REQUEST)
    assert answered.public is not None
    reviews = {r.document_id: r for r in answered.public.reviews}
    assert reviews[first].grounds == [SecrecyGround.PROTECTED_IDENTITY]
    assert reviews[first].masked_parts == 2
    # Status shows the grounds, never the secret itself.
    assert PROTECTED_ADDRESS not in answered.model_dump_json()
    pages = sum(c.pages for c in candidates[:2])
    assert answered.public.pages == pages
    assert answered.public.fee_sek == expected_fee(pages)

    message = emailed(worker, f"{handle.id}-copies")
    assert message["to"] == "begaran@example.org"
    copies = [text for name, text in message["files"].items() if name.startswith("handling-")]
    assert len(copies) == 2
    for text in copies:
        # Masked as typed once, gone in every form: over a line break, signed in capitals.
        assert "gläntans" not in text.lower() and "sanna" not in text.lower()
        assert "[maskerat enligt OSL 21:3]" in text
        assert "begär att elmätaren flyttas" in text  # the rest of the document is there
    letter = message["files"]["svar.html"]
    assert "skriftligt beslut" in letter and "överklagas" in letter  # the remedy
    # What went is exactly what the handler saw.
    assert message["files"] == previewed


async def test_a_withheld_document_is_named_by_its_masked_title_with_its_ground(
    client: Client, worker: Settings
) -> None:
    handle, located = await request_meter_letters(client, worker)
    assert located.public is not None
    document = located.public.candidates[0]
    assert "Sanna Ek" in document.title
    await handle.execute_update(
        "confirm_documents",
        ConfirmDocumentsInput(handler="anna", document_ids=[document.document_id]),
    )
    await wait_for_state(handle, CaseState.SECRECY_REVIEW)
    # A part of the text is not a part of the title: the title is all the answer shows.
    with pytest.raises(WorkflowUpdateFailedError) as not_in_title:
        await review(
            handle,
            document.document_id,
            ReviewDecision.WITHHOLD,
            ground=SecrecyGround.PROTECTED_IDENTITY,
            masks=[Mask(text=PROTECTED_ADDRESS, ground=SecrecyGround.PROTECTED_IDENTITY)],
        )
    assert "does not occur in the title" in str(not_in_title.value.cause)
    await review(
        handle,
        document.document_id,
        ReviewDecision.WITHHOLD,
        ground=SecrecyGround.PROTECTED_IDENTITY,
        masks=[Mask(text="SANNA EK", ground=SecrecyGround.PROTECTED_IDENTITY)],
    )
    await release_copies(handle)
    await wait_for_state(handle, CaseState.AWAITING_DECISION_REQUEST)
    message = emailed(worker, f"{handle.id}-copies")
    assert [name for name in message["files"] if name.startswith("handling-")] == []
    letter = message["files"]["svar.html"]
    assert "Sanna" not in letter, "the title of a withheld document is masked too"
    assert "flytt av elmätare" in letter  # the rest of the title names the document
    assert "sekretess enligt OSL 21:3" in letter and "hot eller våld" in letter


async def test_a_request_without_a_contact_is_handed_over_and_closes_released(
    client: Client, worker: Settings, archive: tuple[str, dict[str, list[int]]]
) -> None:
    public = PublicRequest(
        description="Styrelseprotokoll",
        query=DocumentQuery(types=["board_minutes"]),
    )
    opened = await request_documents(client, worker, public)
    handle = client.get_workflow_handle(opened.case_number, result_type=CaseResult)
    located = await wait_for_state(handle, CaseState.AWAITING_CONFIRMATION)
    assert located.public is not None
    document = located.public.candidates[0].document_id
    await handle.execute_update(
        "confirm_documents", ConfirmDocumentsInput(handler="anna", document_ids=[document])
    )
    await wait_for_state(handle, CaseState.SECRECY_REVIEW)
    await review(handle, document, ReviewDecision.RELEASE)
    await release_copies(handle)
    await wait_for_state(handle, CaseState.AWAITING_MANUAL_DELIVERY)
    await handle.execute_update(
        "record_manual_delivery",
        RecordManualDeliveryInput(handler="anna", note="Hämtad i receptionen"),
    )
    result = await handle.result()
    assert result.outcome is Outcome.RELEASED
    await record_history(handle, "public_access_released")


async def test_a_search_that_finds_nothing_is_answered_so_after_another_search(
    client: Client, worker: Settings
) -> None:
    public = PublicRequest(
        description="Avtal om vindkraft",
        query=DocumentQuery(text="vindkraftverk"),
        contact=Contact(email="fraga@example.org"),
    )
    opened = await request_documents(client, worker, public)
    handle = client.get_workflow_handle(opened.case_number, result_type=CaseResult)
    located = await wait_for_state(handle, CaseState.AWAITING_CONFIRMATION)
    assert located.public is not None and located.public.candidates == []
    # The handler tries a wider search: board minutes of 2019. Still nothing about wind power.
    await handle.execute_update(
        "search_again",
        SearchAgainInput(
            handler="anna", query=DocumentQuery(types=["board_minutes"], text="vindkraft")
        ),
    )
    again = await wait_for_state(handle, CaseState.AWAITING_CONFIRMATION)
    assert [s.action for s in again.steps].count("documents_located") == 2
    await handle.execute_update(
        "confirm_documents", ConfirmDocumentsInput(handler="anna", document_ids=[])
    )
    await release_copies(handle)
    assert (await handle.result()).outcome is Outcome.NO_DOCUMENTS
    letter = emailed(worker, f"{handle.id}-copies")["files"]["svar.html"]
    assert "inte några allmänna handlingar som motsvarar" in letter


async def test_copies_go_by_e_mail_through_the_company_mail_server(
    client: Client, settings: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    smtp = settings.model_copy(update={"requester_email_channel": "smtp", "smtp_port": port})
    public = PublicRequest(
        sender="Kim Journalist",
        description="Avbrottsrapporter",
        query=DocumentQuery(types=["outage_report"]),
        contact=Contact(email="kim@example.org"),
    )
    async with build_activities(smtp) as activities, create_worker(client, smtp, activities):
        opened = await request_documents(client, smtp, public)
        handle = client.get_workflow_handle(opened.case_number, result_type=CaseResult)
        located = await wait_for_state(handle, CaseState.AWAITING_CONFIRMATION)
        assert located.public is not None and located.public.sender == "Kim Journalist"
        document = located.public.candidates[0]
        await handle.execute_update(
            "confirm_documents",
            ConfirmDocumentsInput(handler="anna", document_ids=[document.document_id]),
        )
        await wait_for_state(handle, CaseState.SECRECY_REVIEW)
        await review(handle, document.document_id, ReviewDecision.RELEASE)
        await release_copies(handle)
        assert (await handle.result()).outcome is Outcome.RELEASED
    [mail] = box.messages
    assert mail["To"] == "kim@example.org"
    assert opened.case_number in mail["Subject"]
    files = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
    assert set(files) == {"svar.html", f"handling-{document.document_id}.txt"}
    assert "Avbrott i nätstation" in files[f"handling-{document.document_id}.txt"]
    assert "Kim Journalist" in files["svar.html"]


async def test_a_refused_address_goes_to_a_handler_and_a_failed_re_review_withdraws_the_old(
    client: Client, settings: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    box.unknown.add("fel@example.org")  # a mistyped address: the server says 550
    smtp = settings.model_copy(update={"requester_email_channel": "smtp", "smtp_port": port})
    public = PublicRequest(
        description="Skrivelser om elmätare",
        query=DocumentQuery(text="elmätare"),
        contact=Contact(email="fel@example.org"),
    )
    async with build_activities(smtp) as activities, create_worker(client, smtp, activities):
        opened = await request_documents(client, smtp, public)
        handle = client.get_workflow_handle(opened.case_number, result_type=CaseResult)
        located = await wait_for_state(handle, CaseState.AWAITING_CONFIRMATION)
        assert located.public is not None
        first, second = (c.document_id for c in located.public.candidates[:2])
        # Documents were found: "none of them" is not an answer; withhold them in the review.
        with pytest.raises(WorkflowUpdateFailedError) as none:
            await handle.execute_update(
                "confirm_documents", ConfirmDocumentsInput(handler="anna", document_ids=[])
            )
        assert "documents were found" in str(none.value.cause)
        await handle.execute_update(
            "confirm_documents",
            ConfirmDocumentsInput(handler="anna", document_ids=[first, second]),
        )
        await wait_for_state(handle, CaseState.SECRECY_REVIEW)
        await review(handle, first, ReviewDecision.RELEASE)
        # A second look finds the protected address, but the mask is mistyped: the first
        # review is withdrawn, so the document cannot go out under it.
        with pytest.raises(WorkflowUpdateFailedError):
            await review(
                handle,
                first,
                ReviewDecision.MASK,
                masks=[Mask(text="Gläntans vag 6", ground=SecrecyGround.PROTECTED_IDENTITY)],
            )
        await review(
            handle,
            second,
            ReviewDecision.WITHHOLD,
            ground=SecrecyGround.PROTECTED_IDENTITY,
        )
        pending = await status_of(handle)
        assert pending.state is CaseState.SECRECY_REVIEW
        assert pending.public is not None
        assert [r.document_id for r in pending.public.reviews] == [second]
        await review(
            handle,
            first,
            ReviewDecision.MASK,
            masks=[Mask(text=PROTECTED_ADDRESS, ground=SecrecyGround.PROTECTED_IDENTITY)],
        )
        await release_copies(handle)
        # The mail server refuses the address: no retrying for ever, a handler takes over.
        manual = await wait_for_state(handle, CaseState.AWAITING_MANUAL_DELIVERY)
        assert manual.manual_handling_reason == "undeliverable"
        await handle.execute_update(
            "record_manual_delivery",
            RecordManualDeliveryInput(handler="anna", note="Sänt till rättad adress"),
        )
        await wait_for_state(handle, CaseState.AWAITING_DECISION_REQUEST)
    assert box.messages == []


async def test_the_register_entry_shows_anonymous_and_the_description_only(
    client: Client, worker: Settings
) -> None:
    secrets = ["Lena Sjöberg", "lena.s@example.org", "Björkvägen 3", "722 19 Västerås"]
    public = PublicRequest(
        description="Fakturor om nätavgift",
        query=DocumentQuery(types=["invoice"], party="Lena Sjöberg"),
        contact=Contact(name="Lena S", email="lena.s@example.org", postal_address=secrets[2:]),
    )
    opened = await request_documents(client, worker, public)
    handle = client.get_workflow_handle(opened.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_CONFIRMATION)

    engine = sa.create_engine(sync_url(worker.register_database_url))
    try:
        with engine.connect() as conn:
            entry = conn.execute(
                sa.text("SELECT sender, description FROM public_entries WHERE case_number = :c"),
                {"c": opened.case_number},
            ).one()
            rows = [
                json.dumps([str(v) for v in row], ensure_ascii=False)
                for table in ("cases", "public_entries", "case_events")
                for row in conn.execute(
                    sa.text(f"SELECT * FROM {table} WHERE case_number = :c"),  # noqa: S608
                    {"c": opened.case_number},
                )
            ]
    finally:
        engine.dispose()
    assert tuple(entry) == ("anonymous", "Fakturor om nätavgift")
    for secret in [*secrets, "Lena S"]:
        assert not any(secret in row for row in rows), secret
    description = await handle.describe()
    shown = json.dumps(
        {k.name: str(v) for k, v in description.typed_search_attributes}, ensure_ascii=False
    )
    assert not any(secret in shown for secret in secrets)


async def test_a_public_access_request_cannot_be_extended_and_links_both_ways(
    client: Client, worker: Settings
) -> None:
    public = PublicRequest(
        description="Allt om mig som allmänna handlingar",
        query=DocumentQuery(party="Per Holm"),
    )
    documents = await request_documents(client, worker, public)
    handle = client.get_workflow_handle(documents.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_CONFIRMATION)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("extend", ExtendInput(handler="anna", reason="Många"))
    assert "skyndsamt" in str(refused.value.cause)

    access = await submit_access(client, worker, DEMO_SUBJECTS["tolvan"])
    other = client.get_workflow_handle(access.case_number, result_type=CaseResult)
    await handle.execute_update("link", LinkCaseInput(handler="anna", other=access.case_number))
    await other.execute_update("link", LinkCaseInput(handler="anna", other=documents.case_number))
    assert (await status_of(handle)).linked == [access.case_number]
    assert (await status_of(other)).linked == [documents.case_number]
    with pytest.raises(WorkflowUpdateFailedError) as itself:
        await handle.execute_update(
            "link", LinkCaseInput(handler="anna", other=documents.case_number)
        )
    assert "cannot be linked with itself" in str(itself.value.cause)


async def test_a_review_changed_at_the_preview_makes_the_copies_again(
    client: Client, worker: Settings
) -> None:
    handle, located = await request_meter_letters(client, worker)
    assert located.public is not None
    document = located.public.candidates[0].document_id
    await handle.execute_update(
        "confirm_documents", ConfirmDocumentsInput(handler="anna", document_ids=[document])
    )
    await wait_for_state(handle, CaseState.SECRECY_REVIEW)
    await review(handle, document, ReviewDecision.RELEASE)
    first = await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    assert first.public is not None and first.public.copy_refs
    # The preview shows the protected address would go out: the handler withholds instead.
    await review(handle, document, ReviewDecision.WITHHOLD, ground=SecrecyGround.PROTECTED_IDENTITY)
    for _ in range(100):
        again = await status_of(handle)
        if again.state is CaseState.AWAITING_REVIEW and again.public and not again.public.copy_refs:
            break
        await asyncio.sleep(0.1)
    assert again.public is not None and again.public.copy_refs == [], "made again: no copy"
    assert [s.action for s in again.steps].count("copies_prepared") == 2
    await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
    await wait_for_state(handle, CaseState.AWAITING_DECISION_REQUEST)
    sent = emailed(worker, f"{handle.id}-copies")
    assert [name for name in sent["files"] if name.startswith("handling-")] == []
