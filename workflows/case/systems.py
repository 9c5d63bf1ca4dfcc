"""The connected systems (GDPR kinds): one step in every system at once, watched while a system
is slow; writes, restriction holds and the recipients told of a change (Art. 19).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError

from contract.case import SystemWait
from contract.policies import PERSISTENT, SHORT_TIMEOUT
from contract.steps import (
    NotifyRecipientInput,
    PlanCollectionInput,
    PlanCollectionResult,
    RestrictionHoldInput,
    SystemWriteInput,
    SystemWriteResult,
)
from workflows.case.patches import RESTRICTION_HOLDS_PATCH
from workflows.case.state import ENGINE, CaseCore

with workflow.unsafe.imports_passed_through():
    from activities.notify import NotifyActivities
    from activities.register import RegisterActivities
    from activities.sources import SourceActivities


T = TypeVar("T")


class SystemsFanOut(CaseCore):
    """Fan-out to the connected systems, and Art. 19 notices to recipients."""

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
