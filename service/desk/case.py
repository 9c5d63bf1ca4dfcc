"""The case page and its actions.

    GET  /arenden/{case}                  clock, timeline, what it waits for, the actions
    POST /arenden/{case}/atgard/{action}  one action, as the signed-in person (CSRF-checked)
    GET  /arenden/{case}/utdrag           the access extract as the subject will see it
    GET  /arenden/{case}/utdrag/brev      the extract itself, framed by the page above

Every action goes through the same path as the API's (service.api_actions.perform): the role first,
then the case, which refuses with its own message and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from contract.calendar import STOCKHOLM
from contract.case import CaseState, CaseStatus
from contract.vocabulary import Kind
from infra.config import Settings
from service import cases
from service.actions import BY_PATH, Action, body_model
from service.api_actions import LinkBody, link, perform
from service.api_reading import recorded_read, unsealed
from service.callers import StaffMember, temporal
from service.console import page
from service.desk import forms, words
from service.desk.kit import (
    LINK,
    ActionPath,
    CasePath,
    case_number_of,
    done,
    done_text,
    framed,
    framed_route,
    guarded,
    handlers,
    invalid,
    labels,
    local,
    posted,
    signed_in_staff,
    web_ui,
)
from service.problems import Problem
from workflows.case.decisions import REFUSABLE
from workflows.case.state import ANSWERED, ENGINE
from workflows.case.withdrawal import WITHDRAWABLE

log = structlog.get_logger("service.desk.case")
router = APIRouter(include_in_schema=False)

GDPR = frozenset(Kind) - {Kind.PUBLIC_ACCESS}
EVERY = frozenset(Kind)
OPEN = frozenset(CaseState) - {CaseState.CLOSED}
UNANSWERED = OPEN - ANSWERED

# Where the console offers each action: the kinds that take it and the states it is taken in.
# The case judges every action anyway; this only keeps the page to what can be done now.
OFFERED: dict[str, tuple[frozenset[Kind], frozenset[CaseState]]] = {
    "verify-identity": (GDPR, frozenset({CaseState.AWAITING_IDENTITY})),
    "close-unverified": (GDPR, frozenset({CaseState.AWAITING_IDENTITY})),
    "approve-release": (
        frozenset({Kind.ACCESS, Kind.PORTABILITY, Kind.PUBLIC_ACCESS}),
        frozenset({CaseState.AWAITING_REVIEW}),
    ),
    "request-changes": (
        frozenset({Kind.ACCESS, Kind.PORTABILITY}),
        frozenset({CaseState.AWAITING_REVIEW}),
    ),
    "record-manual-delivery": (EVERY, frozenset({CaseState.AWAITING_MANUAL_DELIVERY})),
    "decide-rectification": (
        frozenset({Kind.RECTIFICATION}),
        frozenset({CaseState.AWAITING_DECISION}),
    ),
    "record-restriction-ground": (
        frozenset({Kind.RESTRICTION}),
        frozenset({CaseState.AWAITING_DECISION}),
    ),
    "lift-restriction": (frozenset({Kind.RESTRICTION}), frozenset({CaseState.RESTRICTED})),
    "prepare-erasure-plan": (frozenset({Kind.ERASURE}), frozenset({CaseState.AWAITING_DECISION})),
    "approve-erasure-plan": (frozenset({Kind.ERASURE}), frozenset({CaseState.AWAITING_APPROVAL})),
    "reject-erasure-plan": (frozenset({Kind.ERASURE}), frozenset({CaseState.AWAITING_APPROVAL})),
    "refuse": (GDPR, REFUSABLE),
    "withdraw": (EVERY, WITHDRAWABLE),
    "extend": (EVERY, UNANSWERED),
    "ask-clarification": (EVERY, UNANSWERED),
    "record-clarification": (EVERY, UNANSWERED),
    "reassign": (EVERY, OPEN),
    "confirm-documents": (
        frozenset({Kind.PUBLIC_ACCESS}),
        frozenset({CaseState.AWAITING_CONFIRMATION}),
    ),
    "request-formal-decision": (
        frozenset({Kind.PUBLIC_ACCESS}),
        frozenset({CaseState.AWAITING_DECISION_REQUEST}),
    ),
    "make-formal-decision": (
        frozenset({Kind.PUBLIC_ACCESS}),
        frozenset({CaseState.AWAITING_FORMAL_DECISION}),
    ),
    "register-appeal": (frozenset({Kind.PUBLIC_ACCESS}), frozenset({CaseState.AWAITING_APPEAL})),
    "record-decision-receipt": (
        frozenset({Kind.PUBLIC_ACCESS}),
        frozenset({CaseState.AWAITING_APPEAL}),
    ),
}


# Where a document of a public-access request is reviewed for secrecy (again, after the
# preview: the copies are made anew).
REVIEWING = frozenset({CaseState.SECRECY_REVIEW, CaseState.AWAITING_REVIEW})

# Offered on the extract's page, where the handler has read what goes out.
ON_EXTRACT_PAGE = frozenset({"approve-release", "request-changes"})


@dataclass(frozen=True)
class Form:
    path: str
    title: str
    button: str
    controls: list[forms.Control]
    primary: bool = False


def _offered(status: CaseStatus, path: str) -> bool:
    kinds, states = OFFERED[path]
    if status.kind not in kinds or status.state not in states:
        return False
    if path == "record-clarification":
        return status.awaiting_clarification
    if path == "ask-clarification":
        return not status.awaiting_clarification
    if path == "extend":
        return status.extension_reason is None  # a case is extended once (Art. 12(3))
    if path == "record-restriction-ground":
        return status.restriction_ground is None
    return True


def _may(member: StaffMember, status: CaseStatus, action: Action) -> bool:
    if action.update == "reassign":
        # The assignee hands their own case on; anyone else's takes a team lead.
        own = (status.assignee or "").casefold() == member.login.casefold()
        if not member.allows(action.role_action):
            return False  # the service's own check (service.api_actions.perform)
        return own or member.allows("reassign")
    return member.allows(action.role_action)


# The fields whose options come from the case or the roster (`_choices`).
CHOSEN = ("accepted_fields", "to", "document_ids")


def _choices(member: StaffMember, status: CaseStatus) -> dict[str, list[tuple[str, str]]]:
    choices = {
        # A decision in part names some of the fields asked to be corrected (Art. 16).
        "accepted_fields": [
            (f.value, words.CHOICES.get(f, f.value)) for f in status.requested_fields
        ],
        "to": [
            (n, n) for n in handlers(member) if n.casefold() != (status.assignee or "").casefold()
        ],
    }
    if status.public is not None:
        choices["document_ids"] = [
            (
                str(d.document_id),
                f"{d.title} ({labels()['types'].get(d.type, d.type)}, {d.date.isoformat()}, "
                f"{d.pages} s.)",
            )
            for d in status.public.candidates
        ]
    return choices


def action_forms(member: StaffMember, status: CaseStatus, where: str = "case") -> list[Form]:
    """The actions the signed-in person's roles allow on the case as it stands, as forms."""
    found = []
    choices = _choices(member, status)
    for path in OFFERED:
        action = BY_PATH[path]
        if not _offered(status, path) or not _may(member, status, action):
            continue
        beside = status.extract is not None or status.public is not None
        if where == "case" and path in ON_EXTRACT_PAGE and beside:
            continue  # on the extract's or the copies' page, beside what it approves
        if where != "case" and path not in ON_EXTRACT_PAGE:
            continue
        title, button = words.ACTIONS[action.update]
        found.append(
            Form(
                path,
                title,
                button,
                forms.controls(action.model, choices),
                primary=path in ("approve-release", "verify-identity", "approve-erasure-plan"),
            )
        )
    if where == "case" and status.state is not CaseState.CLOSED and member.allows("link"):
        title, button = words.ACTIONS["link"]
        found.append(
            Form(
                LINK,
                title,
                button,
                [forms.Control("other", words.FIELDS["other"], "text", True, max_length=20)],
            )
        )
    return found


@dataclass(frozen=True)
class Event:
    at: str
    what: str
    who: str
    state: str
    detail: str


def timeline(status: CaseStatus) -> list[Event]:
    """What happened in the case, in order: its steps (who did what), the steps of the
    escalation ladder and the clock's pauses."""
    events: list[tuple[datetime, Event]] = [
        (
            status.received_at,
            Event(
                local(status.received_at),
                "Begäran kom in",
                f"via {words.CHANNELS.get(status.channel, status.channel)}",
                words.STATES[CaseState.REGISTERED],
                "",
            ),
        )
    ]
    for step in status.steps:
        who = "systemet" if step.actor in (ENGINE, "") else step.actor
        events.append(
            (
                step.at,
                Event(
                    local(step.at),
                    words.step(step.action),
                    who,
                    words.STATES.get(step.state, step.state),
                    step.detail or "",
                ),
            )
        )
    for escalation in status.escalations:
        what = f"Eskalering: {words.ESCALATIONS.get(escalation.step, escalation.step)}"
        detail = f"frist {escalation.deadline.isoformat()}"
        events.append((escalation.at, Event(local(escalation.at), what, "systemet", "", detail)))
    for pause in status.pauses:
        waits = words.PAUSES.get(pause.reason, pause.reason)
        counts = "" if pause.counts else "räknas inte: begärt för sent"
        events.append(
            (
                pause.started_at,
                Event(
                    local(pause.started_at),
                    f"Klockan stannade: väntar på {waits}",
                    "systemet",
                    "",
                    counts,
                ),
            )
        )
        if pause.ended_at is not None:
            events.append(
                (
                    pause.ended_at,
                    Event(
                        local(pause.ended_at),
                        f"Klockan går igen ({waits} kom in)",
                        "systemet",
                        "",
                        "",
                    ),
                )
            )
    events.sort(key=lambda pair: pair[0])
    return [event for _, event in events]


@router.get("/arenden/{case_number}")
@guarded
async def case_page(request: Request, case_number: CasePath) -> Response:
    person, member = await signed_in_staff(request)
    case_number = case_number_of(case_number)
    status = await cases.fetch_status(temporal(request), case_number)
    await recorded_read(request, case_number, member, "read:case")
    days_class, days_text = words.days_left(
        (status.deadline - datetime.now(STOCKHOLM).date()).days, answered=status.state in ANSWERED
    )
    settings: Settings = request.app.state.settings
    return page(
        request,
        "case.html",
        title=f"{status.case_number} – {words.KINDS.get(status.kind, status.kind)}",
        person=person,
        case=status,
        words=words,
        kind=words.KINDS.get(status.kind, status.kind),
        state=words.STATES.get(status.state, status.state),
        waits_for=words.WAITS_FOR.get(status.state, "–"),
        days_class=days_class,
        days_text=days_text,
        local=local,
        events=timeline(status),
        forms=action_forms(member, status),
        extract_review=status.extract is not None
        and status.state is CaseState.AWAITING_REVIEW
        and member.allows("read_extract"),
        reviewing=status.public is not None
        and status.state in REVIEWING
        and member.allows("review_document"),
        previewing=status.public is not None
        and status.public.letter_ref is not None
        and status.state is CaseState.AWAITING_REVIEW
        and member.allows("approve_release"),
        escalation=words.ESCALATIONS.get(status.escalation, status.escalation),
        web_ui=web_ui(settings, status.case_number),
        done=done_text(request.session.pop("klart", None)),
        labels=labels(),
    )


@router.get("/arenden/{case_number}/utdrag")
@guarded
async def extract_page(request: Request, case_number: CasePath) -> Response:
    person, member = await signed_in_staff(request)
    member.may("read_extract")
    case_number = case_number_of(case_number)
    status = await cases.fetch_status(temporal(request), case_number)
    if status.extract is None:
        raise Problem(409, f"case {case_number} has no extract (yet)")
    return page(
        request,
        "extract.html",
        title=f"Utdrag {case_number}",
        person=person,
        case=status,
        kind=words.KINDS.get(status.kind, status.kind),
        state=words.STATES.get(status.state, status.state),
        forms=action_forms(member, status, where="extract"),
    )


@router.get("/arenden/{case_number}/utdrag/brev")
@framed_route
async def extract_letter(request: Request, case_number: CasePath) -> Response:
    """The letter as the subject receives it, for the frame of the extract's page: shown in a
    sandbox (no script, no requests of its own), framed only by this service's pages."""
    _, member = await signed_in_staff(request)
    member.may("read_extract")
    case_number = case_number_of(case_number)
    status = await cases.fetch_status(temporal(request), case_number)
    if status.extract is None:
        raise Problem(409, f"case {case_number} has no extract (yet)")
    ref = status.extract.html_ref
    settings: Settings = request.app.state.settings
    text = unsealed(
        settings,
        [ref],
        f"case {case_number}: the extract is no longer kept (deleted after delivery)",
    )[ref]
    await recorded_read(request, case_number, member, "read:extract", "html")
    return framed(text)


@router.post("/arenden/{case_number}/atgard/{action_path}")
@guarded
async def act(request: Request, case_number: CasePath, action_path: ActionPath) -> Response:
    person, member = await signed_in_staff(request)
    form = await posted(request, person)
    case_number = case_number_of(case_number)
    if action_path == LINK:
        other = form.get("other")
        try:
            pair = LinkBody(other=str(other or "").strip())
        except ValidationError:
            raise Problem(422, "other: a case number such as DSR-2026-000042") from None
        await link(request, case_number, pair, member)
        return done(request, case_number, LINK)
    action = BY_PATH.get(action_path)
    if action is None or action_path not in OFFERED:
        raise Problem(404, f"the console has no action {action_path}")
    # Reading a form needs its controls' kinds, not their options: no status is fetched.
    values = forms.read(form, forms.controls(action.model, dict.fromkeys(CHOSEN, [])))
    try:
        body = body_model(action.model).model_validate(values)
    except ValidationError as error:
        raise Problem(422, invalid(error)) from None
    await perform(request, member, case_number, action, body)
    log.info("console_action", case=case_number, action=action.update, actor=member.login)
    return done(request, case_number, action_path)
