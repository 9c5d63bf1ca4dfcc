"""The inbox ("Mina ärenden") and the supervisor's overview, read from the case register.

GET  /           a handler's cases and the team's unassigned: filters, days left, pages
GET  /oversikt   open cases by kind and state, the overdue, escalated and waiting, the
                 closed of the last 30 days with their median time
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from contract.calendar import STOCKHOLM
from contract.case import CaseState
from contract.vocabulary import Kind
from infra.config import Settings
from service.console import ROLES_SV, page, session_note
from service.desk import queue, words
from service.desk.case import OPEN
from service.desk.kit import (
    choice,
    guarded,
    handlers,
    local,
    signed_in_staff,
    web_ui,
)
from workflows.case.state import ANSWERED

router = APIRouter(include_in_schema=False)

VIEWS = {
    "mina": "Mina och otilldelade",
    "otilldelade": "Otilldelade",
    "alla": "Alla öppna",
}


MAX_PAGE = 10_000

DUE = {
    "": "Alla",
    "forsenade": "Försenade",
    "5": "Inom 5 dagar",
    "10": "Inom 10 dagar",
    "30": "Inom 30 dagar",
}


ORDER = {
    "frist": "Frist, närmast först",
    "frist-sist": "Frist, senast först",
    "nummer": "Ärendenummer",
}


@dataclass(frozen=True)
class Row:
    case_number: str
    kind: str
    state: str
    waits_for: str
    since: str
    assignee: str
    deadline: str
    days_class: str
    days_text: str


def _since(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "–"
    at = at.astimezone(STOCKHOLM)
    days = (now.date() - at.date()).days
    when = at.strftime("%Y-%m-%d %H:%M")
    if days <= 0:
        return f"{when} (i dag)"
    return f"{when} ({days} {'dag' if days == 1 else 'dagar'})"


def _row(case: queue.QueueRow, now: datetime) -> Row:
    days_class, days_text = words.days_left(
        (case.deadline - now.date()).days, answered=case.state in ANSWERED
    )
    return Row(
        case_number=case.case_number,
        kind=words.KINDS.get(case.kind, case.kind),
        state=words.STATES.get(case.state, case.state),
        waits_for=words.WAITS_FOR.get(case.state, "–"),
        since=_since(case.since, now),
        assignee=case.assignee or "otilldelat",
        deadline=case.deadline.isoformat(),
        days_class=days_class,
        days_text=days_text,
    )


@router.get("/")
@guarded
async def inbox(
    request: Request,
    vy: Annotated[str | None, Query(max_length=20)] = None,
    typ: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=40)] = None,
    handlaggare: Annotated[str | None, Query(max_length=64)] = None,
    frist: Annotated[str | None, Query(max_length=20)] = None,
    ordning: Annotated[str | None, Query(max_length=20)] = None,
    sida: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    person, member = await signed_in_staff(request)
    # What is not a page number is the first page: the address is typed, not an API's.
    current = min(max(int(sida), 1), MAX_PAGE) if sida is not None and sida.isdigit() else 1
    view = choice(vy, VIEWS, "mina")
    kind = choice(typ, frozenset(Kind), "")
    state = choice(status, frozenset(OPEN), "")
    due = choice(frist, DUE, "")
    order = choice(ordning, ORDER, "frist")
    names = handlers(member)
    chosen = choice(handlaggare, frozenset(names), "") if view == "alla" else ""
    now = datetime.now(STOCKHOLM)
    today = now.date()
    which = queue.Filter(
        assignee=member.login if view == "mina" else (chosen or None),
        unassigned=view in ("mina", "otilldelade"),
        kind=kind or None,
        state=state or None,
        due_by=today - timedelta(days=1)
        if due == "forsenade"
        else (today + timedelta(days=int(due)) if due.isdigit() else None),
        newest_first=order == "frist-sist",
        by_number=order == "nummer",
    )
    async with request.app.state.register_sessions() as session:
        total, found = await queue.open_cases(session, which, current - 1)
    rows = [_row(case, now) for case in found]
    chosen_filters = {
        key: value
        for key, value in {
            "vy": view,
            "typ": kind,
            "status": state,
            "handlaggare": chosen,
            "frist": due,
            "ordning": order,
        }.items()
        if value
    }
    pages = max(1, -(-total // queue.PAGE))

    def at_page(number: int) -> str:
        return "/?" + urllib.parse.urlencode({**chosen_filters, "sida": number})

    return page(
        request,
        "inbox.html",
        title="Mina ärenden",
        person=person,
        roles=[ROLES_SV.get(role, role) for role in member.roles],
        note=session_note(request, person),
        rows=rows,
        total=total,
        first=(current - 1) * queue.PAGE + 1,
        page_number=current,
        pages=pages,
        previous=at_page(current - 1) if current > 1 else None,
        next=at_page(current + 1) if current < pages else None,
        view=view,
        views=VIEWS,
        kinds={"": "Alla", **{k.value: words.KINDS[k] for k in Kind}},
        kind=kind,
        states={"": "Alla", **{s.value: words.STATES[s] for s in CaseState if s in OPEN}},
        state=state,
        due=due,
        dues=DUE,
        order=order,
        orders=ORDER,
        handlers={"": "Alla", **{name: name for name in names}},
        handler=chosen,
    )


@router.get("/oversikt")
@guarded
async def overview_page(request: Request) -> Response:
    """For supervisors: open cases by kind and state, the overdue, the escalated and those
    waiting for a system, and the cases closed in the last 30 days with their median time;
    each case links to its page and its workflow in the Temporal Web UI."""
    person, _ = await signed_in_staff(request)
    now = datetime.now(STOCKHOLM)
    settings: Settings = request.app.state.settings
    async with request.app.state.register_sessions() as session:
        seen = await queue.overview(session, now.date(), now, ring=settings.key_ring())
    by_kind: dict[str, dict[str, int]] = {}
    for kind, state, count in seen.counts:
        by_kind.setdefault(kind, {})[state] = count
    states = [s for s in CaseState if any(s.value in row for row in by_kind.values())]
    return page(
        request,
        "overview.html",
        title="Översikt",
        person=person,
        seen=seen,
        by_kind=by_kind,
        states=states,
        words=words,
        overdue=[_row(case, now) for case in seen.overdue],
        web_ui=lambda number: web_ui(settings, number),
        local=local,
        workflows=f"{settings.ui_url.rstrip('/')}/namespaces/"
        f"{urllib.parse.quote(settings.temporal_namespace, safe='')}/workflows",
    )
