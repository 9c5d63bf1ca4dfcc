"""Intake: register a request and start its case workflow, once per subject and kind."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from contract import search
from contract.case import CaseInput, CaseState, Escalation
from contract.intake import RegisterCaseInput, SubmitRequestInput, SubmitRequestResult
from contract.policies import PERSISTENT
from contract.vocabulary import Kind

with workflow.unsafe.imports_passed_through():
    from activities.register import RegisterActivities

# The case workflow of each kind, by workflow type. Intake starts a case by its type name so
# that it does not import every case workflow: the sandbox runs a workflow's imports afresh
# for each run, and intake runs once per request (app/registry.py checks the names
# against the classes when the worker loads them).
CASE_WORKFLOW_TYPES: dict[Kind, str] = {
    Kind.ACCESS: "AccessRequestWorkflow",
    Kind.RECTIFICATION: "RectificationWorkflow",
    Kind.RESTRICTION: "RestrictionWorkflow",
    Kind.OBJECTION: "ObjectionWorkflow",
    Kind.ERASURE: "ErasureWorkflow",
    Kind.PORTABILITY: "PortabilityWorkflow",
    Kind.PUBLIC_ACCESS: "PublicAccessWorkflow",
}


@workflow.defn
class IntakeWorkflow:
    """Registers a request and starts its case (workflow id = case number).

    Returns the existing case, and starts nothing, when the same subject already has an open
    case of the same kind (a public-access request has no subject: each is a case of its own).
    The case is started as an abandoned child so it outlives intake; the case number is
    allocated in the register first, so the workflow id is never personal data.
    """

    @workflow.run
    async def run(self, request: SubmitRequestInput) -> SubmitRequestResult:
        opened = await workflow.execute_activity_method(
            RegisterActivities.register_case,
            RegisterCaseInput(request=request, intake_id=workflow.info().workflow_id),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=PERSISTENT,
        )
        if not opened.existing:
            case = CaseInput(
                case_number=opened.case_number,
                kind=request.kind,
                subject_id=request.subject_id,
                received_at=request.received_at,
                deadline=opened.deadline,
                deadline_at=opened.deadline_at,
                channel=request.channel,
                verified_by=request.verified_by,
                eid_order_ref=request.eid_order_ref,
                assignee=request.assignee,
                details=request.details,
                public=request.public,
            )
            attributes: list[SearchAttributePair[Any]] = [
                SearchAttributePair(search.KIND, request.kind.value),
                SearchAttributePair(search.CASE_NUMBER, opened.case_number),
                SearchAttributePair(search.STATE, CaseState.REGISTERED.value),
                SearchAttributePair(search.DEADLINE, opened.deadline_at),
                SearchAttributePair(search.ESCALATION, Escalation.NONE.value),
            ]
            if request.assignee:
                attributes.append(SearchAttributePair(search.ASSIGNEE, request.assignee))
            try:
                await workflow.start_child_workflow(
                    CASE_WORKFLOW_TYPES[request.kind],
                    case,
                    id=opened.case_number,
                    task_queue=workflow.info().task_queue,
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    search_attributes=TypedSearchAttributes(attributes),
                )
            except WorkflowAlreadyStartedError as error:
                # A start command runs once (it is in this intake's history), so this is not a
                # retry of ours: the register and Temporal disagree about which numbers are used.
                raise ApplicationError(
                    f"case number {opened.case_number} is already used in Temporal; the case "
                    "register and Temporal are out of step",
                    type="CaseNumberInUse",
                    non_retryable=True,
                ) from error
        return SubmitRequestResult(
            case_number=opened.case_number,
            kind=request.kind,
            deadline=opened.deadline,
            received_at=request.received_at,
            existing=opened.existing,
        )
