"""The API's handler actions, one route per row of the action table (contract.handling), and
linking two cases. The actor is the signed-in person, never a field of the body.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from contract.actions import ActionResult
from contract.case import CaseState, ReassignInput
from contract.handling import LINK
from contract.public_access import LinkCaseInput, SearchAgainInput
from contract.vocabulary import CASE_NUMBER_PATTERN
from service import cases
from service.actions import ACTIONS, Action, body_model
from service.api_reading import public_status
from service.api_requests import known_types
from service.callers import CaseNumberPath, Staff, StaffMember, call, spelled, temporal
from service.problems import Problem

router = APIRouter(prefix="/api/v1")


# --- handler actions -------------------------------------------------------------------------


def _with_actor(member: StaffMember, body: BaseModel, model: type[BaseModel]) -> BaseModel:
    named = getattr(body, "handler", None)
    if named is not None and str(named).strip().casefold() != member.login.casefold():
        # What the body named is not repeated: it may be an identity number typed wrong.
        raise Problem(
            403,
            f"handler: the body names someone else, but {member.login} is signed in; an action "
            "is always taken as who signed in",
        )
    if getattr(body, "action_id", None) is not None:
        raise Problem(
            422,
            "action_id: the case service gives each action its one-time id; a body does not",
        )
    fields = body.model_dump(exclude={"handler", "action_id", "for_case"})
    return model.model_validate({**fields, "handler": member.login})


async def perform(
    request: Request, member: StaffMember, case_number: str, action: Action, body: BaseModel
) -> Any:
    """Take `action` on the case as `member` (the API's routes and the console's forms): the
    role first, then the case judges it; a refusal is a Problem and changes nothing."""
    member.may(action.role_action)
    update = _with_actor(member, body, action.model)
    if isinstance(update, SearchAgainInput):
        known_types(update.query)
    if isinstance(update, ReassignInput):
        # The roster's spelling: "CECILIA" is cecilia, in her list of cases.
        to = spelled(member, update.to, "to")
        update = update.model_copy(update={"to": to})
    client = temporal(request)
    try:
        if action.target == "retention":
            handle = await cases.retention_handle(client, case_number)
        elif action.public_only:
            await public_status(request, case_number, f"take {action.path}")
            handle = client.get_workflow_handle(case_number)
        else:
            return await cases.update_case(
                client, case_number, action.update, update, action.result
            )
        return await cases.run_update(handle, case_number, action.update, update, action.result)
    except cases.CaseError as error:
        raise call(error) from None


def _add_action_route(action: Action) -> None:
    body_type = body_model(action.model)

    async def take(
        request: Request,
        case_number: CaseNumberPath,
        body: body_type,  # type: ignore[valid-type]
        member: Staff,
    ) -> Any:
        return await perform(request, member, case_number, action, body)

    take.__name__ = action.update
    # Annotations are strings here (PEP 563): give FastAPI the body's class itself.
    take.__annotations__["body"] = body_type
    router.add_api_route(
        f"/cases/{{case_number}}/{action.path}",
        take,
        methods=["POST"],
        response_model=action.result,
        summary=action.summary,
        name=action.update,
    )


for _action in ACTIONS:
    _add_action_route(_action)


class LinkBody(BaseModel):
    other: Annotated[str, Field(pattern=CASE_NUMBER_PATTERN)]
    handler: str | None = None


@router.post("/cases/{case_number}/link", summary="Link two open cases handled together")
async def link(
    request: Request, case_number: CaseNumberPath, body: LinkBody, member: Staff
) -> dict[str, Any]:
    member.may("link")
    if body.other == case_number:
        raise Problem(422, "a case cannot be linked with itself")
    client = temporal(request)
    pairs = {case_number: body.other, body.other: case_number}
    try:
        # Both must take the link before either does: no half-linked pair.
        for number in pairs:
            if (await cases.fetch_status(client, number)).state is CaseState.CLOSED:
                raise cases.CaseError(409, f"case {number} is closed")
        states = {}
        for number, other in pairs.items():
            action = _with_actor(member, LinkBody(other=other, handler=body.handler), LinkCaseInput)
            handle = client.get_workflow_handle(number)
            result = await cases.run_update(handle, number, LINK.update, action, ActionResult)
            states[number] = result.state.value
    except cases.CaseError as error:
        raise call(error) from None
    return {"linked": [case_number, body.other], "states": states}
