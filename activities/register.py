"""The case register: intake (atomic numbers, one open case per subject and kind), the trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deadlines import on_the_table, public_access_deadline
from contract.calendar import STOCKHOLM, deadline_end, gdpr_deadline
from contract.case import CaseState, RecordDeadlineInput
from contract.intake import OpenCaseResult, RegisterCaseInput, SubmitRequestInput
from contract.steps import (
    RecordEventInput,
    RecordTransitionInput,
    RestrictionHoldInput,
    RestrictionHoldResult,
)
from contract.subject import subject_reference
from contract.vocabulary import Kind
from infra.audit import READ_TRAIL_KEYS, READ_WINDOW, append_link, chain_key
from infra.codec import KeyRing
from infra.db import Case, CaseCounter, CaseEvent, PublicEntry, RestrictionHold
from infra.notes import open_note, seal_note

_ALLOCATION_ATTEMPTS = 5


ANONYMOUS = "anonymous"


class RegisterActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        secret: str,
        public_access_working_days: int = 1,
        ring: KeyRing | None = None,
    ) -> None:
        self._sessions = sessions
        self._secret = secret
        # Notes in the trail are sealed under the payload keys (infra.notes).
        self._ring = ring
        self._chain_key = chain_key(secret)
        self._public_days = public_access_working_days

    @activity.defn
    async def register_case(self, registration: RegisterCaseInput) -> OpenCaseResult:
        """Register a request, or return the open case of the same subject and kind.

        Safe to retry: a second attempt finds the case the first one committed and, because the
        intake id matches, still reports it as new.
        """
        request = registration.request
        try:
            self._deadline(request)
        except (ValueError, OverflowError) as error:
            raise ApplicationError(
                "the date of receipt gives no valid deadline",
                type="InvalidReceipt",
                non_retryable=True,
            ) from error
        if request.subject_id is None:
            # Anyone may ask for documents as often as they like: no "one open case" rule;
            # a retry of this intake finds the case it registered.
            open_key, find = None, (Case.intake_id == registration.intake_id)
        else:
            open_key = f"{request.kind}:{subject_reference(request.subject_id, self._secret)}"
            find = Case.open_key == open_key
        for _ in range(_ALLOCATION_ATTEMPTS):
            existing = await self._find_open(find, registration.intake_id)
            if existing is not None:
                return existing
            try:
                return await self._insert(request, open_key, registration.intake_id)
            except IntegrityError:
                # Another intake for the same subject and kind, or the first case of a new
                # year, won the race; look again.
                continue
        raise RuntimeError("could not allocate a case number; retrying")

    @activity.defn
    async def record_transition(self, transition: RecordTransitionInput) -> None:
        """Move the case's state and append one row to the trail; the n-th step is written once."""
        now = datetime.now(UTC)
        values: dict[str, object] = {"state": transition.to_state.value}
        if transition.assignee is not None:
            values["assignee"] = transition.assignee
        if transition.outcome is not None:
            values["outcome"] = transition.outcome.value
        if transition.to_state is CaseState.CLOSED:
            values.update(open_key=None, closed_at=now)
        try:
            async with self._sessions.begin() as session:
                # The write comes first so the transaction holds SQLite's write lock from its
                # first statement; a read first could not be upgraded under concurrent writers.
                moved = await session.execute(
                    update(Case).where(Case.case_number == transition.case_number).values(values)
                )
                if moved.rowcount != 1:  # type: ignore[attr-defined]
                    # The register and Temporal disagree: stall (and retry) rather than go on.
                    raise RuntimeError(f"case {transition.case_number} is not in the register")
                written = await session.scalar(
                    select(CaseEvent.id).where(
                        CaseEvent.case_number == transition.case_number,
                        CaseEvent.step == transition.step,
                    )
                )
                if written is None:
                    event = CaseEvent(
                        case_number=transition.case_number,
                        step=transition.step,
                        at=now,
                        actor=transition.actor,
                        action=transition.action,
                        from_state=transition.from_state,
                        to_state=transition.to_state,
                        detail=self._note(
                            transition.case_number, transition.step, transition.detail
                        ),
                    )
                    session.add(event)
                    await append_link(session, event, self._chain_key)
        except IntegrityError as error:
            if not _is_duplicate_step(error):
                raise
            # A concurrent attempt of the same step wrote it first.

    @activity.defn
    async def record_event(self, event: RecordEventInput) -> None:
        """Append a trail row that leaves the case's state as it is; written once per key."""
        await self._append(event.case_number, event.key, event.actor, event.action, event.detail)

    @activity.defn
    async def record_deadline(self, change: RecordDeadlineInput) -> None:
        """The case's deadline moved (an extension, a pause) or a ladder step fell due: the
        register gets the current deadline (and assignee) and a trail row, once per key."""

        def bring_up_to_date(case: Case) -> None:
            case.deadline = change.deadline
            if change.assignee is not None:
                case.assignee = change.assignee

        await self._append(
            change.case_number,
            change.key,
            change.actor,
            change.action,
            change.detail,
            bring_up_to_date,
        )

    async def record_read(
        self, case_number: str, actor: str, action: str, detail: str | None = None
    ) -> bool:
        """A person read the case, its extract or a document under review (the case service):
        a trail row in the case's chain, under the next free key from READ_TRAIL_KEYS. The same
        person reading the same thing again within READ_WINDOW adds nothing (a view, not each
        refresh of it). False when there was nothing new to write."""
        for attempt in range(_ALLOCATION_ATTEMPTS):
            try:
                return await self._append(case_number, None, actor, action, detail)
            except IntegrityError as error:
                # Two reads of one case took the same key at once: take the next.
                if not _is_duplicate_step(error) or attempt == _ALLOCATION_ATTEMPTS - 1:
                    raise
        return False

    async def _append(
        self,
        case_number: str,
        key: int | None,
        actor: str,
        action: str,
        detail: str | None,
        change: Callable[[Case], None] | None = None,
    ) -> bool:
        """A trail row that leaves the state as it is (and `change` applied to the case row),
        in one transaction; a retry of a key already written changes nothing. `key` None: a
        read, under the next read key (and nothing if the same read is recent)."""
        try:
            async with self._sessions.begin() as session:
                # A write first: the transaction holds SQLite's write lock (PostgreSQL: the
                # case's row) before it reads the chain's last link.
                touched = await session.execute(
                    update(Case).where(Case.case_number == case_number).values(state=Case.state)
                )
                if touched.rowcount != 1:  # type: ignore[attr-defined]
                    missing = f"case {case_number} is not in the register"
                    # A read of an unknown case is the caller's mistake; an activity's, the
                    # register and Temporal disagreeing: it stalls and retries.
                    raise LookupError(missing) if key is None else RuntimeError(missing)
                case = await session.get_one(Case, case_number)
                now = datetime.now(UTC)
                if key is None:
                    if await self._read_lately(session, case_number, actor, action, detail, now):
                        return False
                    last = await session.scalar(
                        select(func.max(CaseEvent.step)).where(
                            CaseEvent.case_number == case_number,
                            CaseEvent.step >= READ_TRAIL_KEYS,
                        )
                    )
                    key = (last or READ_TRAIL_KEYS - 1) + 1
                if change is not None:
                    change(case)
                event = CaseEvent(
                    case_number=case_number,
                    step=key,
                    at=now,
                    actor=actor,
                    action=action,
                    from_state=case.state,
                    to_state=case.state,
                    detail=self._note(case_number, key, detail),
                )
                session.add(event)
                await append_link(session, event, self._chain_key)
        except IntegrityError as error:
            if key is not None and key >= READ_TRAIL_KEYS or not _is_duplicate_step(error):
                raise
            return False
        return True

    def _note(self, case_number: str, step: int, detail: str | None) -> dict[str, str] | None:
        """The trail row's note as stored: a handler's free text is personal, so sealed."""
        if not detail:
            return None
        return {"note": seal_note(self._ring, case_number, step, detail)}

    async def _read_lately(
        self,
        session: AsyncSession,
        case_number: str,
        actor: str,
        action: str,
        detail: str | None,
        now: datetime,
    ) -> bool:
        """The same person read the same thing (the same document, the same form) lately."""
        recent = await session.execute(
            select(CaseEvent.step, CaseEvent.detail).where(
                CaseEvent.case_number == case_number,
                CaseEvent.step >= READ_TRAIL_KEYS,
                CaseEvent.actor == actor,
                CaseEvent.action == action,
                CaseEvent.at >= now - READ_WINDOW,
            )
        )
        for step, seen in recent:
            note = (seen or {}).get("note")
            opened = open_note(self._ring, case_number, step, note) if note else None
            if opened == (detail or None):
                return True
        return False

    @activity.defn
    async def set_restriction_hold(self, change: RestrictionHoldInput) -> RestrictionHoldResult:
        """Add or release this case's hold on the subject's restriction; idempotent."""
        subject_ref = subject_reference(change.subject_id, self._secret)
        async with self._sessions.begin() as session:
            mine = select(RestrictionHold.id).where(
                RestrictionHold.subject_ref == subject_ref,
                RestrictionHold.case_number == change.case_number,
            )
            if change.hold:
                if await session.scalar(mine) is None:
                    session.add(
                        RestrictionHold(
                            subject_ref=subject_ref,
                            case_number=change.case_number,
                            created_at=datetime.now(UTC),
                        )
                    )
                    await session.flush()
            else:
                await session.execute(
                    delete(RestrictionHold).where(
                        RestrictionHold.subject_ref == subject_ref,
                        RestrictionHold.case_number == change.case_number,
                    )
                )
            remaining = await session.scalar(
                select(func.count())
                .select_from(RestrictionHold)
                .where(RestrictionHold.subject_ref == subject_ref)
            )
        return RestrictionHoldResult(holds_remaining=remaining or 0)

    def _deadline(self, request: SubmitRequestInput) -> date:
        with on_the_table():
            if request.kind is Kind.PUBLIC_ACCESS:
                received = request.received_at.astimezone(STOCKHOLM).date()
                return public_access_deadline(received, self._public_days)
            return gdpr_deadline(request.received_at)

    async def _find_open(self, find: ColumnElement[bool], intake_id: str) -> OpenCaseResult | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Case.case_number, Case.deadline, Case.intake_id).where(find)
                )
            ).first()
        if row is None:
            return None
        return OpenCaseResult(
            case_number=row.case_number,
            deadline=row.deadline,
            deadline_at=deadline_end(row.deadline),
            existing=row.intake_id != intake_id,
        )

    async def _insert(
        self, request: SubmitRequestInput, open_key: str | None, intake_id: str
    ) -> OpenCaseResult:
        now = datetime.now(UTC)
        year = now.astimezone(STOCKHOLM).year
        deadline = self._deadline(request)
        async with self._sessions.begin() as session:
            # The counter is written first so that the transaction holds the write lock from
            # its first statement (SQLite) or the row lock (PostgreSQL) until it commits.
            sequence = await session.scalar(
                update(CaseCounter)
                .where(CaseCounter.year == year)
                .values(last=CaseCounter.last + 1)
                .returning(CaseCounter.last)
            )
            if sequence is None:
                sequence = 1
                session.add(CaseCounter(year=year, last=sequence))
                await session.flush()
            case_number = f"DSR-{year}-{sequence:06d}"
            session.add(
                Case(
                    case_number=case_number,
                    kind=request.kind.value,
                    received_at=request.received_at,
                    channel=request.channel.value,
                    deadline=deadline,
                    state=CaseState.REGISTERED.value,
                    assignee=request.assignee,
                    # No subject in a public-access case: nothing to find it by.
                    subject_ref=(
                        subject_reference(request.subject_id, self._secret)
                        if request.subject_id
                        else ""
                    ),
                    open_key=open_key,
                    intake_id=intake_id,
                    created_at=now,
                )
            )
            await session.flush()
            if request.public is not None:
                session.add(
                    PublicEntry(
                        case_number=case_number,
                        sender=request.public.sender or ANONYMOUS,
                        description=request.public.description,
                    )
                )
            registered = CaseEvent(
                case_number=case_number,
                step=0,
                at=now,
                actor=request.assignee or "intake",
                action="register",
                from_state=None,
                to_state=CaseState.REGISTERED.value,
                detail={"channel": request.channel.value},
            )
            session.add(registered)
            await append_link(session, registered, self._chain_key)
        activity.logger.info("case registered", extra={"case_number": case_number})
        return OpenCaseResult(
            case_number=case_number,
            deadline=deadline,
            deadline_at=deadline_end(deadline),
            existing=False,
        )


def _is_duplicate_step(error: IntegrityError) -> bool:
    """The trail's (case, step) key was already written (SQLite and PostgreSQL wording)."""
    text = str(error.orig)
    return "uq_case_events_step" in text or "case_events.step" in text
