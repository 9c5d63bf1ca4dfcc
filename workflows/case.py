"""The lifecycle every request kind shares: state, trail, search attributes, identity, status.

A case workflow's id is its case number. Its state changes only through `_enter`, which keeps
the `status` query, the search attributes and the case register's trail in step.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Coroutine,
    Mapping,
    Sequence,
)
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import (
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)
from temporalio.exceptions import ActivityError, ApplicationError

from contract import search
from contract.actions import (
    ActionResult,
    CloseUnverifiedInput,
    RecordManualDeliveryInput,
    RefuseInput,
    VerifyIdentityInput,
    WithdrawInput,
)
from contract.case import (
    AskClarificationInput,
    CaseInput,
    CaseResult,
    CaseState,
    CaseStatus,
    DeadlineInput,
    DeadlinePlan,
    DeliveryReceipt,
    DeliveryRoute,
    DeliveryRouteInput,
    ErasureSummary,
    Escalation,
    EscalationRecord,
    EscalationStep,
    ExtendInput,
    ExtractResult,
    IdentityBasis,
    IdentityRecord,
    Outcome,
    PauseRecord,
    ReassignInput,
    RecordClarificationInput,
    RecordDeadlineInput,
    StepRecord,
    SystemWait,
)
from contract.extracts import ExtractDisposalInput
from contract.policies import PERSISTENT, SHORT_TIMEOUT, run_here_or_queued
from contract.public_access import LinkCaseInput, PublicAccessStatus
from contract.steps import (
    ConfirmEidInput,
    NotifyRecipientInput,
    NotifyStaffInput,
    PlanCollectionInput,
    PlanCollectionResult,
    RecordTransitionInput,
    RestrictionHoldInput,
    SendNoticeInput,
    SystemWriteInput,
    SystemWriteResult,
)
from contract.vocabulary import IdentityMethod, Kind
from workflows.disposal import ExtractDisposalWorkflow
from workflows.roles import ROSTER_LOCAL_PATCH, ROSTER_PATCH, StaffRoles

with workflow.unsafe.imports_passed_through():
    from activities.deadlines import DeadlineActivities
    from activities.delivery import DeliveryActivities
    from activities.identity import IdentityActivities
    from activities.notify import NotifyActivities
    from activities.register import RegisterActivities
    from activities.sources import SourceActivities

ENGINE = "engine"

T = TypeVar("T")

# Patch ids (workflow.patched) of changes made to workflows that may already be running.
RESTRICTION_HOLDS_PATCH = "restriction-holds"
ART19_RESTRICTION_ERASURE_PATCH = "art19-restriction-erasure"
ESCALATION_LADDER_PATCH = "escalation-ladder"
EXTRACT_DISPOSAL_PATCH = "extract-disposal"
# Identity proof only where the answer could reach someone else (Art. 12(2),(6)); letters to
# the population-register address (SPAR).
PROPORTIONATE_IDENTITY_PATCH = "proportionate-identity"
# A request may be withdrawn (cases started since run their steps in a task the withdrawal ends).
WITHDRAWAL_PATCH = "withdrawal"
# The clock's trail rows (a handler's reassign, link, extension or pause, and the engine's own:
# ladder steps, slow systems) are written by a local activity, in the worker running the
# workflow task, instead of a scheduled one: an action's update answers one round trip to the
# server sooner (the API's action latency). Cases whose history wrote them by a scheduled
# activity keep doing so.
CLOCK_EVENTS_LOCAL_PATCH = "clock-events-local"
# Every patch a case knows is decided at its start (`_patches_at_start`), before any local
# activity. A patch decided just after a local activity (the ladder's, after the roster's read)
# was found recorded in the next workflow task when the worker completed the task the moment
# the activity's result came; a replay delivers that result in the earlier task, where the
# patch is not yet known, so it reads the patch as absent, and the case no longer replays
# (NondeterminismError: "patch marker ... no corresponding change command"). Cases started
# before this patch decide each patch where they always did.
PATCHES_AT_START_PATCH = "patches-at-start"
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
# The request is answered once the case reaches one of these: the clock stops (a restriction
# stays open for months after the subject was told it applies).
ANSWERED = frozenset({CaseState.RESTRICTED, CaseState.CLOSED})
# Who is told at each step of the ladder (DOMAIN.md): the assignee is reminded; the team lead
# gets the escalation and the DPO is told; when overdue, the DPO is told.
LADDER_NOTICES = {
    Escalation.REMINDED: (("assignee", "reminder"),),
    Escalation.ESCALATED: (("team_lead", "escalated"), ("dpo", "escalated")),
    Escalation.OVERDUE: (("dpo", "overdue"),),
}

# Where a request may be withdrawn: the case waits, or does what can stop without harm
# (collecting, building, planning). Not while it writes in the systems or sends the answer:
# that finishes first, and what was carried out stays carried out.
WITHDRAWABLE = frozenset(
    {
        CaseState.REGISTERED,
        CaseState.AWAITING_IDENTITY,
        CaseState.COLLECTING,
        CaseState.BUILDING_EXTRACT,
        CaseState.AWAITING_REVIEW,
        CaseState.AWAITING_DECISION,
        CaseState.PLANNING,
        CaseState.AWAITING_APPROVAL,
        CaseState.RESTRICTED,
        CaseState.AWAITING_MANUAL_DELIVERY,
        CaseState.LOCATING,
        CaseState.AWAITING_CONFIRMATION,
        CaseState.SECRECY_REVIEW,
        CaseState.AWAITING_FORMAL_DECISION,
    }
)

# Where a handler's decision is pending, a request may be refused (Art. 12(5)).
REFUSABLE = frozenset(
    {CaseState.AWAITING_IDENTITY, CaseState.AWAITING_REVIEW, CaseState.AWAITING_DECISION}
)


class WrongState(ApplicationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, type="WrongState", non_retryable=True)


class CaseWorkflow(StaffRoles):
    """Shared state and handlers. Subclasses define `run` and their own decision steps.

    Every update names its actor, who must hold the role the action takes (contract.roles.ACTIONS)
    in the staff roster: validators judge by the roster the case read last, handlers by the
    roster as it stands when they act (workflows.roles).

    Every handler decision is taken once: entering a state opens a fresh decision, the first
    accepted update takes it, and validators refuse any other until the case has moved on.

    Updates (accepted only in the state named):
    - `verify_identity` (awaiting_identity): method and handler; the case goes on.
    - `close_unverified` (awaiting_identity): handler and reason; a notice goes to the subject
      with the right to complain to IMY (sending_notice), and the case closes as
      closed_unverified.
    - `refuse` (awaiting_identity, awaiting_review, awaiting_decision): manifestly unfounded or
      excessive (Art. 12(5)); the reason is required; the subject gets it with the right to
      complain to IMY and to go to court, and the DPO is told. Closes as refused.
    - `record_manual_delivery` (awaiting_manual_delivery): how a handler handed over what could
      not be sent (protected identity, no digital mailbox).
    - `extend` (any open state, before the original deadline, once): two more months (Art.
      12(3)); the reason is required and the notice to the subject is delivered as part of it.
    - `reassign` (any open state): another handler takes the case.
    - `ask_clarification` (until answered, one question at a time): the question goes to the
      subject and the clock stands still, if asked within the configured working days of
      receipt; `record_clarification` ends the wait and the deadline moves by the days paused.
    - `link` (until closed): show another case with this one (e.g. a GDPR access case and a
      public-access case of one person); the CLI links both ways.
    Query: `status` -> CaseStatus, in every state.

    The clock (cases started since ESCALATION_LADDER_PATCH): the deadline and the ladder's
    steps come from an activity; a background task waits on durable timers for each step
    (reminder, escalation, overdue), fires each once and in order (at once if it is already
    due: a worker that was down, a case registered late), and follows the deadline when an
    extension or the end of a pause moves it. While the engine waits for identity proof it
    asked for in time, the clock stands still and each pause is recorded.
    """

    # The request is answered on entering one of these: the clock stops.
    ANSWERED_STATES: frozenset[CaseState] = ANSWERED
    # The patches this kind of case decides anywhere in its course (PATCHES_AT_START_PATCH):
    # a kind with patches of its own adds them. A patch added later goes here too; a case
    # started before it finds it absent at its start and keeps its old course throughout.
    PATCHES: tuple[str, ...] = (
        WITHDRAWAL_PATCH,
        ROSTER_PATCH,
        ROSTER_LOCAL_PATCH,
        ESCALATION_LADDER_PATCH,
        CLOCK_EVENTS_LOCAL_PATCH,
        PROPORTIONATE_IDENTITY_PATCH,
        RESTRICTION_HOLDS_PATCH,
        EXTRACT_DISPOSAL_PATCH,
    )
    # Who is told at each step of the ladder.
    LADDER_NOTICES: Mapping[Escalation, tuple[tuple[str, str], ...]] = LADDER_NOTICES

    @workflow.init
    def __init__(self, case: CaseInput) -> None:
        self._case = case
        self._state = CaseState.REGISTERED
        self._step = 0  # step 0, registration, was written by intake
        self._steps: list[StepRecord] = []
        self._decision_taken = False
        self._assignee = case.assignee
        self._identity: IdentityRecord | None = None
        # Why no proof was asked for, where none was (IdentityBasis); where the answer can go.
        self._identity_basis: IdentityBasis | None = None
        self._route: DeliveryRoute | None = None
        # The day the subject supplied what they were asked for: a pause ends then.
        self._supplied_on: date | None = None
        self._unverified: CloseUnverifiedInput | None = None
        self._refusal: RefuseInput | None = None
        self._manual: RecordManualDeliveryInput | None = None
        self._extract: ExtractResult | None = None
        self._delivery: DeliveryReceipt | None = None
        self._outcome: Outcome | None = None
        self._manual_handling_reason: str | None = None
        self._applied: dict[str, dict[str, int]] = {}
        self._recipients_notified: list[str] = []
        # Recipients a handler must tell (not in the recipients register, or a category).
        self._recipients_to_notify: list[str] = []
        self._decision: str | None = None
        self._erasure_plan: list[ErasureSummary] = []
        # The clock.
        self._clock_started = False
        self._clock_task: asyncio.Task[None] | None = None
        self._clock_version = 0
        self._clock_events = 0
        self._clock_plan: DeadlinePlan | None = None
        self._deadline = case.deadline
        self._deadline_at = case.deadline_at
        self._escalation = Escalation.NONE
        self._escalations: list[EscalationRecord] = []
        self._extension: ExtendInput | None = None
        self._extending = False
        self._pauses: list[PauseRecord] = []
        self._clock_lock = asyncio.Lock()
        self._generation = 0  # the ladder starts again after an extension
        # Ladder notices run as tasks of their own; held here so none is collected mid-way.
        self._notices: list[asyncio.Task[None]] = []
        self._clarification: AskClarificationInput | None = None
        self._clarifying = False
        self._clarifications = 0
        self._answered = False
        # The clock counts from receipt, or from a later request that starts it again.
        self._clock_since = case.received_at
        self._links: list[str] = []
        self._staff = None  # the roster, once read (cases since ROSTER_PATCH)
        self._deciding = False  # a decision is claimed while its actor is checked
        # Withdrawal: the request as withdrawn, whether this case can take one (since the
        # patch), and how many steps are under way that must finish before it takes effect.
        self._withdrawal: WithdrawInput | None = None
        self._withdrawable_run = False
        self._shields = 0
        self._holding_restriction = False
        # Connected systems a step is waiting for ("step:system"), and how many such steps.
        self._waiting: dict[str, SystemWait] = {}
        self._system_rounds = 0

    @property
    def _roles_ref(self) -> str:
        return self._case.case_number

    # --- queries ---------------------------------------------------------------------------

    @workflow.query
    def status(self) -> CaseStatus:
        details = self._case.details
        return CaseStatus(
            case_number=self._case.case_number,
            kind=self._case.kind,
            state=self._state,
            received_at=self._case.received_at,
            deadline=self._deadline,
            channel=self._case.channel,
            assignee=self._assignee,
            escalation=self._escalation,
            identity=self._identity,
            identity_basis=self._identity_basis,
            steps=list(self._steps),
            extract=self._extract,
            delivery=self._delivery,
            outcome=self._outcome,
            manual_handling_reason=self._manual_handling_reason,
            applied=self._applied,
            recipients_notified=list(self._recipients_notified),
            recipients_to_notify=list(self._recipients_to_notify),
            decision=self._decision,
            refusal_reason=self._refusal.reason if self._refusal else None,
            restriction_ground=details.restriction_ground,
            requested_fields=[change.field for change in details.changes],
            erasure_plan=list(self._erasure_plan),
            deadline_at=self._deadline_at,
            original_deadline=self._case.deadline,
            extension_reason=self._extension.reason if self._extension else None,
            pauses=list(self._pauses),
            escalations=list(self._escalations),
            next_escalation=self._next_step(),
            awaiting_clarification=self._clarification is not None,
            waiting_for_systems=list(self._waiting.values()),
            linked=list(self._links),
            public=self._public_status(),
        )

    def _has_stored_files(self) -> bool:
        """Whether the case left files in the extract store (a hook for kinds that do)."""
        return False

    async def _schedule_disposal(self) -> None:
        """A workflow of its own deletes the case's files when their days have passed."""
        await workflow.start_child_workflow(
            ExtractDisposalWorkflow.run,
            ExtractDisposalInput(case_number=self._case.case_number, closed_at=workflow.now()),
            id=f"{self._case.case_number}-extract-disposal",
            task_queue=workflow.info().task_queue,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(search.CASE_NUMBER, self._case.case_number)]
            ),
        )

    def _public_status(self) -> PublicAccessStatus | None:
        """What a public-access case adds to its status (a hook for that kind)."""
        return None

    @property
    def _subject(self) -> str:
        """The data subject's identity number: every GDPR kind has one."""
        subject = self._case.subject_id
        if subject is None:
            raise ApplicationError(
                f"case {self._case.case_number} has no data subject", non_retryable=True
            )
        return subject

    # --- updates shared by every kind --------------------------------------------------------

    @workflow.update
    async def verify_identity(self, action: VerifyIdentityInput) -> ActionResult:
        await self._take_decision("verify_identity", action.handler)
        self._supplied_on = action.supplied_on
        self._identity = IdentityRecord(
            method=action.method, verified_by=action.handler, verified_at=workflow.now()
        )
        return await self._after(CaseState.AWAITING_IDENTITY)

    @verify_identity.validator
    def _validate_verify_identity(self, action: VerifyIdentityInput) -> None:
        self._require_open(CaseState.AWAITING_IDENTITY, "verify identity")
        self._check_answer_day(action.supplied_on, "the proof was supplied")
        self._check_role(action.handler, "verify_identity")

    def _check_answer_day(self, day: date | None, what: str) -> None:
        """The day the subject answered: not in the future, not before the request came in."""
        if day is None:
            return
        number = self._case.case_number
        # Stockholm is at most two hours ahead of UTC: no day later than this has begun there.
        if day > (workflow.now() + timedelta(hours=2)).date():
            raise WrongState(f"case {number}: {day} is in the future; give the day {what}")
        if day < self._case.received_at.date():
            raise WrongState(
                f"case {number}: {day} is before the request came in; give the day {what}"
            )

    @workflow.update
    async def close_unverified(self, action: CloseUnverifiedInput) -> ActionResult:
        await self._take_decision("close_unverified", action.handler)
        self._unverified = action
        return await self._after(CaseState.AWAITING_IDENTITY)

    @close_unverified.validator
    def _validate_close_unverified(self, action: CloseUnverifiedInput) -> None:
        self._require_open(CaseState.AWAITING_IDENTITY, "close a case as unverified")
        self._check_role(action.handler, "close_unverified")

    @workflow.update
    async def refuse(self, action: RefuseInput) -> ActionResult:
        await self._take_decision("refuse", action.handler)
        state = self._state
        self._refusal = action
        return await self._after(state)

    @refuse.validator
    def _validate_refuse(self, action: RefuseInput) -> None:
        blocked = self._refusal_blocked()
        if blocked:
            raise WrongState(f"case {self._case.case_number}: {blocked}")
        if self._state not in REFUSABLE:
            raise WrongState(
                f"case {self._case.case_number} is {self._state.value}; a request can be "
                "refused only while a handler's decision is pending"
            )
        self._require_open(self._state, "refuse the request")
        self._check_role(action.handler, "refuse")

    @workflow.update
    async def withdraw(self, action: WithdrawInput) -> ActionResult:
        """The subject (or requester) withdraws the request: recorded at once; the case stops
        what it does at the next point where it can, confirms, and closes as withdrawn."""
        await self._authorize(action.handler, "withdraw")
        self._revalidate(self._validate_withdraw, action)
        self._withdrawal = action
        day = action.received_on or workflow.now().date()
        await self._record_clock_event(
            actor=action.handler, action="withdrawal_received", detail=f"received {day}"
        )
        await workflow.wait_condition(lambda: self._state is CaseState.CLOSED)
        return ActionResult(case_number=self._case.case_number, state=self._state)

    @withdraw.validator
    def _validate_withdraw(self, action: WithdrawInput) -> None:
        number = self._case.case_number
        blocked = self._withdrawal_blocked()
        if blocked:
            raise WrongState(f"case {number}: {blocked}")
        if not self._withdrawable_run:
            raise WrongState(
                f"case {number} was registered before withdrawals were recorded by the engine; "
                "close it as the case allows and note the withdrawal"
            )
        if self._withdrawal is not None:
            raise WrongState(f"case {number}: the request is already withdrawn")
        if self._state not in WITHDRAWABLE:
            raise WrongState(
                f"case {number} is {self._state.value}: what it is doing now finishes first "
                "(what is carried out stays carried out); withdraw when it waits again, if it "
                "is still open"
            )
        self._check_answer_day(action.received_on, "the withdrawal arrived")
        self._check_role(action.handler, "withdraw")

    def _withdrawal_blocked(self) -> str | None:
        """Why this kind can never be withdrawn, if it cannot (a hook for subclasses)."""
        return None

    @workflow.update
    async def record_manual_delivery(self, action: RecordManualDeliveryInput) -> ActionResult:
        await self._take_decision("record_manual_delivery", action.handler)
        self._manual = action
        return await self._after(CaseState.AWAITING_MANUAL_DELIVERY)

    @record_manual_delivery.validator
    def _validate_record_manual_delivery(self, action: RecordManualDeliveryInput) -> None:
        self._require_open(CaseState.AWAITING_MANUAL_DELIVERY, "record a manual delivery")
        self._check_role(action.handler, "record_manual_delivery")

    @workflow.update
    async def extend(self, action: ExtendInput) -> ActionResult:
        self._extending = True
        try:
            await self._authorize(action.handler, "extend")
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
        self._check_role(action.handler, "extend")

    @workflow.update
    async def ask_clarification(self, action: AskClarificationInput) -> ActionResult:
        self._clarifying = True
        try:
            await self._authorize(action.handler, "ask_clarification")
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
        self._check_role(action.handler, "ask_clarification")

    @workflow.update
    async def record_clarification(self, action: RecordClarificationInput) -> ActionResult:
        await self._authorize(action.handler, "record_clarification")
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
        self._check_role(action.handler, "record_clarification")

    @workflow.update
    async def reassign(self, action: ReassignInput) -> ActionResult:
        await self._authorize(action.handler, self._reassigning(action))
        # Checked again against the roster as it stands now, and the case as it is now.
        self._revalidate(self._validate_reassign, action)
        self._assignee = action.to
        workflow.upsert_search_attributes([search.ASSIGNEE.value_set(action.to)])
        await self._record_clock_event(
            actor=action.handler, action="reassign", detail=f"to {action.to}"
        )
        return ActionResult(case_number=self._case.case_number, state=self._state)

    @reassign.validator
    def _validate_reassign(self, action: ReassignInput) -> None:
        if self._state is CaseState.CLOSED:
            raise WrongState(f"case {self._case.case_number} is closed")
        if self._assignee is not None and action.to.casefold() == self._assignee.casefold():
            raise WrongState(f"case {self._case.case_number} is already assigned to {action.to}")
        self._check_role(action.handler, self._reassigning(action))
        self._check_role(action.to, "take_case")

    def _reassigning(self, action: ReassignInput) -> str:
        """The assignee may hand their own case on; another's case takes a team lead."""
        mine = self._assignee is not None and self._assignee.casefold() == action.handler.casefold()
        return "hand_on" if mine else "reassign"

    @workflow.update
    async def link(self, action: LinkCaseInput) -> ActionResult:
        await self._authorize(action.handler, "link")
        self._revalidate(self._validate_link, action)
        if action.other not in self._links:
            self._links.append(action.other)
            await self._record_clock_event(
                actor=action.handler, action="link", detail=f"with {action.other}"
            )
        return ActionResult(case_number=self._case.case_number, state=self._state)

    @link.validator
    def _validate_link(self, action: LinkCaseInput) -> None:
        if self._state is CaseState.CLOSED:
            raise WrongState(f"case {self._case.case_number} is closed")
        if action.other == self._case.case_number:
            raise WrongState(f"case {self._case.case_number} cannot be linked with itself")
        self._check_role(action.handler, "link")

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

    def _refusal_blocked(self) -> str | None:
        """Why this kind can never be refused, if it cannot (a hook for subclasses)."""
        return None

    # --- shared steps ----------------------------------------------------------------------

    async def _establish_identity(self) -> bool:
        """True once identity is proven; False if the case was closed unverified or refused."""
        case = self._case
        await self._start_clock()
        if case.verified_by is IdentityMethod.BANKID and case.eid_order_ref:
            confirmation = await workflow.execute_activity_method(
                IdentityActivities.confirm_eid,
                ConfirmEidInput(
                    case_number=case.case_number,
                    subject_id=self._subject,
                    order_ref=case.eid_order_ref,
                ),
                start_to_close_timeout=SHORT_TIMEOUT,
                retry_policy=PERSISTENT,
            )
            if confirmation.verified and confirmation.verified_at is not None:
                self._identity = IdentityRecord(
                    method=IdentityMethod.BANKID,
                    verified_by="e-id",
                    verified_at=confirmation.verified_at,
                )
                return True
        if workflow.patched(PROPORTIONATE_IDENTITY_PATCH):
            # Art. 12(2),(6), EDPB 01/2022 §§ 69-77: proof only where the answer or action
            # could reach or harm someone else.
            basis = await self._proof_not_needed()
            if basis is not None:
                self._identity_basis = basis
                return True
        if self._clock_plan is not None:
            # The subject is asked for proof in their digital mailbox; the clock may stand
            # still meanwhile. Without a mailbox the handler asks, and the clock runs on.
            await self._ask_subject("identity", "identity_requested")
        await self._enter(CaseState.AWAITING_IDENTITY, actor=ENGINE, action="await_identity")
        await self._wait_for_handler(
            lambda: self._identity is not None or self._unverified is not None
        )
        await self._resume("identity", on=self._supplied_on)
        return self._identity is not None

    async def _proof_not_needed(self) -> IdentityBasis | None:
        """Why this request needs no identity proof, or None if it does: erasure,
        rectification and restriction change the subject's data and always do (a hook for the
        kinds whose answer alone goes out)."""
        return None

    async def _delivery_route(self) -> DeliveryRoute:
        """Where an answer can reach the subject alone (digital mailbox, population-register
        address), read once and kept in history."""
        if self._route is None:
            self._route = await workflow.execute_activity_method(
                DeliveryActivities.delivery_route,
                DeliveryRouteInput(case_number=self._case.case_number, subject_id=self._subject),
                start_to_close_timeout=SHORT_TIMEOUT,
                retry_policy=PERSISTENT,
            )
        return self._route

    async def _verified(self) -> tuple[str, str] | None:
        """The identity step: (who verified, the trail action) once proven or not needed, None
        if the case ended there (then `_identity_step_ended` closes it)."""
        if not await self._establish_identity():
            return None
        if self._identity is None:
            assert self._identity_basis is not None
            return ENGINE, f"identity_not_needed:{self._identity_basis.value}"
        return self._identity.verified_by, f"identity:{self._identity.method}"

    async def _identity_step_ended(self) -> CaseResult:
        """The case ends at the identity step: closed as unverified, or refused."""
        if self._refusal is not None:
            return await self._close_refused()
        decision = self._unverified
        assert decision is not None
        return await self._notify_and_close(
            "identity_not_verified",
            Outcome.CLOSED_UNVERIFIED,
            actor=decision.handler,
            action="close_unverified",
            reason=decision.reason,
        )

    async def _tell_staff(self, role: str, event: str, *, key: str = "", detail: str = "") -> None:
        """A message to the DPO, the team lead or the assignee: the case and what happened."""
        async with self._shielded():
            await workflow.execute_activity_method(
                NotifyActivities.notify_staff,
                NotifyStaffInput(
                    case_number=self._case.case_number,
                    kind=self._case.kind,
                    role=role,
                    event=event,
                    deadline=self._deadline,
                    assignee=self._assignee,
                    notice_key=key,
                    detail=detail,
                ),
                start_to_close_timeout=SHORT_TIMEOUT,
                retry_policy=PERSISTENT,
            )

    async def _wait_for_handler(self, decided: Callable[[], bool]) -> bool:
        """Wait for a handler's decision; False if the request was refused instead."""
        await workflow.wait_condition(lambda: decided() or self._refusal is not None)
        return self._refusal is None

    async def _close_refused(self) -> CaseResult:
        refusal = self._refusal
        assert refusal is not None
        self._decision = "refused"
        # The DPO is told of every refusal (DOMAIN: advises, is not the one who decides).
        await self._tell_staff("dpo", "refused")
        return await self._notify_and_close(
            "refused",
            Outcome.REFUSED,
            actor=refusal.handler,
            action="refuse",
            reason=refusal.reason,
        )

    async def _notify_and_close(
        self,
        notice: str,
        outcome: Outcome,
        *,
        actor: str,
        action: str,
        reason: str = "",
        facts: dict[str, str] | None = None,
    ) -> CaseResult:
        """Send the subject the closing notice (a handler hands it over if it cannot be sent)."""
        await self._enter(CaseState.SENDING_NOTICE, actor=actor, action=action, detail=reason)
        async with self._shielded():
            sent = await self._send_notice(notice, reason=reason, facts=facts)
        handed_over_by = None
        if not sent:
            handed_over_by = (await self._hand_over_manually("no_digital_mailbox")).handler
        if handed_over_by is not None:
            return await self._close(outcome, actor=handed_over_by, action="record_manual_delivery")
        return await self._close(outcome, actor=ENGINE, action="notice_sent")

    async def _tell_subject(
        self, notice: str, *, reason: str = "", facts: dict[str, str] | None = None
    ) -> str | None:
        """Send a notice; without a digital mailbox a handler hands it over (their id returned)."""
        if await self._send_notice(notice, reason=reason, facts=facts):
            return None
        return (await self._hand_over_manually("no_digital_mailbox")).handler

    async def _send_notice(
        self,
        notice: str,
        *,
        reason: str = "",
        facts: dict[str, str] | None = None,
        key: str = "",
        within: timedelta | None = None,
    ) -> bool:
        """Send a notice to the subject; False if they have no digital mailbox."""
        async with self._shielded():
            try:
                await workflow.execute_activity_method(
                    DeliveryActivities.send_notice,
                    SendNoticeInput(
                        case_number=self._case.case_number,
                        subject_id=self._subject,
                        notice=notice,
                        reason=reason,
                        facts=facts or {},
                        notice_key=key,
                    ),
                    start_to_close_timeout=SHORT_TIMEOUT,
                    schedule_to_close_timeout=within,
                    retry_policy=PERSISTENT,
                )
            except ActivityError as error:
                if not is_no_mailbox(error):
                    raise
                return False
            return True

    async def _hand_over_manually(
        self, reason: str, *, actor: str = ENGINE, action: str = "manual_handling"
    ) -> RecordManualDeliveryInput:
        """Wait for a handler to hand over what the engine may not or cannot send."""
        self._manual_handling_reason = reason
        self._manual = None
        await self._enter(
            CaseState.AWAITING_MANUAL_DELIVERY, actor=actor, action=action, detail=reason
        )
        await workflow.wait_condition(lambda: self._manual is not None)
        assert self._manual is not None
        return self._manual

    async def _in_every_system(
        self, plan: PlanCollectionResult, step: str, call: Callable[[str], Awaitable[T]]
    ) -> list[T]:
        """`call` for every planned system at once, in order of the plan.

        A system that is down is retried with backoff until it answers (the activities' retry
        policies); meanwhile `status` shows which systems the case waits for, and once it has
        waited longer than the plan says, the assignee is told which, once per step. The case
        continues by itself when the systems answer.
        """
        self._system_rounds += 1
        keys = [f"{step}:{system}" for system in plan.systems]
        since = workflow.now()
        for key, system in zip(keys, plan.systems, strict=True):
            self._waiting[key] = SystemWait(system=system, step=step, since=since)

        async def one(key: str, system: str) -> T:
            try:
                return await call(system)
            finally:
                self._waiting.pop(key, None)

        if plan.tell_assignee_after_seconds is not None:
            after = timedelta(seconds=plan.tell_assignee_after_seconds)
            watch = self._watch_systems(keys, after, f"{step}-{self._system_rounds}")
            self._notices.append(asyncio.create_task(watch))
        return list(
            await asyncio.gather(
                *(one(key, system) for key, system in zip(keys, plan.systems, strict=True))
            )
        )

    async def _watch_systems(self, keys: list[str], after: timedelta, round_key: str) -> None:
        """Tell the assignee which systems a step still waits for after `after`, once."""
        try:
            await workflow.wait_condition(
                lambda: not any(key in self._waiting for key in keys), timeout=after
            )
            return
        except TimeoutError:
            pass
        slow = [key for key in keys if key in self._waiting]
        names = ", ".join(self._waiting[key].system for key in slow)
        workflow.set_current_details(f"Waiting for connected systems that do not answer: {names}")
        await self._record_clock_event(actor=ENGINE, action="waiting_for_systems", detail=names)
        try:
            await self._tell_staff("assignee", "system_waiting", key=round_key, detail=names)
        except ActivityError:
            await self._record_clock_event(
                actor=ENGINE, action="staff_notice_failed:assignee:system_waiting", detail=names
            )
        else:
            told = workflow.now()
            for key in slow:
                if key in self._waiting:  # still waited for when the notice went out
                    self._waiting[key] = self._waiting[key].model_copy(update={"told_at": told})
        await workflow.wait_condition(lambda: not any(key in self._waiting for key in keys))
        workflow.set_current_details("")
        await self._record_clock_event(actor=ENGINE, action="systems_answered", detail=names)

    async def _write_everywhere(
        self,
        write: Callable[[Any, SystemWriteInput], Coroutine[Any, Any, SystemWriteResult]],
        label: str,
        *,
        changes: dict[str, str] | None = None,
        restricted: bool = False,
    ) -> list[SystemWriteResult]:
        """Run one declared write in every connected system at once; remember what changed."""
        async with self._shielded():
            plan = await workflow.execute_activity_method(
                SourceActivities.plan_collection,
                PlanCollectionInput(case_number=self._case.case_number),
                start_to_close_timeout=SHORT_TIMEOUT,
                retry_policy=PERSISTENT,
            )
            results = await self._in_every_system(
                plan,
                label,
                lambda system: workflow.execute_activity_method(
                    write,
                    SystemWriteInput(
                        case_number=self._case.case_number,
                        system=system,
                        subject_id=self._subject,
                        changes=changes or {},
                        restricted=restricted,
                    ),
                    start_to_close_timeout=timedelta(minutes=5),
                    # Heartbeats while it runs: a lost worker or task is retried after 30 s,
                    # not 5 min.
                    heartbeat_timeout=timedelta(seconds=30),
                    retry_policy=PERSISTENT,
                ),
            )
            for result in results:
                if result.tables:
                    self._applied[f"{label}:{result.system}"] = result.tables
            return list(results)

    async def _hold_restriction(self, hold: bool) -> int:
        """Take or release this case's hold; returns the subject's holds left, all cases.

        Cases started before holds existed took none and release none (0 left: the flags come
        off as they did then); `patched` keeps their histories replaying.
        """
        async with self._shielded():
            if not workflow.patched(RESTRICTION_HOLDS_PATCH):
                return 0
            self._holding_restriction = hold
            result = await workflow.execute_activity_method(
                RegisterActivities.set_restriction_hold,
                RestrictionHoldInput(
                    case_number=self._case.case_number, subject_id=self._subject, hold=hold
                ),
                start_to_close_timeout=SHORT_TIMEOUT,
                retry_policy=PERSISTENT,
            )
            return result.holds_remaining

    async def _notify_recipients(
        self,
        recipients: Sequence[str] | Mapping[str, Sequence[str]],
        notice: str,
        changes: Mapping[str, str] | None = None,
        withhold: Collection[str] = (),
        categories: Collection[str] = (),
    ) -> None:
        """One notice per recipient (Art. 19 / 21(3)), all at once, where the recipients
        register says each is reached.

        For a rectification, `recipients` maps each recipient to the corrected fields it
        received, and the notice carries just those fields' new values from `changes`, except
        to those in `withhold`, who learn which fields were corrected. A recipient the register
        does not know, and each recipient known only as one of `categories`, goes to the
        assignee to notify by hand, never skipped.
        """
        async with self._shielded():
            fields_of = (
                {name: sorted(set(fields)) for name, fields in recipients.items()}
                if isinstance(recipients, Mapping)
                else dict.fromkeys(recipients, list[str]())
            )
            names = sorted(fields_of)
            values = changes or {}
            receipts = await asyncio.gather(
                *(
                    workflow.execute_activity_method(
                        NotifyActivities.notify_recipient,
                        NotifyRecipientInput(
                            case_number=self._case.case_number,
                            subject_id=self._subject,
                            recipient=name,
                            notice=notice,
                            fields=fields_of[name],
                            changes={}
                            if name in withhold
                            else {f: values[f] for f in fields_of[name] if f in values},
                        ),
                        start_to_close_timeout=SHORT_TIMEOUT,
                        retry_policy=PERSISTENT,
                    )
                    for name in names
                )
            )
            # Who has been told anything in this case, each once (status and the answer).
            reached = {
                name for name, receipt in zip(names, receipts, strict=True) if receipt.reached
            }
            self._recipients_notified = sorted(set(self._recipients_notified) | reached)
            by_hand = [name for name in names if name not in reached] + [
                category for category in categories if category not in names
            ]
            if by_hand:
                await self._recipients_by_hand(sorted(set(by_hand)), notice)

    async def _recipients_by_hand(self, recipients: list[str], notice: str) -> None:
        """Recipients the engine cannot reach itself: the assignee is told whom, once per
        notice, and the trail and status keep them (names of companies and categories only)."""
        new = [r for r in recipients if r not in self._recipients_to_notify]
        if not new:
            return
        self._recipients_to_notify += new
        detail = ", ".join(new)
        await self._record_clock_event(
            actor=ENGINE, action=f"recipients_to_notify:{notice}", detail=detail
        )
        try:
            await self._tell_staff("assignee", "recipients_to_notify", key=notice, detail=detail)
        except ActivityError:
            await self._record_clock_event(
                actor=ENGINE, action="staff_notice_failed:assignee:recipients_to_notify"
            )

    def _told_recipients_sv(self) -> str:
        """Who the recipients were (Art. 19, last sentence), for the subject's answer."""
        told = ", ".join(self._recipients_notified)
        by_hand = ", ".join(self._recipients_to_notify)
        if told and by_hand:
            return f"{told}; dessutom underrättar en handläggare {by_hand}"
        if by_hand:
            return f"en handläggare underrättar {by_hand}"
        return told or "inga"

    # --- lifecycle -------------------------------------------------------------------------

    async def _enter(
        self,
        state: CaseState,
        *,
        actor: str,
        action: str,
        detail: str | None = None,
        outcome: Outcome | None = None,
    ) -> None:
        async with self._shielded():
            await self._entered(state, actor=actor, action=action, detail=detail, outcome=outcome)

    async def _entered(
        self,
        state: CaseState,
        *,
        actor: str,
        action: str,
        detail: str | None,
        outcome: Outcome | None,
    ) -> None:
        await self._start_clock()
        previous = self._state
        self._state = state
        self._decision_taken = False
        if state in self.ANSWERED_STATES:
            self._answered = True
            self._clock_version += 1
        self._step += 1
        self._steps.append(
            StepRecord(state=state, action=action, actor=actor, at=workflow.now(), detail=detail)
        )
        updates: list[SearchAttributeUpdate[str]] = [search.STATE.value_set(state.value)]
        if self._assignee is not None:
            updates.append(search.ASSIGNEE.value_set(self._assignee))
        workflow.upsert_search_attributes(updates)
        await workflow.execute_activity_method(
            RegisterActivities.record_transition,
            RecordTransitionInput(
                case_number=self._case.case_number,
                step=self._step,
                actor=actor,
                action=action,
                from_state=previous,
                to_state=state,
                assignee=self._assignee,
                outcome=outcome,
                detail=detail or None,
            ),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )

    async def _close(
        self, outcome: Outcome, *, actor: str, action: str, detail: str | None = None
    ) -> CaseResult:
        async with self._shielded():
            self._outcome = outcome
            await self._enter(
                CaseState.CLOSED, actor=actor, action=action, detail=detail, outcome=outcome
            )
            # The clock stops; an overdue mark stays. Staff notices still on their way may finish.
            await self._stop_clock()
            if self._has_stored_files() and workflow.patched(EXTRACT_DISPOSAL_PATCH):
                await self._schedule_disposal()
            # Handlers still returning their result must finish before the workflow completes.
            await workflow.wait_condition(workflow.all_handlers_finished)
            return CaseResult(
                case_number=self._case.case_number, outcome=outcome, delivery=self._delivery
            )

    # --- withdrawal ----------------------------------------------------------------------------

    def _patches_at_start(self) -> None:
        """Decide every patch of the case now, before its first local activity (see
        PATCHES_AT_START_PATCH); each later `workflow.patched` of them gives the same answer
        and records nothing more. The first thing a case's run does."""
        if workflow.patched(PATCHES_AT_START_PATCH):
            for patch in self.PATCHES:
                workflow.patched(patch)

    async def _withdrawable(self, body: Coroutine[Any, Any, CaseResult]) -> CaseResult:
        """Run the case's steps so that a withdrawal can end them: once one is recorded, the
        steps stop at the next point where nothing is under way that must finish (`_shielded`:
        a state change, writes in the systems, an answer going out), and the withdrawal is
        confirmed. Cases started before the patch run their steps as they did."""
        self._patches_at_start()
        if not workflow.patched(WITHDRAWAL_PATCH):
            return await body
        self._withdrawable_run = True
        steps = asyncio.create_task(body)
        await workflow.wait_condition(
            lambda: steps.done() or (self._withdrawal is not None and self._shields == 0)
        )
        if steps.done():
            return steps.result()
        steps.cancel()
        try:
            # Done anyway, as the cancellation came: the answer stands.
            return await steps
        except (asyncio.CancelledError, ActivityError):
            # Stopped where it waited; an activity it waited for (a collection) is cancelled
            # and fails as such.
            return await self._close_withdrawn()

    @contextlib.asynccontextmanager
    async def _shielded(self) -> AsyncIterator[None]:
        """A step a withdrawal must let finish: a state change and its trail row, writes in
        the systems, an answer or a notice going out."""
        self._shields += 1
        try:
            yield
        finally:
            self._shields -= 1

    async def _close_withdrawn(self) -> CaseResult:
        """The request is withdrawn: undo what only served it (a restriction this case
        holds), tell the subject what was done and what stays done, close as withdrawn."""
        withdrawal = self._withdrawal
        assert withdrawal is not None
        received = (withdrawal.received_on or workflow.now().date()).isoformat()
        await self._enter(
            CaseState.SENDING_NOTICE, actor=withdrawal.handler, action="withdraw", detail=received
        )
        # The confirmation first: it also tells of a restriction about to be lifted (18(3)).
        async with self._shielded():
            sent = await self._send_notice(
                "withdrawn",
                reason=withdrawal.note or "",
                facts={"received": received, "done": self._withdrawal_consequences()},
            )
        handed_over = None if sent else await self._hand_over_manually("no_digital_mailbox")
        await self._undo_for_withdrawal()
        return await self._close(
            Outcome.WITHDRAWN,
            actor=handed_over.handler if handed_over else ENGINE,
            action="record_manual_delivery" if handed_over else "withdrawal_confirmed",
        )

    def _withdrawal_consequences(self) -> str:
        """What the withdrawal takes back, and what stays carried out, in the confirmation's
        words (a hook for the kinds that change something before they answer)."""
        return "Inget hade ännu genomförts i ärendet."

    async def _undo_for_withdrawal(self) -> None:
        """Take back what only served the request (a hook: a restriction this case holds)."""

    # --- the clock: deadline, pauses, escalation ladder -------------------------------------

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

    # --- helpers for update handlers ---------------------------------------------------------

    def _require_open(self, state: CaseState, what: str) -> None:
        """Validator check: the right state, and nobody has decided this step yet."""
        if self._state is not state:
            raise WrongState(
                f"case {self._case.case_number} is {self._state.value}; "
                f"you can {what} only while it is {state.value}"
            )
        if self._decision_taken:
            raise WrongState(self._taken_message())

    def _taken_message(self) -> str:
        if self._deciding:
            return (
                f"case {self._case.case_number}: another handler's action on this step is being "
                "checked; try again in a moment"
            )
        return f"case {self._case.case_number}: another handler has already decided this step"

    async def _take_decision(self, action: str, handler: str) -> None:
        """Take the pending decision for `handler`, if the roster as it stands now allows it
        `action`. Should two updates both pass their validators before either handler runs,
        the first to get here wins and the other is refused; a refused actor, or a case that
        moved on meanwhile, leaves the decision open."""
        if self._decision_taken:
            raise WrongState(self._taken_message())
        state = self._state
        self._decision_taken = self._deciding = True
        try:
            await self._authorize(handler, action)
            if self._state is not state:
                raise WrongState(
                    f"case {self._case.case_number} moved on to {self._state.value} meanwhile; "
                    "nothing was done"
                )
        except BaseException:
            if self._state is state:
                self._decision_taken = False
            raise
        finally:
            self._deciding = False
        # The case goes to whoever takes its first decision, if they may be assigned cases.
        if self._assignee is None and self._may(handler, "take_case"):
            self._assignee = handler

    async def _after(self, state: CaseState) -> ActionResult:
        """Return once the workflow has acted on the decision, so the caller sees the new state."""
        await workflow.wait_condition(lambda: self._state is not state)
        return ActionResult(case_number=self._case.case_number, state=self._state)


def is_no_address(error: ActivityError) -> bool:
    """The population register has no address for a letter (protected, or unknown)."""
    return isinstance(error.cause, ApplicationError) and error.cause.type == "NoAddress"


def is_no_mailbox(error: ActivityError) -> bool:
    """The subject has no digital mailbox: a business fact, not a fault to retry."""
    return isinstance(error.cause, ApplicationError) and error.cause.type == "NoMailbox"
