"""The case workflows' bases, composed of the pieces in this package.

`CaseBase` is what every kind of case is: state, decisions, the clock, withdrawal. Public access
builds on it alone. `CaseWorkflow` adds what a GDPR case has besides, about its data subject:
identity, notices to the subject, and the connected systems.
"""

from __future__ import annotations

from temporalio import workflow

from contract.case import CaseStatus
from contract.public_access import PublicAccessStatus
from workflows.case.clock import CaseClock
from workflows.case.decisions import Decisions
from workflows.case.identity import Identity
from workflows.case.lifecycle import Lifecycle
from workflows.case.notices import SubjectNotices
from workflows.case.state import CaseCore
from workflows.case.systems import SystemsFanOut
from workflows.case.withdrawal import Withdrawal


class CaseBase(Decisions, Withdrawal, CaseClock, Lifecycle, CaseCore):
    """Every kind of case: its state and trail, its handlers' decisions, its clock, its
    withdrawal, and the `status` query. Subclasses define `run` and their own steps."""

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

    def _public_status(self) -> PublicAccessStatus | None:
        """What a public-access case adds to its status (a hook for that kind)."""
        return None


class CaseWorkflow(Identity, SubjectNotices, SystemsFanOut, CaseBase):
    """A GDPR case: about one data subject. Subclasses define `run` and their own steps.

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

    The clock, its pauses and its extension: `CaseClock` (workflows/case/clock.py).
    """
