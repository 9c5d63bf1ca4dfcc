"""The handler actions the API offers, one route each, from the action table (contract.handling):
the workflow update it sends, the input it takes and the role it needs (contract.roles.ACTIONS).
The body is the update's input without `handler`: the service puts the signed-in login there
itself, and refuses a body that names someone else.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, create_model
from pydantic.json_schema import SkipJsonSchema

from contract import handling


def _resolve(spec: str) -> type[BaseModel]:
    module, _, name = spec.partition(":")
    model: type[BaseModel] = getattr(importlib.import_module(module), name)
    return model


@dataclass(frozen=True)
class Action:
    """A row of the action table (contract.handling), with its models resolved."""

    row: handling.Action
    model: type[BaseModel]
    result: type[BaseModel]

    @property
    def update(self) -> str:
        return self.row.update

    @property
    def summary(self) -> str:
        return self.row.summary

    @property
    def role_action(self) -> str:
        """The role check of contract.roles.ACTIONS the service makes before it asks the case."""
        return self.row.role_action

    @property
    def target(self) -> str:
        return self.row.target

    @property
    def public_only(self) -> bool:
        return self.row.public_only

    @property
    def path(self) -> str:
        return self.row.path


# Every action but `link`, which has a route of its own: both cases must take it.
ACTIONS: tuple[Action, ...] = tuple(
    Action(row, _resolve(row.model), _resolve(row.result))
    for row in handling.ACTIONS
    if row is not handling.LINK
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
