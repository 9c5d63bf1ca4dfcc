"""Every workflow the worker runs, by kind; imported by the worker and tools, never by a workflow
(a workflow that imported this would re-import all of them in the sandbox on every run)."""

from __future__ import annotations

from contract.vocabulary import Kind
from workflows.access import AccessRequestWorkflow
from workflows.case.workflow import CaseBase
from workflows.disposal import ExtractDisposalWorkflow
from workflows.erasure import ErasureWorkflow
from workflows.intake import CASE_WORKFLOW_TYPES, IntakeWorkflow
from workflows.objection import ObjectionWorkflow
from workflows.portability import PortabilityWorkflow
from workflows.public_access import PublicAccessWorkflow
from workflows.rectification import RectificationWorkflow
from workflows.restriction import RestrictionWorkflow
from workflows.retention import RetentionFollowUpWorkflow

# The case workflows; which kind each one is comes from intake's table of type names
# (CASE_WORKFLOW_TYPES, the one place a kind is tied to its workflow).
_CASE_CLASSES: tuple[type[CaseBase], ...] = (
    AccessRequestWorkflow,
    RectificationWorkflow,
    RestrictionWorkflow,
    ObjectionWorkflow,
    ErasureWorkflow,
    PortabilityWorkflow,
    PublicAccessWorkflow,
)


def _check_case_types() -> dict[Kind, type[CaseBase]]:
    """Intake starts cases by type name; a renamed class must not leave intake starting a type
    no worker runs. The workflows take their class name as type (no `name=` in their defn)."""
    named = {workflow.__name__: workflow for workflow in _CASE_CLASSES}
    missing = {kind.value: name for kind, name in CASE_WORKFLOW_TYPES.items() if name not in named}
    unused = set(named) - set(CASE_WORKFLOW_TYPES.values())
    if missing or unused:
        raise RuntimeError(
            f"intake's case workflow types do not match the classes: {missing or sorted(unused)}"
        )
    return {kind: named[name] for kind, name in CASE_WORKFLOW_TYPES.items()}


CASE_WORKFLOWS: dict[Kind, type[CaseBase]] = _check_case_types()
# Workflows that run beside a case rather than as one.
SUPPORT_WORKFLOWS: tuple[type, ...] = (RetentionFollowUpWorkflow, ExtractDisposalWorkflow)
WORKFLOWS: tuple[type, ...] = (IntakeWorkflow, *CASE_WORKFLOWS.values(), *SUPPORT_WORKFLOWS)
