"""The handler actions: one row each, the one table every side reads.

A row names the workflow update a person's action is, its input (by import path: this module is
standard library only, so the command line can read it without loading the models), the role
check it takes (contract.roles.ACTIONS), the words a refusal uses, and the summary and Swedish
heading and button the API, the command line and the console show. The workflows' handlers and
validators take their name and role from here; the case service builds its routes from it; the
command line its calls; the console its forms; the bench and the demo their steps
(service/steps.py). tests/workflow/test_action_table.py holds the workflows to it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    update: str
    # The update's input model, "module:Class" (resolved by `service.actions`).
    model: str
    summary: str
    # The form's heading and its button, in the console.
    title_sv: str
    button_sv: str
    # The role check (contract.roles.ACTIONS) it takes; its update's name, unless said.
    role: str = ""
    # What a refusal says one may do ("you can <what> only while it is ..."), for a decision.
    what: str = ""
    # "retention": the erasure case's follow-up (CASE-retention), not the case itself.
    target: str = "case"
    # Only a public-access case takes it (a clear 409 for any other kind).
    public_only: bool = False
    # The update's result, "module:Class".
    result: str = "contract.actions:ActionResult"

    @property
    def path(self) -> str:
        """The action in the API's paths and the command line's calls."""
        return self.update.replace("_", "-")

    @property
    def role_action(self) -> str:
        return self.role or self.update


VERIFY_IDENTITY = Action(
    "verify_identity",
    "contract.actions:VerifyIdentityInput",
    "Record how the subject's identity was proven.",
    "Styrk identiteten",
    "Registrera identitet",
    what="verify identity",
)
CLOSE_UNVERIFIED = Action(
    "close_unverified",
    "contract.actions:CloseUnverifiedInput",
    "Close a case whose identity could not be verified.",
    "Avsluta utan styrkt identitet",
    "Avsluta ärendet",
    what="close a case as unverified",
)
APPROVE_RELEASE = Action(
    "approve_release",
    "contract.actions:ApproveReleaseInput",
    "Approve the release of what was reviewed; it is sent at once.",
    "Godkänn och skicka",
    "Godkänn och skicka",
    what="approve the release",
)
REQUEST_CHANGES = Action(
    "request_changes",
    "contract.actions:RequestChangesInput",
    "Send the extract back to be collected and built again.",
    "Begär ändringar",
    "Skicka tillbaka",
    what="request changes",
)
RECORD_MANUAL_DELIVERY = Action(
    "record_manual_delivery",
    "contract.actions:RecordManualDeliveryInput",
    "Record an answer handed over by hand.",
    "Registrera leverans för hand",
    "Registrera leverans",
    what="record a manual delivery",
)
DECIDE_RECTIFICATION = Action(
    "decide_rectification",
    "contract.actions:DecideRectificationInput",
    "Decide a rectification request.",
    "Beslut om rättelse",
    "Fatta beslut",
    # The service's check before it asks the case; the case itself judges accepting and
    # refusing apart (workflows/rectification.py).
    role="accept_rectification",
    what="decide on the rectification",
)
RECORD_RESTRICTION_GROUND = Action(
    "record_restriction_ground",
    "contract.actions:RecordRestrictionGroundInput",
    "Record the ground of Art. 18(1) the subject gave.",
    "Grund för begränsningen (art. 18.1)",
    "Registrera grund",
    what="record the ground",
)
LIFT_RESTRICTION = Action(
    "lift_restriction",
    "contract.actions:LiftRestrictionInput",
    "Lift a restriction; the subject is told first (Art. 18(3)).",
    "Häv begränsningen (art. 18.3)",
    "Häv begränsningen",
    what="lift the restriction",
)
PREPARE_ERASURE_PLAN = Action(
    "prepare_erasure_plan",
    "contract.actions:PrepareErasurePlanInput",
    "Prepare the erasure plan for another person to approve.",
    "Ta fram raderingsplan",
    "Ta fram plan",
    what="prepare the erasure plan",
)
APPROVE_ERASURE_PLAN = Action(
    "approve_erasure_plan",
    "contract.actions:ApproveErasurePlanInput",
    "Approve the erasure plan (not its preparer: four eyes).",
    "Godkänn raderingsplanen",
    "Godkänn planen",
    what="approve the erasure plan",
)
REJECT_ERASURE_PLAN = Action(
    "reject_erasure_plan",
    "contract.actions:RejectErasurePlanInput",
    "Send the erasure plan back.",
    "Skicka tillbaka raderingsplanen",
    "Skicka tillbaka",
    what="send the erasure plan back",
)
REFUSE = Action(
    "refuse",
    "contract.actions:RefuseInput",
    "Refuse a manifestly unfounded or excessive request (Art. 12(5)).",
    "Vägra (art. 12.5)",
    "Vägra",
    what="refuse the request",
)
WITHDRAW = Action(
    "withdraw",
    "contract.actions:WithdrawInput",
    "Record that the subject or requester withdrew the request.",
    "Registrera återkallelse",
    "Registrera återkallelse",
)
EXTEND = Action(
    "extend",
    "contract.case:ExtendInput",
    "Extend the deadline by two months (Art. 12(3)).",
    "Förläng tidsfristen (art. 12.3)",
    "Förläng",
)
ASK_CLARIFICATION = Action(
    "ask_clarification",
    "contract.case:AskClarificationInput",
    "Ask the subject to clarify; the clock pauses.",
    "Begär förtydligande",
    "Skicka frågan",
)
RECORD_CLARIFICATION = Action(
    "record_clarification",
    "contract.case:RecordClarificationInput",
    "Record the subject's clarification; the clock runs again.",
    "Registrera förtydligande",
    "Registrera",
)
REASSIGN = Action(
    "reassign",
    "contract.case:ReassignInput",
    "Hand the case to another handler.",
    "Lämna över ärendet",
    "Lämna över",
    # The assignee hands their own case on; the case asks a team lead for anyone else's.
    role="hand_on",
)
LINK = Action(
    "link",
    "contract.public_access:LinkCaseInput",
    "Link two open cases handled together.",
    "Koppla ihop med ett annat ärende",
    "Koppla ihop",
)
SEARCH_AGAIN = Action(
    "search_again",
    "contract.public_access:SearchAgainInput",
    "Search the archive again for a public-access request.",
    "Sök igen",
    "Sök",
    what="search again",
    public_only=True,
)
CONFIRM_DOCUMENTS = Action(
    "confirm_documents",
    "contract.public_access:ConfirmDocumentsInput",
    "Confirm which documents the request covers.",
    "Bekräfta handlingarna",
    "Bekräfta",
    what="confirm the documents",
    public_only=True,
)
REVIEW_DOCUMENT = Action(
    "review_document",
    "contract.public_access:ReviewDocumentInput",
    "Review one document for secrecy.",
    "Sekretessprövning av en handling",
    "Spara prövningen",
    public_only=True,
)
REQUEST_FORMAL_DECISION = Action(
    "request_formal_decision",
    "contract.public_access:RequestFormalDecisionInput",
    "Record that the requester asks for an appealable decision.",
    "Begäran om överklagbart beslut",
    "Registrera begäran",
    what="ask for a formal decision",
    public_only=True,
)
MAKE_FORMAL_DECISION = Action(
    "make_formal_decision",
    "contract.public_access:FormalDecisionInput",
    "Make the formal decision (delegated authority).",
    "Fatta formellt beslut",
    "Fatta beslut",
    what="make the formal decision",
    public_only=True,
)
REGISTER_APPEAL = Action(
    "register_appeal",
    "contract.public_access:RegisterAppealInput",
    "Register an appeal against the formal decision.",
    "Registrera överklagande",
    "Registrera",
    what="register an appeal",
    public_only=True,
)
RECORD_DECISION_RECEIPT = Action(
    "record_decision_receipt",
    "contract.public_access:RecordDecisionReceiptInput",
    "Record the day a decision by letter was received.",
    "Registrera att beslutet tagits emot",
    "Registrera",
    role="register_appeal",
    public_only=True,
)
RECORD_DISPOSAL_DECISION = Action(
    "record_disposal_decision",
    "contract.erasure:RecordDisposalDecisionInput",
    "Record the archive's disposal decision for what an erasure kept.",
    "Registrera gallringsbeslut",
    "Registrera",
    target="retention",
    result="contract.erasure:FollowUpStatus",
)

# In the order the API lists them.
ACTIONS: tuple[Action, ...] = (
    VERIFY_IDENTITY,
    CLOSE_UNVERIFIED,
    APPROVE_RELEASE,
    REQUEST_CHANGES,
    RECORD_MANUAL_DELIVERY,
    DECIDE_RECTIFICATION,
    RECORD_RESTRICTION_GROUND,
    LIFT_RESTRICTION,
    PREPARE_ERASURE_PLAN,
    APPROVE_ERASURE_PLAN,
    REJECT_ERASURE_PLAN,
    REFUSE,
    WITHDRAW,
    EXTEND,
    ASK_CLARIFICATION,
    RECORD_CLARIFICATION,
    REASSIGN,
    SEARCH_AGAIN,
    CONFIRM_DOCUMENTS,
    REVIEW_DOCUMENT,
    REQUEST_FORMAL_DECISION,
    MAKE_FORMAL_DECISION,
    REGISTER_APPEAL,
    RECORD_DECISION_RECEIPT,
    RECORD_DISPOSAL_DECISION,
    LINK,
)
BY_UPDATE = {action.update: action for action in ACTIONS}
BY_PATH = {action.path: action for action in ACTIONS}
