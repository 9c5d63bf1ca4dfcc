"""The legal clock of a case: its deadline after extensions and pauses, and the escalation
ladder's steps. In an activity, so the holiday table and the configuration a case used are
recorded in its history and replay never depends on a package or a setting."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from contract.calendar import (
    STOCKHOLM,
    HolidayTableError,
    add_swedish_working_days,
    deadline_end,
    gdpr_deadline,
    gdpr_working_days_after,
    last_gdpr_working_day_until,
    swedish_period_end,
)
from contract.case import DeadlineInput, DeadlinePlan, Escalation, EscalationStep, PauseRecord
from contract.public_access import AppealWindow, AppealWindowInput
from contract.vocabulary import Kind
from infra.config import Settings

# Reminders and escalations go out at the start of a working day, Stockholm time.
MORNING = time(8, 0)


@contextmanager
def on_the_table() -> Iterator[None]:
    """A date beyond the holiday table fails the activity for good, with the calendar's
    message: retrying would compute nothing new, for ever."""
    try:
        yield
    except HolidayTableError as error:
        raise ApplicationError(str(error), type="HolidayTableError", non_retryable=True) from None


class DeadlineActivities:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @activity.defn
    async def plan_deadline(self, request: DeadlineInput) -> DeadlinePlan:
        with on_the_table():
            return self._plan_deadline(request)

    @activity.defn
    async def appeal_window(self, request: AppealWindowInput) -> AppealWindow:
        with on_the_table():
            return self._appeal_window(request)

    def _plan_deadline(self, request: DeadlineInput) -> DeadlinePlan:
        """The deadline (one month, three if extended, later by the paused days) and the ladder.

        A pause counts only if the question went out within the configured working days of
        receipt (none: pauses never count); an open pause that counts stops the clock
        (`paused`), and its days are added when it ends, days covered by two pauses once.
        """
        received = request.received_at.astimezone(STOCKHOLM).date()
        if request.kind is Kind.PUBLIC_ACCESS:
            return self._skyndsamt(received)
        counted = [i for i, pause in enumerate(request.pauses) if self._counts(received, pause)]
        paused_days = _days_covered(
            (_day(request.pauses[i].started_at), _day(ended))
            for i in counted
            if (ended := request.pauses[i].ended_at) is not None
        )
        deadline = gdpr_deadline(
            request.received_at, extended=request.extended, paused_days=paused_days
        )
        reminder, escalation = self._settings.ladder(request.kind.value)
        steps = [
            EscalationStep(step=Escalation.REMINDED, at=_morning(deadline, reminder)),
            EscalationStep(step=Escalation.ESCALATED, at=_morning(deadline, escalation)),
            EscalationStep(step=Escalation.OVERDUE, at=deadline_end(deadline)),
        ]
        return DeadlinePlan(
            deadline=deadline,
            deadline_at=deadline_end(deadline),
            steps=steps,
            paused_days=paused_days,
            paused=any(request.pauses[i].ended_at is None for i in counted),
            counted=counted,
        )

    def _appeal_window(self, request: AppealWindowInput) -> AppealWindow:
        """Weeks from the day the decision was received; a last day that is not a working day
        under Lag 1930:173 (a weekend, a holiday, Midsummer, Christmas or New Year's Eve)
        moves to the next working day."""
        received = request.received_on or _day(request.sent_at)
        last_day = swedish_period_end(received + timedelta(weeks=request.weeks))
        ends_at = deadline_end(last_day)
        return AppealWindow(
            received_on=received,
            last_day=last_day,
            ends_at=ends_at,
            closes_at=ends_at + timedelta(days=request.late_days),
        )

    def _skyndsamt(self, received: date) -> DeadlinePlan:
        """Public access, "skyndsamt" (TF 2:15): decided within the first number of working
        days (Lag 1930:173) after receipt. The assignee is reminded the morning of that day,
        the case is escalated the next working morning if still undecided, and overdue the
        working morning after the second number. No pauses, no extension."""
        first, second = self._settings.public_access_escalation_working_days
        deadline = public_access_deadline(received, first)
        steps = [
            EscalationStep(step=Escalation.REMINDED, at=_at_morning(deadline)),
            EscalationStep(
                step=Escalation.ESCALATED,
                at=_at_morning(add_swedish_working_days(received, first + 1)),
            ),
            EscalationStep(
                step=Escalation.OVERDUE,
                at=_at_morning(add_swedish_working_days(received, second + 1)),
            ),
        ]
        return DeadlinePlan(deadline=deadline, deadline_at=deadline_end(deadline), steps=steps)

    def _counts(self, received: date, pause: PauseRecord) -> bool:
        within = self._settings.pause_if_asked_within_working_days
        if within is None:
            return False
        return gdpr_working_days_after(received, _day(pause.started_at)) <= within


def _days_covered(spans: Iterable[tuple[date, date]]) -> int:
    """Days inside any of the spans (start day counted, end day not), overlaps counted once:
    a clarification asked while identity proof is awaited adds nothing twice."""
    days: set[date] = set()
    for start, end in spans:
        days.update(start + timedelta(days=n) for n in range((end - start).days))
    return len(days)


def _day(moment: datetime) -> date:
    return moment.astimezone(STOCKHOLM).date()


def _morning(deadline: date, days_before: int) -> datetime:
    """The morning `days_before` the deadline, or of the working day before it when that day is
    a weekend or a holiday: a step falls due early rather than late."""
    return _at_morning(last_gdpr_working_day_until(deadline - timedelta(days=days_before)))


def _at_morning(day: date) -> datetime:
    return datetime.combine(day, MORNING, tzinfo=STOCKHOLM)


def public_access_deadline(received: date, working_days: int) -> date:
    """The day a public-access request should be decided by: `working_days` working days
    after the day of receipt, at least the next working day (a request is never due the day
    it comes in, however configured)."""
    return add_swedish_working_days(received, max(working_days, 1))
