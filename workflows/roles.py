"""Role checks against the staff roster, shared by every workflow that takes human actions.

A validator judges the actor by the roster as the case read it last (at its start and at each
action since): a wrong or unknown handler id is refused before anything is written to history.
The handler then reads the roster again and decides by it as it stands now, so a role taken
away since is void at once. Someone given a role since the last read is refused by the
validator; `refresh_roster` reads it anew (the CLI does so, and tries once more).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from dsr.models import RosterInput, RosterResult
from dsr.roles import Role, refusal

with workflow.unsafe.imports_passed_through():
    from activities.roster import RosterActivities

# Cases started before roles existed keep their course: no roster is read, nobody is refused.
ROSTER_PATCH = "roster"


class NotPermitted(ApplicationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, type="NotPermitted", non_retryable=True)


class StaffRoles:
    """Mixed into a workflow; `_roles_ref` names it in messages (the case number)."""

    _staff: dict[str, list[Role]] | None = None

    @property
    def _roles_ref(self) -> str:
        raise NotImplementedError

    @workflow.update
    async def refresh_roster(self) -> None:
        """Read the roster anew (after someone was given a role); anyone may ask."""
        await self._read_roster()

    async def _read_roster(self) -> RosterResult | None:
        """The roster now, kept for validators; None for a case from before roles."""
        if not workflow.patched(ROSTER_PATCH):
            return None
        result = await workflow.execute_activity_method(
            RosterActivities.staff_roles,
            RosterInput(case_number=self._roles_ref, at=workflow.now()),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
            ),
        )
        if result.problem is None:
            self._staff = result.staff
        return result

    def _check_role(self, actor: str, action: str) -> None:
        """Validator check: `actor` may take `action` by the roster last read."""
        if self._staff is None:
            return
        why = refusal(self._staff, actor, action)
        if why is not None:
            raise NotPermitted(f"case {self._roles_ref}: {why}; nothing was done")

    async def _authorize(self, actor: str, *actions: str) -> None:
        """Handler check: the roster as it stands now allows `actor` each of `actions`."""
        result = await self._read_roster()
        if result is None:
            return
        if result.problem is not None:
            raise NotPermitted(
                f"case {self._roles_ref}: the staff roster cannot be read ({result.problem}); "
                "nothing was done"
            )
        for action in actions:
            self._check_role(actor, action)
