"""The inputs of the handler actions (updates) on a GDPR case.

Payloads are pydantic v2 models, sandbox-safe and without I/O (see contract/__init__.py).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints

from contract.base import CaseNumber, HandlerAction, HandlerId, Model, Reason
from contract.case import CaseState
from contract.vocabulary import (
    IdentityMethod,
    RectifiableField,
    RectificationDecision,
    RestrictionGround,
)

# --- handler actions (updates) ------------------------------------------------------------


class VerifyIdentityInput(HandlerAction):
    method: IdentityMethod
    handler: HandlerId
    # The day the subject supplied the proof (a letter's day of arrival, the visit): the pause
    # ends then, not the day a handler records it. None: today.
    supplied_on: date | None = None


class CloseUnverifiedInput(HandlerAction):
    handler: HandlerId
    reason: Reason


class ApproveReleaseInput(HandlerAction):
    handler: HandlerId


class RequestChangesInput(HandlerAction):
    handler: HandlerId
    reason: Reason


class RecordManualDeliveryInput(HandlerAction):
    handler: HandlerId
    note: Reason


class WithdrawInput(HandlerAction):
    """The subject (or a public-access requester) withdraws the request, at any time."""

    handler: HandlerId  # who recorded it
    # The day the withdrawal reached the company (a letter, a call); None: today.
    received_on: date | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class RefuseInput(HandlerAction):
    """Art. 12(5): manifestly unfounded or excessive; the reason is required and sent."""

    handler: HandlerId
    reason: Reason


class DecideRectificationInput(HandlerAction):
    handler: HandlerId
    decision: RectificationDecision
    accepted_fields: list[RectifiableField] = Field(default_factory=list)
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None


class RecordRestrictionGroundInput(HandlerAction):
    """The subject's answer to which ground of Art. 18(1) the restriction rests on."""

    handler: HandlerId
    ground: RestrictionGround
    received_on: date | None = None  # the day the answer arrived: the pause ends then


class LiftRestrictionInput(HandlerAction):
    handler: HandlerId
    reason: Reason


class PrepareErasurePlanInput(HandlerAction):
    handler: HandlerId


class ApproveErasurePlanInput(HandlerAction):
    handler: HandlerId


class RejectErasurePlanInput(HandlerAction):
    handler: HandlerId
    reason: Reason


class ActionResult(Model):
    case_number: CaseNumber
    state: CaseState
