"""The secrecy review of official documents and the preview of what is sent.

GET  /arenden/{case}/handlingar/{id}           a document's text and its review's form
POST /arenden/{case}/handlingar/{id}/provning  the review: release, mask parts, withhold
GET  /arenden/{case}/forhandsvisning           the letter and copies exactly as they go
GET  /arenden/{case}/forhandsvisning/{name}    one letter, framed by the page above
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from contract.vocabulary import ReviewDecision, SecrecyGround
from service import cases
from service.actions import BY_PATH, body_model
from service.api_actions import perform
from service.api_reading import document, preview
from service.callers import temporal
from service.console import page
from service.desk import words
from service.desk.case import REVIEWING, action_forms
from service.desk.kit import (
    CasePath,
    DocumentPath,
    case_number_of,
    document_id_of,
    done,
    framed,
    framed_route,
    guarded,
    invalid,
    labels,
    local,
    posted,
    signed_in_staff,
)
from service.problems import Problem

log = structlog.get_logger("service.desk.documents")
router = APIRouter(include_in_schema=False)

MASK_ROWS = 6


@router.get("/arenden/{case_number}/handlingar/{raw_id}")
@guarded
async def document_page(request: Request, case_number: CasePath, raw_id: DocumentPath) -> Response:
    """A document's text, read to review it for secrecy, and the review's form: release,
    mask parts (selected in the text or typed, each with its OSL ground), or withhold."""
    person, member = await signed_in_staff(request)
    case_number = case_number_of(case_number)
    document_id = document_id_of(raw_id)
    read = await document(request, case_number, document_id, member)
    status = await cases.fetch_status(temporal(request), case_number)
    public = status.public
    assert public is not None  # document() refuses any other kind
    candidate = next((d for d in public.candidates if d.document_id == document_id), None)
    if candidate is None:  # searched again meanwhile
        raise Problem(404, f"document {document_id} is not among the documents found")
    done = next((r for r in public.reviews if r.document_id == document_id), None)
    return page(
        request,
        "review.html",
        title=f"Sekretessprövning – {candidate.title}",
        person=person,
        case=status,
        document=candidate,
        text=read["text"],
        done=done,
        words=words,
        local=local,
        may_review=status.state in REVIEWING and document_id in public.confirmed,
        decisions=[(d.value, words.CHOICES[d]) for d in ReviewDecision],
        grounds=[(g.value, words.GROUNDS[g]) for g in SecrecyGround],
        rows=range(MASK_ROWS),
        scripts=["/static/review.js"],
        labels=labels(),
    )


@router.post("/arenden/{case_number}/handlingar/{raw_id}/provning")
@guarded
async def review_document(
    request: Request, case_number: CasePath, raw_id: DocumentPath
) -> Response:
    person, member = await signed_in_staff(request)
    form = await posted(request, person)
    case_number = case_number_of(case_number)
    document_id = document_id_of(raw_id)
    decision = form.get("decision")
    masks = []
    for row in range(MASK_ROWS):
        text, ground = form.get(f"mask-{row}"), form.get(f"grund-{row}")
        if isinstance(text, str) and text.strip():
            masks.append({"text": text.strip(), "ground": ground})
    withheld = form.get("grund")
    values: dict[str, Any] = {
        "document_id": document_id,
        "decision": decision,
        # Parts typed for another decision are not sent with it: the form shows them all.
        "masks": masks if decision == ReviewDecision.MASK.value else [],
        "ground": withheld
        if decision == ReviewDecision.WITHHOLD.value and isinstance(withheld, str) and withheld
        else None,
    }
    action = BY_PATH["review-document"]
    try:
        body = body_model(action.model).model_validate(values)
    except ValidationError as error:
        raise Problem(422, invalid(error)) from None
    await perform(request, member, case_number, action, body)
    log.info("console_action", case=case_number, action=action.update, actor=member.login)
    return done(request, case_number, "review-document")


@router.get("/arenden/{case_number}/forhandsvisning")
@guarded
async def preview_page(request: Request, case_number: CasePath) -> Response:
    """The letter and the copies exactly as the requester will receive them, the fee, and
    the form that sends them."""
    person, member = await signed_in_staff(request)
    case_number = case_number_of(case_number)
    files = (await preview(request, case_number, member))["files"]
    status = await cases.fetch_status(temporal(request), case_number)
    return page(
        request,
        "preview.html",
        title=f"Förhandsvisning {case_number}",
        person=person,
        case=status,
        copies={name: text for name, text in files.items() if not name.endswith(".html")},
        letters=[name for name in files if name.endswith(".html")],
        forms=action_forms(member, status, where="preview"),
    )


@router.get("/arenden/{case_number}/forhandsvisning/{name}")
@framed_route
async def preview_letter(request: Request, case_number: CasePath, name: str) -> Response:
    """One letter of the copies, for the frame of the preview's page (sandboxed)."""
    _, member = await signed_in_staff(request)
    case_number = case_number_of(case_number)
    files = (await preview(request, case_number, member))["files"]
    if not name.endswith(".html") or name not in files:
        raise Problem(404, f"case {case_number} sends no letter {name}")
    return framed(files[name])
