"""A case's state, shared by the pieces of its workflow (workflows/case/__init__.py): the fields
every piece reads and writes, and what the pieces ask of each other.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, timedelta
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from contract import handling
from contract.actions import (
    ActionResult,
    CloseUnverifiedInput,
    RecordManualDeliveryInput,
    RefuseInput,
    WithdrawInput,
)
from contract.case import (
    AskClarificationInput,
    CaseInput,
    CaseResult,
    CaseState,
    DeadlinePlan,
    DeliveryReceipt,
    DeliveryRoute,
    ErasureSummary,
    Escalation,
    EscalationRecord,
    ExtendInput,
    ExtractResult,
    IdentityBasis,
    IdentityRecord,
    Outcome,
    PauseRecord,
    StepRecord,
    SystemWait,
)
from workflows.case.patches import (
    CLOCK_EVENTS_LOCAL_PATCH,
    ESCALATION_LADDER_PATCH,
    EXTRACT_DISPOSAL_PATCH,
    PROPORTIONATE_IDENTITY_PATCH,
    RESTRICTION_HOLDS_PATCH,
    WITHDRAWAL_PATCH,
)
from workflows.roles import ROSTER_LOCAL_PATCH, ROSTER_PATCH, StaffRoles

ENGINE = "engine"


# The request is answered once the case reaches one of these: the clock stops (a restriction
# stays open for months after the subject was told it applies).
ANSWERED = frozenset({CaseState.RESTRICTED, CaseState.CLOSED})


class WrongState(ApplicationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, type="WrongState", non_retryable=True)


class CaseCore(StaffRoles):
    """The fields of a case, its patches and the states that answer it."""

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

    # What the pieces ask of each other: each is defined in one of them (workflows/case/).
    if TYPE_CHECKING:

        async def _after(self, state: CaseState) -> ActionResult: ...

        async def _ask_subject(
            self, reason: str, notice: str, *, question: str = "", key: str = ""
        ) -> bool | None: ...

        def _check_answer_day(self, day: date | None, what: str) -> None: ...

        async def _close(
            self, outcome: Outcome, *, actor: str, action: str, detail: str | None = None
        ) -> CaseResult: ...

        async def _enter(
            self,
            state: CaseState,
            *,
            actor: str,
            action: str,
            detail: str | None = None,
            outcome: Outcome | None = None,
        ) -> None: ...

        async def _hand_over_manually(
            self, reason: str, *, actor: str = ENGINE, action: str = "manual_handling"
        ) -> RecordManualDeliveryInput: ...

        async def _notify_and_close(
            self,
            notice: str,
            outcome: Outcome,
            *,
            actor: str,
            action: str,
            reason: str = "",
            facts: dict[str, str] | None = None,
        ) -> CaseResult: ...

        def _patches_at_start(self) -> None: ...

        async def _record_clock_event(
            self, *, actor: str, action: str, detail: str | None = None
        ) -> None: ...

        def _require_open(self, state: CaseState, what: str) -> None: ...

        async def _resume(self, reason: str, *, on: date | None = None) -> None: ...

        async def _send_notice(
            self,
            notice: str,
            *,
            reason: str = "",
            facts: dict[str, str] | None = None,
            key: str = "",
            within: timedelta | None = None,
        ) -> bool: ...

        def _shielded(self) -> contextlib.AbstractAsyncContextManager[None]: ...

        async def _start_clock(self) -> None: ...

        async def _stop_clock(self) -> None: ...

        @property
        def _subject(self) -> str: ...

        async def _take_decision(self, action: str, handler: str) -> None: ...

        async def _take_decision_for(self, action: handling.Action, handler: str) -> None: ...

        def _check_decision(
            self, action: handling.Action, state: CaseState, handler: str, *, what: str = ""
        ) -> None: ...

        async def _tell_staff(
            self, role: str, event: str, *, key: str = "", detail: str = ""
        ) -> None: ...
