"""The clock: the deadline, pauses and the extension, and the escalation ladder that runs on
durable timers in a task of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from contract import search
from contract.actions import ActionResult
from contract.case import (
    AskClarificationInput,
    DeadlineInput,
    DeadlinePlan,
    Escalation,
    EscalationRecord,
    EscalationStep,
    ExtendInput,
    PauseRecord,
    RecordClarificationInput,
    RecordDeadlineInput,
)
from contract.handling import ASK_CLARIFICATION, EXTEND, RECORD_CLARIFICATION
from contract.policies import PERSISTENT, SHORT_TIMEOUT, run_here_or_queued
from contract.vocabulary import Kind
from workflows.case.patches import CLOCK_EVENTS_LOCAL_PATCH, ESCALATION_LADDER_PATCH
from workflows.case.state import ENGINE, CaseCore, WrongState

with workflow.unsafe.imports_passed_through():
    from activities.deadlines import DeadlineActivities
    from activities.register import RegisterActivities


ESCALATIONS_METRIC = "dsr_escalations"


# Trail rows of the clock (ladder steps, extension, pauses) are numbered from here, clear of
# the case's own steps and of an erasure's follow-up runs.
CLOCK_TRAIL_KEY = 20_000


# What a question to the subject says about the clock, when the pause counts.
CLOCK_STOPS_SV = (
    "Tiden för vårt svar räknas inte medan vi väntar på ditt svar (artikel 12 "
    "dataskyddsförordningen)."
)


LADDER = (Escalation.NONE, Escalation.REMINDED, Escalation.ESCALATED, Escalation.OVERDUE)


# Who is told at each step of the ladder (DOMAIN.md): the assignee is reminded; the team lead
# gets the escalation and the DPO is told; when overdue, the DPO is told.
LADDER_NOTICES = {
    Escalation.REMINDED: (("assignee", "reminder"),),
    Escalation.ESCALATED: (("team_lead", "escalated"), ("dpo", "escalated")),
    Escalation.OVERDUE: (("dpo", "overdue"),),
}


class CaseClock(CaseCore):
    """The deadline and its ladder (cases started since ESCALATION_LADDER_PATCH).

    The deadline and the ladder's steps come from an activity; a background task waits on
    durable timers for each step (reminder, escalation, overdue), fires each once and in order
    (at once if it is already due: a worker that was down, a case registered late), and follows
    the deadline when an extension or the end of a pause moves it. While the engine waits for
    identity proof it asked for in time, the clock stands still and each pause is recorded.
    Extensions and pauses are the GDPR kinds' (`_require_gdpr_clock`): a public-access request
    is handled without delay, and its validators refuse both.
    """

    # Who is told at each step of the ladder.
    LADDER_NOTICES: Mapping[Escalation, tuple[tuple[str, str], ...]] = LADDER_NOTICES

    @workflow.update(name=EXTEND.update)
    async def extend(self, action: ExtendInput) -> ActionResult:
        self._extending = True
        try:
            await self._authorize(action.handler, EXTEND.role_action)
            self._still_running_clock()
            async with self._clock_lock:
                new = await self._plan_deadline(extended=True)
                if not action.told_outside:
                    await self._tell_extension(action, new)
                if workflow.now() > self._deadline_at:
                    raise WrongState(
                        f"case {self._case.case_number}: the deadline passed before the "
                        "extension was in place; it was not extended"
                    )
                self._extension = action
                # The ladder starts again for the new deadline: a reminder before it, and so on
                # (set before the clock is woken by the new plan).
                self._generation += 1
                if self._escalation is not Escalation.NONE:
                    self._escalation = Escalation.NONE
                    workflow.upsert_search_attributes(
                        [search.ESCALATION.value_set(Escalation.NONE.value)]
                    )
                await self._move_deadline(
                    new, actor=action.handler, action="extend", detail=action.reason
                )
        finally:
            self._extending = False
        return ActionResult(case_number=self._case.case_number, state=self._state)

    async def _tell_extension(self, action: ExtendInput, new: DeadlinePlan) -> None:
        """The subject learns the reasons and the new deadline before the old one passes."""
        left = self._deadline_at - workflow.now()
        try:
            told = await self._send_notice(
                "extension",
                reason=action.reason,
                facts={"deadline": new.deadline.isoformat()},
                within=max(left, timedelta(seconds=1)),
            )
        except ActivityError as error:
            raise WrongState(
                f"case {self._case.case_number}: the subject could not be told before the "
                "deadline; it was not extended"
            ) from error
        if not told:
            raise WrongState(
                f"case {self._case.case_number}: the subject has no digital mailbox; tell them "
                "the reasons by letter or phone, then extend with --told-outside"
            )

    @extend.validator
    def _validate_extend(self, action: ExtendInput) -> None:
        number = self._case.case_number
        self._require_gdpr_clock("extended")
        if self._answered:
            raise WrongState(f"case {number} is {self._state.value}: the request is answered")
        if self._clock_plan is None:
            raise WrongState(f"case {number} has no running clock to extend")
        if self._extension is not None or self._extending:
            raise WrongState(f"case {number} is already extended (a case is extended once)")
        if workflow.now() > self._deadline_at:
            raise WrongState(
                f"case {number}: the original deadline {self._deadline} has passed; an "
                "extension is possible only before it (Art. 12(3))"
            )
        self._check_role(action.handler, EXTEND.role_action)

    @workflow.update(name=ASK_CLARIFICATION.update)
    async def ask_clarification(self, action: AskClarificationInput) -> ActionResult:
        self._clarifying = True
        try:
            await self._authorize(action.handler, ASK_CLARIFICATION.role_action)
            self._still_running_clock()
            key = str(self._clarifications + 1)
            counts = await self._ask_subject(
                "clarification", "clarification_requested", question=action.question, key=key
            )
            if counts is None:
                raise WrongState(
                    f"case {self._case.case_number}: the subject has no digital mailbox; ask "
                    "them by letter or phone instead"
                )
            self._clarifications += 1
            self._clarification = action
            await self._record_clock_event(
                actor=action.handler,
                action="ask_clarification",
                detail="the clock stands still" if counts else "asked late: the clock runs on",
            )
        finally:
            self._clarifying = False
        return ActionResult(case_number=self._case.case_number, state=self._state)

    @ask_clarification.validator
    def _validate_ask_clarification(self, action: AskClarificationInput) -> None:
        number = self._case.case_number
        self._require_gdpr_clock("paused for a clarification")
        if self._answered:
            raise WrongState(f"case {number} is {self._state.value}: the request is answered")
        if self._clock_plan is None:
            raise WrongState(f"case {number} has no running clock")
        if self._clarification is not None or self._clarifying:
            raise WrongState(f"case {number} already waits for a clarification")
        self._check_role(action.handler, ASK_CLARIFICATION.role_action)

    @workflow.update(name=RECORD_CLARIFICATION.update)
    async def record_clarification(self, action: RecordClarificationInput) -> ActionResult:
        await self._authorize(action.handler, RECORD_CLARIFICATION.role_action)
        # Checked again: another handler may have recorded it meanwhile.
        self._revalidate(self._validate_record_clarification, action)
        self._clarification = None
        await self._resume("clarification", on=action.received_on)
        await self._record_clock_event(actor=action.handler, action="clarification_received")
        return ActionResult(case_number=self._case.case_number, state=self._state)

    @record_clarification.validator
    def _validate_record_clarification(self, action: RecordClarificationInput) -> None:
        if self._clarification is None:
            raise WrongState(f"case {self._case.case_number} waits for no clarification")
        self._check_answer_day(action.received_on, "the answer arrived")
        self._check_role(action.handler, RECORD_CLARIFICATION.role_action)

    def _still_running_clock(self) -> None:
        """Handler check after the roster was read: the request was not answered meanwhile."""
        if self._answered or self._clock_plan is None:
            raise WrongState(
                f"case {self._case.case_number} is {self._state.value}: the request was answered "
                "meanwhile; nothing was done"
            )

    def _require_gdpr_clock(self, what: str) -> None:
        if self._case.kind is Kind.PUBLIC_ACCESS:
            raise WrongState(
                f"case {self._case.case_number} is a public-access request: it is handled "
                f"without delay (skyndsamt) and cannot be {what}"
            )

    async def _start_clock(self) -> None:
        """Plan the deadline and start the ladder, once, before the case's first step."""
        if self._clock_started:
            return
        self._clock_started = True
        # The roster, for validators to judge actors by until an action reads it again.
        await self._read_roster()
        if not workflow.patched(ESCALATION_LADDER_PATCH):
            return  # cases started before the ladder existed keep their course
        self._clock_plan = await self._plan_deadline()
        self._clock_task = asyncio.create_task(self._run_clock())

    async def _plan_deadline(self, *, extended: bool | None = None) -> DeadlinePlan:
        """The deadline as the pauses so far and the extension (or `extended`) make it."""
        return await workflow.execute_activity_method(
            DeadlineActivities.plan_deadline,
            DeadlineInput(
                case_number=self._case.case_number,
                kind=self._case.kind,
                received_at=self._clock_since,
                extended=self._extension is not None if extended is None else extended,
                pauses=self._pauses,
            ),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )

    async def _move_deadline(
        self, plan: DeadlinePlan, *, actor: str, action: str, detail: str | None = None
    ) -> None:
        """The clock follows `plan`; a new deadline reaches the UI and the register."""
        self._clock_plan = plan
        self._clock_version += 1
        if plan.deadline == self._deadline:
            return
        self._deadline, self._deadline_at = plan.deadline, plan.deadline_at
        workflow.upsert_search_attributes([search.DEADLINE.value_set(plan.deadline_at)])
        await self._record_clock_event(actor=actor, action=action, detail=detail)

    async def _record_clock_event(
        self, *, actor: str, action: str, detail: str | None = None
    ) -> None:
        self._clock_events += 1
        change = RecordDeadlineInput(
            case_number=self._case.case_number,
            key=CLOCK_TRAIL_KEY + self._clock_events,
            actor=actor,
            action=action,
            deadline=self._deadline,
            assignee=self._assignee,
            detail=detail,
        )
        # The row is written once per key (record_deadline is idempotent), so a local
        # activity's retry after a lost marker writes nothing twice.
        await run_here_or_queued(
            CLOCK_EVENTS_LOCAL_PATCH,
            RegisterActivities.record_deadline,
            change,
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )

    async def _ask_subject(
        self, reason: str, notice: str, *, question: str = "", key: str = ""
    ) -> bool | None:
        """Ask the subject for something (identity proof, a clarification) and start a pause.

        The pause counts (the clock stands still) only if asked in time: the plan says so, and
        the notice's wording follows it, so nobody is promised a pause that does not count.
        Returns whether it counts, or None if the subject could not be asked digitally (then
        nothing changed).
        """
        async with self._shielded():
            async with self._clock_lock:
                self._pauses.append(PauseRecord(reason=reason, started_at=workflow.now()))
                index = len(self._pauses) - 1
                plan = await self._plan_deadline()
                counts = index in plan.counted
                facts = {"clock": CLOCK_STOPS_SV if counts else ""}
                if not await self._send_notice(notice, reason=question, facts=facts, key=key):
                    self._pauses.pop(index)
                    return None
                self._pauses[index] = self._pauses[index].model_copy(update={"counts": counts})
                await self._move_deadline(plan, actor=ENGINE, action=f"pause_started:{reason}")
                return counts

    async def _resume(self, reason: str, *, on: date | None = None) -> None:
        """The answer came: the pause ends, and the deadline moves by the days paused. `on`:
        the day the subject's answer arrived, if not today; the pause runs to that day, not to
        the day a handler recorded it."""
        async with self._shielded():
            async with self._clock_lock:
                open_ = [
                    i for i, p in enumerate(self._pauses) if p.reason == reason and not p.ended_at
                ]
                if self._clock_plan is None or not open_:
                    return
                pause = self._pauses[open_[-1]]
                # Midday UTC is the same day in Stockholm: the plan counts Stockholm days.
                # Proof that came with the request, before it was asked for, paused nothing.
                ended = workflow.now() if on is None else datetime.combine(on, time(10), UTC)
                ended = max(ended, pause.started_at)
                self._pauses[open_[-1]] = pause.model_copy(update={"ended_at": ended})
                plan = await self._plan_deadline()
                await self._move_deadline(
                    plan,
                    actor=ENGINE,
                    action="pause_ended",
                    detail=f"{reason}: {plan.paused_days} days paused in all",
                )

    def _next_step(self) -> EscalationStep | None:
        """The ladder's next step not yet taken, unless the clock stands still."""
        if self._clock_plan is None or self._clock_plan.paused or self._answered:
            return None
        done = LADDER.index(self._escalation)
        pending = [s for s in self._clock_plan.steps if LADDER.index(s.step) > done]
        return pending[0] if pending else None

    async def _run_clock(self) -> None:
        """Take each step of the ladder once, when due; wake early when the plan changes."""
        while not self._answered:
            version = self._clock_version
            step = self._next_step()

            def changed(version: int = version) -> bool:
                return self._answered or self._clock_version != version

            if step is None:
                await workflow.wait_condition(changed)
                continue
            delay = step.at - workflow.now()
            if delay > timedelta(0):
                try:
                    await workflow.wait_condition(changed, timeout=delay)
                except TimeoutError:
                    pass
                if changed():  # moved, paused or answered meanwhile: look again
                    continue
            await self._escalate(step.step)

    async def _escalate(self, step: Escalation) -> None:
        """Take a step: the mark and the trail at once; the notices on their own, so a mail
        server that is down delays no later step and never keeps the case from closing."""
        # Counted once: the SDK's workflow meter does nothing while a history replays.
        workflow.metric_meter().create_counter(
            ESCALATIONS_METRIC, "Escalation ladder steps taken"
        ).add(1, {"step": step.value, "kind": self._case.kind.value})
        self._escalation = step
        self._escalations.append(
            EscalationRecord(step=step, at=workflow.now(), deadline=self._deadline)
        )
        workflow.upsert_search_attributes([search.ESCALATION.value_set(step.value)])
        key = f"g{self._generation}" if self._generation else ""
        for role, event in self.LADDER_NOTICES[step]:
            self._notices.append(asyncio.create_task(self._ladder_notice(role, event, key)))
        await self._record_clock_event(
            actor=ENGINE, action=f"escalation:{step.value}", detail=f"deadline {self._deadline}"
        )

    async def _ladder_notice(self, role: str, event: str, key: str) -> None:
        try:
            await self._tell_staff(role, event, key=key)
        except ActivityError as error:
            # An address the mail server refuses: say so in the trail instead of retrying.
            cause = error.cause
            why = cause.message if isinstance(cause, ApplicationError) else type(cause).__name__
            await self._record_clock_event(
                actor=ENGINE, action=f"staff_notice_failed:{role}:{event}", detail=why
            )

    async def _restart_clock(self, *, actor: str, action: str) -> None:
        """A new decision is due now (a formal decision was asked for): the deadline is
        planned again from this moment and the ladder starts over, with notices of its own."""
        await self._stop_clock()
        self._clock_since = workflow.now()
        self._answered = False
        self._generation += 1
        self._escalation = Escalation.NONE
        workflow.upsert_search_attributes([search.ESCALATION.value_set(Escalation.NONE.value)])
        await self._move_deadline(await self._plan_deadline(), actor=actor, action=action)
        self._clock_task = asyncio.create_task(self._run_clock())

    async def _stop_clock(self) -> None:
        """The case is closed: the clock stops at once, whatever it was doing."""
        if self._clock_task is not None and not self._clock_task.done():
            self._clock_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock_task
