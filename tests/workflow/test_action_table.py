"""The action table (contract.handling) is the one list of handler actions: every update a
worker's workflow takes is a row of it, with the row's input model, and every row is taken by
some workflow, checked by a role the roster knows, offered by the case service and worded in
the console. A handler added to a workflow and not to the table, or the other way round, fails
here."""

from __future__ import annotations

from temporalio import workflow

from app.worker_setup import WORKFLOWS
from contract import handling
from contract.public_access import LinkCaseInput
from contract.roles import ACTIONS as ROLE_CHECKS
from service.actions import ACTIONS as ROUTED
from service.desk import words

# The case's own housekeeping, which no person takes as an action: it reads the roster anew.
NOT_ACTIONS = {"refresh_roster"}


def _updates() -> dict[str, list[tuple[str, type]]]:
    """Update name -> (workflow, its input type) for every workflow the worker runs."""
    found: dict[str, list[tuple[str, type]]] = {}
    for cls in WORKFLOWS:
        for name, update in workflow._Definition.from_class(cls).updates.items():
            (arg,) = update.arg_types
            found.setdefault(str(name), []).append((cls.__name__, arg))
    return found


def test_every_update_is_a_row_with_the_rows_input_model() -> None:
    models = {action.update: action.model for action in ROUTED}
    models[handling.LINK.update] = LinkCaseInput  # its own route (both cases take it)
    for name, taken_by in _updates().items():
        if name in NOT_ACTIONS:
            continue
        assert name in handling.BY_UPDATE, f"{name} ({taken_by}) is not in contract.handling"
        for workflow_name, arg in taken_by:
            assert arg is models[name], (workflow_name, name, arg, models[name])


def test_every_row_is_taken_by_a_workflow_and_checked_by_a_known_role() -> None:
    updates = _updates()
    for action in handling.ACTIONS:
        assert action.update in updates, f"no workflow takes {action.update}"
        assert action.role_action in ROLE_CHECKS, action
        if action.what:
            assert action.what == action.what.strip() and not action.what.endswith(".")


def test_the_service_routes_and_the_console_words_every_row() -> None:
    routed = {action.update for action in ROUTED}
    assert routed == {action.update for action in handling.ACTIONS} - {handling.LINK.update}
    assert set(words.ACTIONS) == {action.update for action in handling.ACTIONS}
    assert len(handling.BY_PATH) == len(handling.ACTIONS)
