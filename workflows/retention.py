"""The follow-up of an erasure case: the parts it kept are erased, without anyone remembering
it, as their retention ends (the disposal rules' dates, a contract's end, the archive's
disposal decision); and the answer's words for what was erased and what is kept.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from contract.case import ErasureSummary
from contract.erasure import (
    EraseDueInput,
    EraseDueResult,
    FollowUpStatus,
    RecordDisposalDecisionInput,
    RetentionFollowUpInput,
    RetentionFollowUpResult,
)
from contract.handling import RECORD_DISPOSAL_DECISION
from contract.policies import PERSISTENT, SHORT_TIMEOUT
from contract.steps import (
    NotifyRecipientInput,
    NotifyStaffInput,
    PlanCollectionInput,
    RecordEventInput,
)
from contract.vocabulary import Kind
from workflows.case.state import ENGINE
from workflows.roles import StaffRoles

with workflow.unsafe.imports_passed_through():
    from activities.erasure import ErasureActivities
    from activities.notify import NotifyActivities
    from activities.register import RegisterActivities
    from activities.sources import SourceActivities


# Kept parts are erased in runs at most this far apart, so a table with a date per row (meter
# readings) costs a run a month, not a run a day; nothing stays longer than that past its date.
FOLLOW_UP_BATCH = timedelta(days=30)
# Trail rows of the follow-up are numbered from here, clear of the case's own steps.
FOLLOW_UP_TRAIL_KEY = 10_000
WRITE_TIMEOUT = timedelta(minutes=10)
# Patch ids: the approved plan is checked against the systems before it is executed; parts
# kept without a date (a running contract, the archive) are followed up too.
ERASURE_PLAN_CHECK_PATCH = "erasure-plan-check"
FOLLOW_UP_UNDATED_PATCH = "follow-up-undated"
# Patch id: official documents no disposal rule covers are kept for good (arkivlagen), not
# followed up waiting for a decision: the follow-up waits only for contracts to end.
DISPOSAL_RULES_PATCH = "disposal-rules"
ACTIONS_SV = {
    "delete": "raderas",
    "anonymise": "avidentifieras",
    "suppress": "minimeras till en spärr mot marknadsföring",
    "keep": "sparas",
}


@workflow.defn
class RetentionFollowUpWorkflow(StaffRoles):
    """Erases the kept parts of an erasure case as their retention ends, without anyone
    remembering it: waits until the next date, plans again as of that day in every system,
    erases what may go, and repeats until nothing approved is kept any longer.

    Kept without a date: while a contract runs, it looks again every FOLLOW_UP_BATCH (the
    contract may end any day, and then the accounting years or nothing keep the rows); archived
    official documents wait for the archive's disposal decision (gallringsbeslut): the archive
    function is asked once and the DPO told, and the `record_disposal_decision` update (the
    decision's reference) lifts the archive's hold; any other rule still applies. Rows kept
    because they are someone else's too are not followed. Whoever received rows that go is told
    (Art. 19), per run. Follow-ups started before this (patch FOLLOW_UP_UNDATED_PATCH) keep
    their old course until they continue as new, when the new course applies.
    """

    @workflow.init
    def __init__(self, follow_up: RetentionFollowUpInput) -> None:
        self._case_number = follow_up.case_number
        self._runs = follow_up.runs
        self._next_due: date | None = follow_up.next_due
        self._waiting = list(follow_up.waiting)
        self._erased: dict[str, int] = dict(follow_up.erased)
        self._disposal: RecordDisposalDecisionInput | None = None
        self._disposed = follow_up.disposal_reference is not None
        self._disposal_reference = follow_up.disposal_reference
        self._staff = None

    @property
    def _roles_ref(self) -> str:
        return self._case_number

    @workflow.run
    async def run(self, follow_up: RetentionFollowUpInput) -> RetentionFollowUpResult:
        followed = workflow.patched(FOLLOW_UP_UNDATED_PATCH)
        dpo_told = follow_up.dpo_told
        await self._read_roster()
        while (
            self._next_due is not None or (followed and self._waiting) or self._disposal_pending()
        ):
            await self._wait(self._next_due, followed)
            self._runs += 1
            dispose = self._disposal_pending()
            results = await self._erase_due(follow_up, self._runs, dispose)
            if followed:
                await self._tell_recipients(follow_up, results)
            self._disposed = self._disposed or dispose
            today = workflow.now().date()
            dates = [r.next_due for r in results if r.next_due is not None]
            self._next_due = max(min(dates), today + FOLLOW_UP_BATCH) if dates else None
            if not followed:
                self._waiting = []
            else:
                self._waiting = sorted({rule for r in results for rule in r.waiting})
                if "running_contract" in self._waiting:
                    again = today + FOLLOW_UP_BATCH
                    self._next_due = min(self._next_due or again, again)
                if "archive" in self._waiting and not dpo_told:
                    await self._ask_for_disposal_decision()
                    dpo_told = True
            if (
                self._next_due is not None
                and not self._disposal_pending()
                and workflow.info().is_continue_as_new_suggested()
            ):
                # A disposal decision whose actor is being checked must not be left waiting
                # for a run this one would never make: act on it first if it stands.
                await workflow.wait_condition(
                    lambda: workflow.all_handlers_finished() or self._disposal_pending()
                )
                if self._disposal_pending():
                    continue
                workflow.continue_as_new(
                    follow_up.model_copy(
                        update={
                            "next_due": self._next_due,
                            "runs": self._runs,
                            "waiting": self._waiting,
                            "dpo_told": dpo_told,
                            "erased": self._erased,
                            "disposal_reference": self._reference(),
                        }
                    )
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return RetentionFollowUpResult(
            case_number=follow_up.case_number,
            runs=self._runs,
            erased=self._erased,
            disposal_reference=self._reference(),
        )

    def _disposal_pending(self) -> bool:
        """A disposal decision was accepted and no run has acted on it yet."""
        return self._disposal is not None and not self._disposed

    def _reference(self) -> str | None:
        return self._disposal.reference if self._disposal else self._disposal_reference

    @workflow.update(name=RECORD_DISPOSAL_DECISION.update)
    async def record_disposal_decision(
        self, decision: RecordDisposalDecisionInput
    ) -> FollowUpStatus:
        """The disposal decision is taken: the archived rows of this case go now."""
        await self._authorize(decision.handler, RECORD_DISPOSAL_DECISION.role_action)
        # Again: another may have recorded one meanwhile.
        self._revalidate(self._validate_disposal, decision)
        self._disposal = decision
        await workflow.wait_condition(lambda: self._disposed)
        return self.progress()

    @record_disposal_decision.validator
    def _validate_disposal(self, decision: RecordDisposalDecisionInput) -> None:
        if self._disposal is not None or self._disposal_reference is not None:
            raise ApplicationError(
                f"case {self._case_number}: a disposal decision is already recorded "
                f"({self._reference()})",
                type="WrongState",
            )
        if "archive" not in self._waiting:
            raise ApplicationError(
                f"case {self._case_number}: no archived rows are kept waiting for a disposal "
                "decision",
                type="WrongState",
            )
        self._check_role(decision.handler, RECORD_DISPOSAL_DECISION.role_action)

    @workflow.query
    def progress(self) -> FollowUpStatus:
        return FollowUpStatus(
            case_number=self._case_number,
            runs=self._runs,
            next_due=self._next_due,
            waiting=self._waiting,
            erased=self._erased,
            disposal_reference=self._reference(),
        )

    async def _wait(self, due: date | None, followed: bool) -> None:
        """Until `due` (02:00 local server time), or forever if None; a disposal decision to act
        on ends the wait early."""
        if not followed:
            assert due is not None
            wake = datetime.combine(due, time(2, 0), workflow.now().tzinfo)
            if wake > workflow.now():
                await workflow.sleep(wake - workflow.now())
            return
        timeout = None
        if due is not None:
            wake = datetime.combine(due, time(2, 0), workflow.now().tzinfo)
            if wake <= workflow.now():
                return
            timeout = wake - workflow.now()
        try:
            await workflow.wait_condition(
                lambda: self._disposal is not None and not self._disposed, timeout=timeout
            )
        except TimeoutError:
            pass

    async def _ask_for_disposal_decision(self) -> None:
        """The archive function decides on disposal; the DPO advises and is told."""
        await asyncio.gather(
            *(
                workflow.execute_activity_method(
                    NotifyActivities.notify_staff,
                    NotifyStaffInput(
                        case_number=self._case_number, kind=Kind.ERASURE, role=role, event=event
                    ),
                    start_to_close_timeout=SHORT_TIMEOUT,
                    retry_policy=PERSISTENT,
                )
                for role, event in (
                    ("archivist", "disposal_decision_needed"),
                    ("dpo", "archived_kept"),
                )
            )
        )

    async def _tell_recipients(
        self, follow_up: RetentionFollowUpInput, results: list[EraseDueResult]
    ) -> None:
        """Art. 19: whoever received the rows erased in this run is told, once per run; those
        the recipients register does not know go to the team lead to tell by hand."""
        names = sorted({name for result in results for name in result.recipients})
        receipts = await asyncio.gather(
            *(
                workflow.execute_activity_method(
                    NotifyActivities.notify_recipient,
                    NotifyRecipientInput(
                        case_number=follow_up.case_number,
                        subject_id=follow_up.subject_id,
                        recipient=name,
                        notice="erasure",
                        notice_key=f"run{self._runs}",
                    ),
                    start_to_close_timeout=SHORT_TIMEOUT,
                    retry_policy=PERSISTENT,
                )
                for name in names
            )
        )
        unreached = [n for n, r in zip(names, receipts, strict=True) if not r.reached]
        unreached += sorted({c for result in results for c in result.categories} - set(names))
        if unreached:
            await workflow.execute_activity_method(
                NotifyActivities.notify_staff,
                NotifyStaffInput(
                    case_number=self._case_number,
                    kind=Kind.ERASURE,
                    role="team_lead",
                    event="recipients_to_notify",
                    notice_key=f"run{self._runs}",
                    detail=", ".join(unreached),
                ),
                start_to_close_timeout=SHORT_TIMEOUT,
                retry_policy=PERSISTENT,
            )

    async def _erase_due(
        self, follow_up: RetentionFollowUpInput, run: int, dispose: bool
    ) -> list[EraseDueResult]:
        today = workflow.now().date()
        plan = await workflow.execute_activity_method(
            SourceActivities.plan_collection,
            PlanCollectionInput(case_number=follow_up.case_number),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )
        results = await asyncio.gather(
            *(
                workflow.execute_activity_method(
                    ErasureActivities.erase_due,
                    EraseDueInput(
                        case_number=follow_up.case_number,
                        system=system,
                        subject_id=follow_up.subject_id,
                        today=today,
                        plan_ref=follow_up.plan_ref,
                        dispose_archived=dispose,
                    ),
                    start_to_close_timeout=WRITE_TIMEOUT,
                    retry_policy=PERSISTENT,
                )
                for system in plan.systems
            )
        )
        this_run = {f"{r.system}.{t}": n for r in results for t, n in r.erased.items() if n}
        for key, rows in this_run.items():
            self._erased[key] = self._erased.get(key, 0) + rows
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(this_run.items())) or "-"
        if dispose and self._disposal is not None:
            detail = (
                f"disposal decision {self._disposal.reference} ({self._disposal.handler}); {detail}"
            )
        await workflow.execute_activity_method(
            RegisterActivities.record_event,
            RecordEventInput(
                case_number=follow_up.case_number,
                key=FOLLOW_UP_TRAIL_KEY + run,
                actor=ENGINE,
                action="retention_run",
                detail=detail,
            ),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )
        return list(results)


def merged(before: list[ErasureSummary], now: list[ErasureSummary]) -> list[ErasureSummary]:
    """What an earlier, stopped round erased, then the final plan; a line the final plan also
    has (a marketing block, minimised again and unchanged) is answered once."""
    seen = {(item.system, item.table, item.action) for item in now}
    return [i for i in before if (i.system, i.table, i.action) not in seen] + now


def answer_facts(items: list[ErasureSummary]) -> dict[str, str]:
    """The answer per category with dates, in Swedish, for the notice to the subject: what was
    erased under which disposal decision, and what is kept, why and until when."""
    erased, kept = [], []
    for item in items:
        if item.action == "suppress":
            kept.append(f"{item.label}: {ACTIONS_SV[item.action]}. {item.reason}")
        elif item.action != "keep":
            decision = f", enligt gallringsbeslut {item.disposal}" if item.disposal else ""
            erased.append(f"{item.label} ({ACTIONS_SV[item.action]}, {item.rows} st.{decision})")
        elif item.keep_until is None:
            kept.append(f"{item.label}: sparas tills vidare. {item.reason}")
        elif item.keep_from == item.keep_until:
            kept.append(
                f"{item.label}: sparas till och med {item.keep_until} och får gallras dagen "
                f"efter. {item.reason}"
            )
        else:
            kept.append(
                f"{item.label}: sparas till och med {item.keep_from}–{item.keep_until} och "
                f"raderas därefter löpande. {item.reason}"
            )
    return {
        "erased": "; ".join(erased) or "inga",
        "kept": " ".join(kept) or "inga",
    }
