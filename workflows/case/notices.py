"""Notices to the data subject (GDPR kinds): through their digital mailbox, or handed over by a
handler where they have none.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from contract.case import CaseResult, CaseState, Outcome
from contract.policies import PERSISTENT, SHORT_TIMEOUT
from contract.steps import SendNoticeInput
from workflows.case.state import ENGINE, CaseCore

with workflow.unsafe.imports_passed_through():
    from activities.delivery import DeliveryActivities


def is_no_address(error: ActivityError) -> bool:
    """The population register has no address for a letter (protected, or unknown)."""
    return isinstance(error.cause, ApplicationError) and error.cause.type == "NoAddress"


def is_no_mailbox(error: ActivityError) -> bool:
    """The subject has no digital mailbox: a business fact, not a fault to retry."""
    return isinstance(error.cause, ApplicationError) and error.cause.type == "NoMailbox"


class SubjectNotices(CaseCore):
    """What the data subject is sent: notices, and the closing one."""

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
