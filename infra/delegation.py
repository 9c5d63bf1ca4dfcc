"""The delegation register (delegationsordning): who may take formal refusal decisions, on
which matters (official documents, GDPR requests), from a YAML file named in the settings."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contract.base import HandlerId
from contract.roles import Matter
from infra.declarations import load_declaration


class Delegation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    point: str = Field(min_length=1, max_length=200)
    valid_from: date
    valid_to: date | None = None
    # What the point covers; a register written before GDPR refusals were delegated meant
    # official documents only.
    matters: frozenset[Matter] = Field(default=frozenset({Matter.PUBLIC_ACCESS}), min_length=1)

    @model_validator(mode="after")
    def _in_order(self) -> Delegation:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class DelegationRegister(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    delegates: dict[HandlerId, Delegation]

    def on(self, day: date, matter: Matter = Matter.PUBLIC_ACCESS) -> dict[str, str]:
        """Handler id -> delegation point, for those who hold one for `matter` on `day`."""
        return {
            who: d.point
            for who, d in self.delegates.items()
            if d.valid_on(day) and matter in d.matters
        }


class DelegationError(ValueError):
    """The register cannot be read; the message names the file and the field."""


def load_delegations(path: Path) -> DelegationRegister:
    return load_declaration(path, DelegationRegister, DelegationError)
