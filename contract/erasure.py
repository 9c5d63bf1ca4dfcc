"""Erasure: the plan, its check before it is executed, and the follow-up of what was kept.

Payloads are pydantic v2 models, sandbox-safe and without I/O (see contract/__init__.py).
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from contract.base import CaseNumber, HandlerAction, HandlerId, Model, Reason, SubjectId
from contract.case import ErasureSummary


class PlanErasureInput(Model):
    case_number: CaseNumber
    subject_id: SubjectId
    today: date


class CheckErasurePlanInput(Model):
    case_number: CaseNumber
    subject_id: SubjectId
    today: date
    plan_ref: str


class ErasurePlanCheck(Model):
    # What makes the approved plan outdated, per table, without row keys or values.
    changes: list[str] = Field(default_factory=list)


class ErasurePlanResult(Model):
    ref: str  # the full plan (with row keys) in the extract store; history keeps the summary
    items: list[ErasureSummary]


class ExecuteErasureInput(Model):
    case_number: CaseNumber
    system: str
    subject_id: SubjectId
    plan_ref: str


class EraseDueInput(Model):
    case_number: CaseNumber
    system: str
    subject_id: SubjectId
    today: date
    plan_ref: str = ""  # only rows the approved plan kept may be erased later
    # A disposal decision (gallringsbeslut) covers the archived rows: they go now.
    dispose_archived: bool = False


# Undated reasons to keep that end by themselves (a contract ends) or by a decision (the
# archive's disposal decision); rows kept because they are someone else's too are not followed.
FOLLOWED_UNDATED = ("running_contract", "archive")


class EraseDueResult(Model):
    system: str
    erased: dict[str, int]
    next_due: date | None  # the first day something kept may go, if any has a date
    # Undated reasons approved rows are still kept for: running_contract, archive.
    waiting: list[str] = Field(default_factory=list)
    # Who received the rows erased in this run (Art. 19), as the approved plan recorded it,
    # and the recipients known only as a category, for a handler.
    recipients: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)


class RetentionFollowUpInput(Model):
    case_number: CaseNumber
    subject_id: SubjectId
    next_due: date
    # The approved plan; empty in follow-ups started before plans were passed on, which then
    # erase nothing (nothing unapproved may go) and end.
    plan_ref: str = ""
    runs: int = 0  # carried over continue-as-new: numbers the trail rows
    # Carried over continue-as-new: the undated reasons rows were still kept for at the last
    # run, and whether the DPO has been asked for a disposal decision on archived rows.
    waiting: list[str] = Field(default_factory=list)
    dpo_told: bool = False
    erased: dict[str, int] = Field(default_factory=dict)
    disposal_reference: str | None = None


class RetentionFollowUpResult(Model):
    case_number: CaseNumber
    runs: int
    erased: dict[str, int]
    disposal_reference: str | None = None


class RecordDisposalDecisionInput(HandlerAction):
    """The archive's disposal decision (gallringsbeslut) that lets the archived rows go."""

    handler: HandlerId
    reference: Reason  # the decision's reference, e.g. its diary number


class FollowUpStatus(Model):
    case_number: CaseNumber
    runs: int
    next_due: date | None
    waiting: list[str]
    erased: dict[str, int]
    disposal_reference: str | None
