"""Every update a case takes passes here first (a workflow interceptor, for every workflow the
worker runs): a person's action is taken once, and a case takes no more updates than it can
hold.

- One-time actions. Each action (contract.base.HandlerAction) carries an id the case service's
  client gave it (infra.client). The validator refuses an action without one, and one whose id
  the case has already taken: an action read from history and sent again does nothing. The
  handler records the id (validators are not run on replay; handlers are, so the record is
  rebuilt the same way), and refuses it too if two copies passed validation together. An
  action names the case it was made for, and the validator refuses it in any other: the
  codec's binding does that for payloads sealed since binding, this for those sealed before.
- Bounded updates. Temporal keeps at most 2,000 updates in one execution's history (its
  `limit.workflowExecution.maxTotalUpdates`); past that, the case would take none ever again.
  A case refuses updates with a clear message well before: at MAX_UPDATES taken, or when the
  server suggests continuing as new (its history is near its limits). A refused update is not
  written to history, so refusals cost the case nothing.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from contract.base import HandlerAction

# Updates one execution takes before it refuses more: under Temporal's 2,000, with room left
# for the updates a case takes from the engine itself.
MAX_UPDATES = 1_500


class ActionRefused(ApplicationError):
    """An update refused by the guard: replayed, without an id, or past the case's limits."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type="ActionRefused", non_retryable=True)


class _Taken:
    """What the guard keeps on the workflow instance: the action ids taken and the count."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.updates = 0


def _taken() -> _Taken:
    instance = workflow.instance()
    taken: _Taken | None = getattr(instance, "_guard_taken", None)
    if taken is None:
        taken = _Taken()
        setattr(instance, "_guard_taken", taken)  # noqa: B010
    return taken


def _action(args: Any) -> HandlerAction | None:
    first = args[0] if args else None
    return first if isinstance(first, HandlerAction) else None


def _case() -> str:
    return workflow.info().workflow_id


class GuardUpdates(Interceptor):
    """Worker interceptor: the guard, for every workflow (the worker and every Replayer)."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _Guard


class _Guard(WorkflowInboundInterceptor):
    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        taken = _taken()
        if taken.updates >= MAX_UPDATES or workflow.info().is_continue_as_new_suggested():
            raise ActionRefused(
                f"case {_case()} has taken {taken.updates} updates, as many as one case "
                "holds; nothing was done. Ask the engine's operators to look at the case"
            )
        action = _action(input.args)
        if action is not None:
            if action.action_id is None:
                raise ActionRefused(
                    f"case {_case()}: {input.update} carries no action id (the case service "
                    "gives each action one); nothing was done"
                )
            if action.action_id in taken.ids:
                raise ActionRefused(
                    f"case {_case()}: this action was taken already (action id "
                    f"{action.action_id}); a replayed action does nothing"
                )
            if action.for_case != _case():
                raise ActionRefused(
                    f"case {_case()}: this action was not made for this case; an action "
                    "replayed from another case does nothing"
                )
        self.next.handle_update_validator(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        taken = _taken()
        taken.updates += 1
        action = _action(input.args)
        if action is not None and action.action_id is not None:
            if action.action_id in taken.ids:
                raise ActionRefused(
                    f"case {_case()}: this action was taken already (action id "
                    f"{action.action_id}); a replayed action does nothing"
                )
            taken.ids.add(action.action_id)
        return await self.next.handle_update_handler(input)
