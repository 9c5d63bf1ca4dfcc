"""Who is calling the case service: the bearer token's person, looked up in the staff roster and
the delegation register as they stand today; the Temporal client; refusals as Problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Path, Request
from pydantic import TypeAdapter
from temporalio.client import Client

from contract.base import HandlerId
from contract.calendar import STOCKHOLM
from contract.roles import Role, refusal
from contract.vocabulary import CASE_NUMBER_PATTERN
from infra.config import Settings
from infra.roster import NotOnRoster, RosterError, StaffToday, staff_on as roster_on
from service import cases
from service.auth import AuthenticationError, Principal, ProviderUnavailable, TokenVerifier
from service.metering import RateLimit
from service.problems import Problem, unauthorized

HANDLER_ID: TypeAdapter[str] = TypeAdapter(HandlerId)


CaseNumberPath = Annotated[
    str, Path(pattern=CASE_NUMBER_PATTERN, description="e.g. DSR-2026-000042")
]


# --- who is calling ----------------------------------------------------------------------------


async def principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized(
            "sign in first: this call needs a bearer access token from the identity provider"
        )
    verifier: TokenVerifier = request.app.state.verifier
    try:
        who = await verifier.verify(token.strip())
    except AuthenticationError as error:
        raise unauthorized(str(error)) from None
    except ProviderUnavailable as error:
        raise Problem(503, str(error)) from None
    limit: RateLimit = request.app.state.rate_limit
    await limit.check(f"login:{who.login.casefold()}" if who.login else f"client:{who.subject}")
    return who


@dataclass(frozen=True)
class StaffMember:
    """A signed-in person found in the roster: `login` as the roster spells it, and the
    roster today (`today`: everyone's ids as it spells them, and their roles)."""

    login: str
    roles: list[Role]
    today: StaffToday

    @property
    def staff(self) -> dict[str, list[Role]]:
        return self.today.roles

    @property
    def names(self) -> list[str]:
        return self.today.names

    def may(self, action: str) -> None:
        why = refusal(self.staff, self.login, action)
        if why is not None:
            raise Problem(403, why)

    def allows(self, action: str) -> bool:
        """Whether the roster today lets this person take `action` (what `may` checks)."""
        return refusal(self.staff, self.login, action) is None


def staff_on(settings: Settings, day: date | None = None, *, checked: bool = False) -> StaffToday:
    """Everyone on the roster and their roles on `day` (default today), by the roster and the
    delegation register; `checked`: files that do not fit together are refused too (503)."""
    try:
        return roster_on(
            settings.roster,
            settings.delegation_register,
            day or datetime.now(STOCKHOLM).date(),
            checked=checked,
        )
    except RosterError as error:
        raise Problem(503, f"the staff roster cannot be read: {error}") from None


def roster_member(settings: Settings, login: str) -> StaffMember:
    """The signed-in `login` as the roster has it today, or 403 saying why not."""
    today = staff_on(settings)
    try:
        entry = today.member(login)
    except NotOnRoster as error:
        raise Problem(403, str(error)) from None
    return StaffMember(entry, today.roles_of(entry), today)


async def staff_member(
    request: Request, who: Annotated[Principal, Depends(principal)]
) -> StaffMember:
    settings: Settings = request.app.state.settings
    if who.login is None or who.client_id in settings.eservice_client_ids:
        # A client's own token (Keycloak gives service accounts a login claim too).
        raise Problem(
            403,
            f"client {who.client_id or who.subject} acts for no person; staff calls need a "
            "person's sign-in",
        )
    return roster_member(settings, who.login)


Staff = Annotated[StaffMember, Depends(staff_member)]


def temporal(request: Request) -> Client:
    client: Client | None = request.app.state.temporal
    if client is None:
        raise Problem(503, "Temporal cannot be reached right now; try again shortly")
    return client


def call(error: cases.CaseError) -> Problem:
    return Problem(error.status, error.message)


def spelled(member: StaffMember, login: str, where: str) -> str:
    """A handler id as the roster spells it (the id as given if it is in no roster entry; the
    case then refuses it by the roster). Not ASCII: 422, like a look-alike login."""
    if not login.isascii():
        raise Problem(422, f"{where}: a handler id is ASCII letters, digits, '.', '_' or '-'")
    return member.today.spelled(login) or login
