"""A request withdrawn: recorded at once, and the case stops at the next point where nothing
is under way that must finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

from contract.actions import ActionResult, WithdrawInput
from contract.case import CaseResult, CaseState, Outcome
from contract.handling import WITHDRAW
from workflows.case.patches import WITHDRAWAL_PATCH
from workflows.case.state import ENGINE, CaseCore, WrongState

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


class Withdrawal(CaseCore):
    """The `withdraw` update and the run that a withdrawal can end."""

    @workflow.update(name=WITHDRAW.update)
    async def withdraw(self, action: WithdrawInput) -> ActionResult:
        """The subject (or requester) withdraws the request: recorded at once; the case stops
        what it does at the next point where it can, confirms, and closes as withdrawn."""
        await self._authorize(action.handler, WITHDRAW.role_action)
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
        self._check_role(action.handler, WITHDRAW.role_action)

    def _withdrawal_blocked(self) -> str | None:
        """Why this kind can never be withdrawn, if it cannot (a hook for subclasses)."""
        return None

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
