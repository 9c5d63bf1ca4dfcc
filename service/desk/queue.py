"""The inbox's rows, read from the case register (infra.db), not from Temporal's visibility.

Every transition a case makes is written to the register by the case itself (its state, its
assignee, its deadline, the trail row), so the register answers "which open cases, sorted by
deadline, a page at a time" with one indexed query. Temporal's SQL visibility cannot sort by a
search attribute, so a list sorted by deadline would read every open case on each view (a
quarter of a second with 5,000). No personal data is read: the register holds none in clear.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from infra.audit import READ_TRAIL_KEYS
from infra.codec import KeyRing
from infra.db import Case, CaseEvent
from infra.notes import open_note

PAGE = 100


@dataclass(frozen=True)
class Filter:
    assignee: str | None = None  # theirs (with `unassigned`: theirs and nobody's)
    unassigned: bool = False
    kind: str | None = None
    state: str | None = None
    due_by: date | None = None  # the deadline on or before this day
    newest_first: bool = False  # the latest deadline first
    by_number: bool = False


@dataclass(frozen=True)
class QueueRow:
    case_number: str
    kind: str
    state: str
    assignee: str | None
    deadline: date
    since: datetime | None  # when the case entered its current state


def _where(query: Select[Any], which: Filter) -> Select[Any]:
    query = query.where(Case.closed_at.is_(None))
    if which.unassigned and which.assignee is not None:
        query = query.where(or_(Case.assignee == which.assignee, Case.assignee.is_(None)))
    elif which.unassigned:
        query = query.where(Case.assignee.is_(None))
    elif which.assignee is not None:
        query = query.where(Case.assignee == which.assignee)
    if which.kind is not None:
        query = query.where(Case.kind == which.kind)
    if which.state is not None:
        query = query.where(Case.state == which.state)
    if which.due_by is not None:
        query = query.where(Case.deadline <= which.due_by)
    return query


async def open_cases(
    session: AsyncSession, which: Filter, page: int = 0
) -> tuple[int, list[QueueRow]]:
    """How many open cases `which` finds, and the `page`-th hundred of them in its order."""
    total = await session.scalar(_where(select(func.count()).select_from(Case), which)) or 0
    order: list[Any]
    if which.by_number:
        order = [Case.case_number]
    elif which.newest_first:
        order = [Case.deadline.desc(), Case.case_number.desc()]
    else:
        order = [Case.deadline, Case.case_number]
    cases = (
        await session.scalars(
            _where(select(Case), which).order_by(*order).limit(PAGE).offset(page * PAGE)
        )
    ).all()
    since = await _entered(session, [case.case_number for case in cases])
    return total, [
        QueueRow(
            case.case_number,
            case.kind,
            case.state,
            case.assignee,
            case.deadline,
            since.get(case.case_number),
        )
        for case in cases
    ]


async def _entered(session: AsyncSession, numbers: list[str]) -> dict[str, datetime]:
    """When each case last changed state: its latest trail row that moved it (not a read,
    not a note that leaves the state as it was)."""
    if not numbers:
        return {}
    rows = await session.execute(
        select(CaseEvent.case_number, func.max(CaseEvent.at))
        .where(
            CaseEvent.case_number.in_(numbers),
            CaseEvent.step < READ_TRAIL_KEYS,
            or_(
                CaseEvent.from_state.is_(None),
                and_(CaseEvent.from_state != CaseEvent.to_state),
            ),
        )
        .group_by(CaseEvent.case_number)
    )
    return {number: at for number, at in rows}  # noqa: C416 - a Result is no mapping


@dataclass(frozen=True)
class Waiting:
    case_number: str
    kind: str
    state: str
    assignee: str | None
    deadline: date
    since: datetime
    what: str  # the systems waited for, or the step of the escalation ladder


@dataclass(frozen=True)
class Closed:
    kind: str
    count: int
    median_days: float


@dataclass(frozen=True)
class Overview:
    counts: list[tuple[str, str, int]]  # open cases by kind and state
    overdue_total: int
    overdue: list[QueueRow]  # the first PAGE, the longest overdue first
    escalated: list[Waiting]
    waiting: list[Waiting]
    closed: list[Closed]  # per kind, and "" for all kinds
    since: date  # the first day of the closed cases counted


async def _latest(
    session: AsyncSession, actions: list[str], prefix: str | None = None
) -> list[tuple[Case, CaseEvent]]:
    """Each open case's latest trail row among `actions` (or starting with `prefix`)."""
    which = CaseEvent.action.in_(actions) if prefix is None else CaseEvent.action.like(f"{prefix}%")
    latest = (
        select(func.max(CaseEvent.id).label("id"))
        .join(Case, Case.case_number == CaseEvent.case_number)
        .where(Case.closed_at.is_(None), which)
        .group_by(CaseEvent.case_number)
        .subquery()
    )
    rows = await session.execute(
        select(Case, CaseEvent)
        .join(CaseEvent, CaseEvent.case_number == Case.case_number)
        .where(CaseEvent.id.in_(select(latest.c.id)))
        .order_by(CaseEvent.at)
    )
    return [(case, event) for case, event in rows]


def _note(event: CaseEvent, ring: KeyRing | None) -> str:
    """The row's note, opened (the register holds it sealed, infra.notes)."""
    detail = event.detail or {}
    note = str(detail.get("note", "")) if isinstance(detail, dict) else ""
    return open_note(ring, event.case_number, event.step, note) if note else ""


async def overview(
    session: AsyncSession,
    today: date,
    now: datetime,
    days: int = 30,
    ring: KeyRing | None = None,
) -> Overview:
    """What a supervisor looks at: the open cases by kind and state, the overdue, the
    escalated and those waiting for a system, and the cases closed in the last `days` with
    their median time from receipt to close."""
    counts = await session.execute(
        select(Case.kind, Case.state, func.count())
        .where(Case.closed_at.is_(None))
        .group_by(Case.kind, Case.state)
        .order_by(Case.kind, Case.state)
    )
    overdue_total, overdue = await open_cases(
        session, Filter(due_by=date.fromordinal(today.toordinal() - 1))
    )
    escalated = [
        Waiting(
            c.case_number, c.kind, c.state, c.assignee, c.deadline, e.at, e.action.partition(":")[2]
        )
        for c, e in await _latest(session, [], prefix="escalation:")
        if e.action in ("escalation:escalated", "escalation:overdue")
    ]
    waiting = [
        Waiting(c.case_number, c.kind, c.state, c.assignee, c.deadline, e.at, _note(e, ring))
        for c, e in await _latest(session, ["waiting_for_systems", "systems_answered"])
        if e.action == "waiting_for_systems"
    ]
    first = now - timedelta(days=days)
    closed_rows = await session.execute(
        select(Case.kind, Case.received_at, Case.closed_at).where(Case.closed_at >= first)
    )
    taken: dict[str, list[float]] = {}
    for kind, received, ended in closed_rows:
        if ended is None:
            continue
        days_taken = (ended - received).total_seconds() / 86400
        taken.setdefault(kind, []).append(days_taken)
        taken.setdefault("", []).append(days_taken)
    closed = [
        Closed(kind, len(values), round(statistics.median(values), 1))
        for kind, values in sorted(taken.items())
    ]
    return Overview(
        counts=[(kind, state, n) for kind, state, n in counts],
        overdue_total=overdue_total,
        overdue=overdue,
        escalated=escalated,
        waiting=waiting,
        closed=closed,
        since=first.date(),
    )
