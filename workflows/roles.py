"""Role checks against the staff roster, shared by every workflow that takes human actions.

A validator judges the actor by the roster as the case read it last (at its start and at each
action since): a wrong or unknown handler id is refused before anything is written to history.
The handler then reads the roster again and decides by it as it stands now, so a role taken
away since is void at once. Someone given a role since the last read is refused by the
validator; `refresh_roster` reads it anew (the CLI does so, and tries once more).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from contract.policies import PERSISTENT, SHORT_TIMEOUT, run_here_or_queued
from contract.roles import Role, refusal
from contract.roster import RefreshRosterInput, RosterInput, RosterResult

with workflow.unsafe.imports_passed_through():
    from activities.roster import RosterActivities

A = TypeVar("A")

# Cases started before roles existed keep their course: no roster is read, nobody is refused.
ROSTER_PATCH = "roster"
# The roster is read by a local activity, in the worker that runs the case's workflow task,
# instead of a scheduled one: an action waits one round trip to the server fewer (the API's
# action latency). Cases whose history read it by a scheduled activity keep doing so.
ROSTER_LOCAL_PATCH = "roster-local"
# A roster refresh is taken at most this often (workflow time): see refresh_roster.
REFRESH_EVERY = timedelta(seconds=10)


class NotPermitted(ApplicationError):
    """Refused by the roster as it stands (or it cannot be read). `by_copy`: refused by the
    copy the case read last, which a fresh read may overturn (the CLI tries once more)."""

    def __init__(self, message: str, *, by_copy: bool = False) -> None:
        kind = "NotPermittedByCopy" if by_copy else "NotPermitted"
        super().__init__(message, type=kind, non_retryable=True)


class StaffRoles:
    """Mixed into a workflow; `_roles_ref` names it in messages (the case number)."""

    _staff: dict[str, list[Role]] | None = None
    _judging_fresh = False
    _refreshing = False
    _refreshed_at: datetime | None = None

    @property
    def _roles_ref(self) -> str:
        raise NotImplementedError

    @workflow.update
    async def refresh_roster(self, action: RefreshRosterInput | None = None) -> None:
        """Read the roster anew (after someone was given a role since the case last read it).
        Updates from before this took no input (`action` None): they replay as they ran."""
        self._refreshing = True
        try:
            result = await self._read_roster()
        finally:
            self._refreshing = False
            self._refreshed_at = workflow.now()
        if action is not None and result is not None and result.problem is None:
            if action.handler.casefold() not in (self._staff or {}):
                raise NotPermitted(
                    f"case {self._roles_ref}: {action.handler} is not on the staff roster; "
                    "the roster was read, nothing else was done"
                )

    @refresh_roster.validator
    def _validate_refresh_roster(self, action: RefreshRosterInput | None = None) -> None:
        """Who asks is named; one read at a time, and not more often than REFRESH_EVERY: a
        flood of refreshes is refused before it reaches history, so it cannot use up the
        case's updates."""
        if action is None:
            raise NotPermitted(
                f"case {self._roles_ref}: a roster refresh names who asks; nothing was done"
            )
        if self._refreshing:
            raise NotPermitted(
                f"case {self._roles_ref}: the roster is being read already; nothing was done"
            )
        if self._refreshed_at is not None:
            since = workflow.now() - self._refreshed_at
            if since < REFRESH_EVERY:
                raise NotPermitted(
                    f"case {self._roles_ref}: the roster was read {since.seconds} s ago; it is "
                    f"read again at most every {REFRESH_EVERY.seconds} s, nothing was done",
                    by_copy=False,
                )

    async def _read_roster(self) -> RosterResult | None:
        """The roster now, kept for validators; None for a case from before roles."""
        if not workflow.patched(ROSTER_PATCH):
            return None
        request = RosterInput(case_number=self._roles_ref, at=workflow.now())
        result = await run_here_or_queued(
            ROSTER_LOCAL_PATCH,
            RosterActivities.staff_roles,
            request,
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )
        if result.problem is None:
            self._staff = result.staff
        return result

    def _check_role(self, actor: str, action: str, *, fresh: bool = False) -> None:
        """Validator check: `actor` may take `action` by the roster last read (`fresh`: read
        just now, by the handler)."""
        if self._staff is None:
            return
        why = refusal(self._staff, actor, action)
        if why is not None:
            fresh = fresh or self._judging_fresh
            raise NotPermitted(
                f"case {self._roles_ref}: {why}; nothing was done", by_copy=not fresh
            )

    def _revalidate(self, validator: Callable[[A], None], action: A) -> None:
        """Run an update's validator again in its handler, after the roster was read: the case
        may have moved on meanwhile, and roles are judged by the roster just read."""
        self._judging_fresh = True
        try:
            validator(action)
        finally:
            self._judging_fresh = False

    def _may(self, actor: str, action: str) -> bool:
        return self._staff is None or refusal(self._staff, actor, action) is None

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
            self._check_role(actor, action, fresh=True)
