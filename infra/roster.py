"""The staff roster: who works cases and in which roles, from a YAML file named in the
settings. With the delegation register it gives each person's roles on a given day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contract.base import HandlerId
from contract.roles import DELEGATED, ROSTER_ROLES, Matter, Role
from infra.declarations import load_declaration
from infra.delegation import DelegationError, DelegationRegister, load_delegations

# Actors the engine writes into the trail itself; no person may carry these ids.
RESERVED_IDS = frozenset({"engine", "e-id"})


class StaffEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    roles: frozenset[Role] = Field(min_length=1)

    @field_validator("roles")
    @classmethod
    def _roster_roles(cls, roles: frozenset[Role]) -> frozenset[Role]:
        delegated = sorted(roles - ROSTER_ROLES)
        if delegated:
            raise ValueError(
                f"{', '.join(delegated)} comes from the delegation register, not the roster"
            )
        if Role.DPO in roles and len(roles) > 1:
            raise ValueError(
                "the data protection officer holds no other role: the DPO advises and is "
                "told, and does not work cases (Art. 38(6))"
            )
        return roles


class Roster(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    staff: dict[HandlerId, StaffEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> Roster:
        seen: set[str] = set()
        for who in self.staff:
            key = who.casefold()
            if key in RESERVED_IDS:
                raise ValueError(f"{who} is the engine's own actor id, not a person's")
            if key in seen:
                raise ValueError(f"{who} is listed twice (ids are compared ignoring case)")
            seen.add(key)
        return self

    def roles_on(self, delegations: DelegationRegister, day: date) -> dict[str, list[Role]]:
        """Handler id (casefolded) -> roles on `day`: the roster's, and a decision maker's for
        each matter delegated to them that day. Only staff hold delegated roles, and never
        the DPO (`check` refuses either at start-up)."""
        staff = {who.casefold(): set(entry.roles) for who, entry in self.staff.items()}
        for matter in Matter:
            for who in delegations.on(day, matter):
                roles = staff.get(who.casefold())
                if roles is not None and Role.DPO not in roles:
                    roles.add(DELEGATED[matter])
        return {who: sorted(roles) for who, roles in sorted(staff.items())}

    def check(self, delegations: DelegationRegister) -> None:
        """Refuse a delegation register that does not fit the roster."""
        for who in delegations.delegates:
            entry = next(
                (e for name, e in self.staff.items() if name.casefold() == who.casefold()), None
            )
            if entry is None:
                raise RosterError(
                    f"delegation register: {who} holds a delegation but is not in the roster"
                )
            if Role.DPO in entry.roles:
                raise RosterError(
                    f"delegation register: {who} is the data protection officer, who may not "
                    "hold delegated authority to decide (Art. 38(6))"
                )


class RosterError(ValueError):
    """The roster cannot be read or does not fit; the message names the file and the field."""


def load_roster(path: Path) -> Roster:
    return load_declaration(path, Roster, RosterError)


class NotOnRoster(Exception):
    """A login the staff roster does not hold; the message says why, in one line."""


@dataclass(frozen=True)
class StaffToday:
    """The roster's ids as it spells them, and everyone's roles (by casefolded id) on a day."""

    names: list[str]
    roles: dict[str, list[Role]]

    def spelled(self, login: str) -> str | None:
        """`login` as the roster spells it ("Anna" is anna), or None."""
        return next((name for name in self.names if name.casefold() == login.casefold()), None)

    def member(self, login: str) -> str:
        """The roster's id of a signed-in `login`, or NotOnRoster saying why not."""
        if not login.isascii():
            # Roster ids are ASCII: a look-alike login ("ſara" folds to "sara") is nobody's.
            raise NotOnRoster("the login is not one the staff roster can hold (not ASCII)")
        entry = self.spelled(login)
        if entry is None:
            raise NotOnRoster(f"{login} is not in the staff roster")
        return entry

    def roles_of(self, entry: str) -> list[Role]:
        return self.roles.get(entry.casefold(), [])


def staff_on(
    roster_file: Path, delegation_file: Path, day: date, *, checked: bool = False
) -> StaffToday:
    """Who is on the staff roster and their roles on `day`, by the roster and the delegation
    register (the case service and the codec server alike); RosterError if either cannot be
    read, or with `checked` if they do not fit together."""
    try:
        roster = load_roster(roster_file)
        delegations = load_delegations(delegation_file)
    except DelegationError as error:
        raise RosterError(str(error)) from None
    if checked:
        roster.check(delegations)
    return StaffToday(list(roster.staff), roster.roles_on(delegations, day))


def holding(path: Path, role: Role) -> tuple[str, ...]:
    """The roster's ids of those who hold `role` (a roster role, not a delegated one), in the
    roster's order: who a benchmark or a demo lets act."""
    return tuple(who for who, entry in load_roster(path).staff.items() if role in entry.roles)
