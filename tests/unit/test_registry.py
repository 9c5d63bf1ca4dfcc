"""Intake starts each case workflow by its type name; the names must be the workflows the worker
runs, or a request would start a case no worker picks up."""

from __future__ import annotations

import pytest

from app import registry as catalog
from app.worker_setup import WORKFLOWS
from contract.vocabulary import Kind
from workflows.intake import CASE_WORKFLOW_TYPES


def test_every_kind_starts_a_workflow_the_worker_runs() -> None:
    registered = {workflow.__name__ for workflow in WORKFLOWS}
    assert set(CASE_WORKFLOW_TYPES) == set(Kind)
    assert set(CASE_WORKFLOW_TYPES.values()) <= registered


def test_a_name_out_of_step_with_its_class_stops_the_worker_loading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(CASE_WORKFLOW_TYPES, Kind.ACCESS, "AccessWorkflow")
    with pytest.raises(RuntimeError, match="do not match"):
        catalog._check_case_types()
