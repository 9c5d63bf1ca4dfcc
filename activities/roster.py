"""The staff roster as it stands: who may act on a case, in which roles, today."""

from __future__ import annotations

from temporalio import activity

from contract.calendar import STOCKHOLM
from contract.roster import RosterInput, RosterResult
from infra.config import Settings
from infra.delegation import DelegationError, load_delegations
from infra.roster import RosterError, load_roster


class RosterActivities:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @activity.defn
    async def staff_roles(self, request: RosterInput) -> RosterResult:
        """Each person's roles on the day of `request.at`, from the roster and the delegation
        register read now. A file that cannot be read is a `problem`, not a failure: the case
        refuses the action with it instead of waiting for the file to be mended."""
        try:
            roster = load_roster(self._settings.roster)
            delegations = load_delegations(self._settings.delegation_register)
        except (RosterError, DelegationError) as error:
            activity.logger.warning(
                "staff roster unreadable", extra={"case_number": request.case_number}
            )
            return RosterResult(problem=str(error))
        day = request.at.astimezone(STOCKHOLM).date()
        return RosterResult(staff=roster.roles_on(delegations, day))


def check_declarations(settings: Settings) -> None:
    """At start-up: the roster and the delegation register can be read and fit together."""
    roster = load_roster(settings.roster)
    roster.check(load_delegations(settings.delegation_register))
