"""The staff roster and delegation register as a case asks them: who may act, and who decides.

Payloads are pydantic v2 models, sandbox-safe and without I/O (see contract/__init__.py).
"""

from __future__ import annotations

from pydantic import AwareDatetime

from contract.base import CaseNumber, HandlerAction, HandlerId, Model
from contract.roles import Role


class DelegationInput(Model):
    case_number: CaseNumber
    at: AwareDatetime  # who holds delegated authority at this moment (its Stockholm day)


class DelegationResult(Model):
    # Handler id -> the point of the delegation order that gives them the authority.
    delegates: dict[str, str]


class RosterInput(Model):
    case_number: str  # a case number, or a case's follow-up id
    at: AwareDatetime  # whose roles at this moment (its Stockholm day)


class RefreshRosterInput(HandlerAction):
    """Have a case read the staff roster anew, for someone given a role since it last did."""

    handler: HandlerId


class RosterResult(Model):
    # Handler id (casefolded) -> roles that day; empty with `problem` set when the roster or
    # the delegation register cannot be read.
    staff: dict[str, list[Role]] = {}
    problem: str | None = None
