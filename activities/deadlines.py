"""The legal clock of a case: its deadline after extensions and pauses, and the escalation
ladder's steps. In an activity, so the holiday table and the configuration a case used are
recorded in its history and replay never depends on a package or a setting."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from temporalio import activity

from dsr.calendar import STOCKHOLM, deadline_end, gdpr_deadline, gdpr_working_days_after
from dsr.config import Settings
from dsr.models import DeadlineInput, DeadlinePlan, Escalation, EscalationStep, PauseRecord

# Reminders and escalations go out at the start of a working day, Stockholm time.
MORNING = time(8, 0)


class DeadlineActivities:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @activity.defn
    async def plan_deadline(self, request: DeadlineInput) -> DeadlinePlan:
        """The deadline (one month, three if extended, later by the paused days) and the ladder.

        A pause counts only if the question went out within the configured working days of
        receipt (none: pauses never count); an open pause that counts stops the clock
        (`paused`), and its days are added when it ends, days covered by two pauses once.
        """
        received = request.received_at.astimezone(STOCKHOLM).date()
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
    return datetime.combine(deadline - timedelta(days=days_before), MORNING, tzinfo=STOCKHOLM)
