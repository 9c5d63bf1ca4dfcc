"""Every workflow the worker runs, by kind; imported by the worker and tools, never by a workflow
(a workflow that imported this would re-import all of them in the sandbox on every run)."""

from __future__ import annotations

from dsr.models import Kind
from workflows.access import AccessRequestWorkflow
from workflows.case import CaseWorkflow
from workflows.disposal import ExtractDisposalWorkflow
from workflows.erasure import ErasureWorkflow, RetentionFollowUpWorkflow
from workflows.intake import CASE_WORKFLOW_TYPES, IntakeWorkflow
from workflows.objection import ObjectionWorkflow
from workflows.portability import PortabilityWorkflow
from workflows.public_access import PublicAccessWorkflow
from workflows.rectification import RectificationWorkflow
from workflows.restriction import RestrictionWorkflow

CASE_WORKFLOWS: dict[Kind, type[CaseWorkflow]] = {
    Kind.ACCESS: AccessRequestWorkflow,
    Kind.RECTIFICATION: RectificationWorkflow,
    Kind.RESTRICTION: RestrictionWorkflow,
    Kind.OBJECTION: ObjectionWorkflow,
    Kind.ERASURE: ErasureWorkflow,
    Kind.PORTABILITY: PortabilityWorkflow,
    Kind.PUBLIC_ACCESS: PublicAccessWorkflow,
}
# Workflows that run beside a case rather than as one.
SUPPORT_WORKFLOWS: tuple[type, ...] = (RetentionFollowUpWorkflow, ExtractDisposalWorkflow)
WORKFLOWS: tuple[type, ...] = (IntakeWorkflow, *CASE_WORKFLOWS.values(), *SUPPORT_WORKFLOWS)


def _check_case_types() -> None:
    """Intake starts cases by type name; a renamed class must not leave intake starting a type
    no worker runs. The workflows take their class name as type (no `name=` in their defn)."""
    wrong = {
        kind.value: (CASE_WORKFLOW_TYPES.get(kind), workflow.__name__)
        for kind, workflow in CASE_WORKFLOWS.items()
        if CASE_WORKFLOW_TYPES.get(kind) != workflow.__name__
    }
    if wrong or set(CASE_WORKFLOW_TYPES) != set(CASE_WORKFLOWS):
        raise RuntimeError(f"intake's case workflow types do not match the classes: {wrong}")


_check_case_types()
