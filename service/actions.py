"""The handler actions the API offers, one route each: the workflow update it sends, the input
it takes and the role it needs (contract.roles.ACTIONS). The body is the update's input without
`handler`: the service puts the signed-in login there itself, and refuses a body that names
someone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, create_model
from pydantic.json_schema import SkipJsonSchema

from contract.actions import (
    ActionResult,
    ApproveErasurePlanInput,
    ApproveReleaseInput,
    CloseUnverifiedInput,
    DecideRectificationInput,
    LiftRestrictionInput,
    PrepareErasurePlanInput,
    RecordManualDeliveryInput,
    RecordRestrictionGroundInput,
    RefuseInput,
    RejectErasurePlanInput,
    RequestChangesInput,
    VerifyIdentityInput,
    WithdrawInput,
)
from contract.case import (
    AskClarificationInput,
    ExtendInput,
    ReassignInput,
    RecordClarificationInput,
)
from contract.erasure import FollowUpStatus, RecordDisposalDecisionInput
from contract.public_access import (
    ConfirmDocumentsInput,
    FormalDecisionInput,
    RecordDecisionReceiptInput,
    RegisterAppealInput,
    RequestFormalDecisionInput,
    ReviewDocumentInput,
    SearchAgainInput,
)


@dataclass(frozen=True)
class Action:
    update: str
    model: type[BaseModel]
    summary: str
    # The role check of contract.roles.ACTIONS the service makes before it asks the case.
    role_action: str
    result: type[BaseModel] = ActionResult
    # "retention": the erasure case's follow-up (CASE-retention), not the case itself.
    target: str = "case"
    # Only a public-access case takes it (a clear 409 for any other kind).
    public_only: bool = False

    @property
    def path(self) -> str:
        return self.update.replace("_", "-")


def _action(update: str, model: type[BaseModel], summary: str, **kwargs: Any) -> Action:
    role_action = kwargs.pop("role_action", update)
    return Action(update, model, summary, role_action, **kwargs)


ACTIONS: tuple[Action, ...] = (
    _action(
        "verify_identity", VerifyIdentityInput, "Record how the subject's identity was proven."
    ),
    _action(
        "close_unverified",
        CloseUnverifiedInput,
        "Close a case whose identity could not be verified.",
    ),
    _action(
        "approve_release",
        ApproveReleaseInput,
        "Approve the release of what was reviewed; it is sent at once.",
    ),
    _action(
        "request_changes",
        RequestChangesInput,
        "Send the extract back to be collected and built again.",
    ),
    _action(
        "record_manual_delivery", RecordManualDeliveryInput, "Record an answer handed over by hand."
    ),
    _action(
        "decide_rectification",
        DecideRectificationInput,
        "Decide a rectification request.",
        role_action="accept_rectification",
    ),
    _action(
        "record_restriction_ground",
        RecordRestrictionGroundInput,
        "Record the ground of Art. 18(1) the subject gave.",
    ),
    _action(
        "lift_restriction",
        LiftRestrictionInput,
        "Lift a restriction; the subject is told first (Art. 18(3)).",
    ),
    _action(
        "prepare_erasure_plan",
        PrepareErasurePlanInput,
        "Prepare the erasure plan for another person to approve.",
    ),
    _action(
        "approve_erasure_plan",
        ApproveErasurePlanInput,
        "Approve the erasure plan (not its preparer: four eyes).",
    ),
    _action("reject_erasure_plan", RejectErasurePlanInput, "Send the erasure plan back."),
    _action(
        "refuse", RefuseInput, "Refuse a manifestly unfounded or excessive request (Art. 12(5))."
    ),
    _action(
        "withdraw", WithdrawInput, "Record that the subject or requester withdrew the request."
    ),
    _action("extend", ExtendInput, "Extend the deadline by two months (Art. 12(3))."),
    _action(
        "ask_clarification", AskClarificationInput, "Ask the subject to clarify; the clock pauses."
    ),
    _action(
        "record_clarification",
        RecordClarificationInput,
        "Record the subject's clarification; the clock runs again.",
    ),
    _action("reassign", ReassignInput, "Hand the case to another handler.", role_action="hand_on"),
    _action(
        "search_again",
        SearchAgainInput,
        "Search the archive again for a public-access request.",
        public_only=True,
    ),
    _action(
        "confirm_documents",
        ConfirmDocumentsInput,
        "Confirm which documents the request covers.",
        public_only=True,
    ),
    _action(
        "review_document", ReviewDocumentInput, "Review one document for secrecy.", public_only=True
    ),
    _action(
        "request_formal_decision",
        RequestFormalDecisionInput,
        "Record that the requester asks for an appealable decision.",
        public_only=True,
    ),
    _action(
        "make_formal_decision",
        FormalDecisionInput,
        "Make the formal decision (delegated authority).",
        public_only=True,
    ),
    _action(
        "register_appeal",
        RegisterAppealInput,
        "Register an appeal against the formal decision.",
        public_only=True,
    ),
    _action(
        "record_decision_receipt",
        RecordDecisionReceiptInput,
        "Record the day a decision by letter was received.",
        public_only=True,
        role_action="register_appeal",
    ),
    _action(
        "record_disposal_decision",
        RecordDisposalDecisionInput,
        "Record the archive's disposal decision for what an erasure kept.",
        result=FollowUpStatus,
        target="retention",
    ),
)
BY_PATH = {action.path: action for action in ACTIONS}


@cache
def body_model(model: type[BaseModel]) -> type[BaseModel]:
    """The update's input as a request body: `handler` may be left out (it is the signed-in
    person); a body that gives it must give that person."""
    fields: dict[str, Any] = {"handler": (str | None, None)}
    if "action_id" in model.model_fields:
        # Given by the case service to each action it sends; not the client's to choose.
        fields["action_id"] = (SkipJsonSchema[str | None], None)  # type: ignore[misc]
        fields["for_case"] = (SkipJsonSchema[str | None], None)  # type: ignore[misc]
    return create_model(model.__name__.removesuffix("Input") + "Body", __base__=model, **fields)
