"""The case service's side of Temporal: find a case, read its status, take an action on it,
register a request. Each refusal is a `CaseError` with the status code it means and the one
line a person reads; nothing is written when an action is refused (the workflows' update
validators judge it before anything enters history).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel, ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import WorkflowExecutionStatus as RawStatus
from temporalio.api.workflowservice.v1 import (
    ListWorkflowExecutionsRequest,
    ListWorkflowExecutionsResponse,
)
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contract import search
from contract.calendar import STOCKHOLM
from contract.case import CaseState, CaseStatus, Escalation
from contract.intake import SubmitRequestInput, SubmitRequestResult
from contract.roster import RefreshRosterInput
from contract.vocabulary import Kind
from infra.config import Settings
from workflows.intake import IntakeWorkflow

M = TypeVar("M", bound=BaseModel)
log = structlog.get_logger("service.cases")

# How long a caller waits for an answer before being told to look again.
QUERY_TIMEOUT = timedelta(seconds=10)
UPDATE_TIMEOUT = timedelta(seconds=30)
INTAKE_WAIT = timedelta(seconds=60)


class CaseError(Exception):
    """A refused or failed call on a case: `status` as in HTTP, `message` one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class CaseGone(CaseError):
    """Temporal has no running workflow by the case's number: closed, or never a case."""


# The workflows' refusals (their ApplicationError types) and what they mean.
REFUSAL_STATUS = {"NotPermitted": 403, "NotPermittedByCopy": 403, "WrongState": 409}


async def existing_handle(
    client: Client, workflow_id: str, missing: str
) -> WorkflowHandle[Any, Any]:
    handle = client.get_workflow_handle(workflow_id)
    try:
        await handle.describe()
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise CaseError(404, missing) from None
        raise
    return handle


async def case_handle(client: Client, case_number: str) -> WorkflowHandle[Any, Any]:
    return await existing_handle(client, case_number, f"unknown case {case_number}")


async def retention_handle(client: Client, case_number: str) -> WorkflowHandle[Any, Any]:
    """The erasure case's follow-up of what it kept (id CASE-retention)."""
    await case_handle(client, case_number)
    return await existing_handle(
        client,
        f"{case_number}-retention",
        f"case {case_number} has no retention follow-up (nothing was kept to follow)",
    )


async def run_update(
    handle: WorkflowHandle[Any, Any],
    case_number: str,
    update: str,
    action: BaseModel,
    result_type: type[M],
    *,
    refreshed: bool = False,
) -> M:
    try:
        result: M = await handle.execute_update(
            update, action, result_type=result_type, rpc_timeout=UPDATE_TIMEOUT
        )
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        kind = cause.type if isinstance(cause, ApplicationError) else None
        if kind == "NotPermittedByCopy" and not refreshed:
            # The case judged by the roster it read last: someone given a role since is
            # refused by it. Have it read the roster now, and try once more.
            if await refresh_roster(handle, str(getattr(action, "handler", ""))):
                return await run_update(
                    handle, case_number, update, action, result_type, refreshed=True
                )
        if isinstance(cause, ApplicationError) and "expected but not found" in cause.message:
            # The SDK's answer when this kind of case has no such update.
            raise CaseError(
                409, f"case {case_number} does not accept {update.replace('_', '-')}"
            ) from None
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
        raise CaseError(REFUSAL_STATUS.get(kind or "", 422), message) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise CaseError(
            503,
            f"case {case_number} did not answer within {UPDATE_TIMEOUT.seconds} s (is the worker "
            "running?); the action may still be applied when it is: check `status`",
        ) from None
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise CaseGone(
                409, f"case {case_number} is closed; no action can be taken on it"
            ) from None
        if error.status is RPCStatusCode.INVALID_ARGUMENT:
            raise CaseError(
                409, f"case {case_number} does not accept {update.replace('_', '-')}"
            ) from None
        raise
    return result


async def update_case(
    client: Client, case_number: str, update: str, action: BaseModel, result_type: type[M]
) -> M:
    """An action on the case: sent straight away (one call, not a lookup first); only when
    Temporal has no running case by that number is it asked whether there ever was one, so
    an unknown case is 404 and a closed one 409."""
    handle = client.get_workflow_handle(case_number)
    try:
        return await run_update(handle, case_number, update, action, result_type)
    except CaseGone:
        await case_handle(client, case_number)  # 404 if it never was a case
        raise


async def refresh_roster(handle: WorkflowHandle[Any, Any], actor: str) -> bool:
    """Have the case read the staff roster anew, asked by `actor`; False if it could not be
    asked, or would not read it now (it reads it at most every few seconds)."""
    try:
        await handle.execute_update(
            "refresh_roster", RefreshRosterInput(handler=actor), rpc_timeout=UPDATE_TIMEOUT
        )
    except (
        WorkflowUpdateFailedError,
        WorkflowUpdateRPCTimeoutOrCancelledError,
        RPCError,
        ValidationError,
    ):
        return False
    return True


async def fetch_status(client: Client, case_number: str) -> CaseStatus:
    """The case's status, by its query (one call; a closed case answers too while Temporal
    keeps it)."""
    handle = client.get_workflow_handle(case_number)
    try:
        status: CaseStatus = await handle.query(
            "status", result_type=CaseStatus, rpc_timeout=QUERY_TIMEOUT
        )
    except WorkflowQueryFailedError as error:
        raise CaseError(503, f"case {case_number} cannot be read right now: {error}") from None
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise CaseError(404, f"unknown case {case_number}") from None
        if error.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            raise CaseError(
                503,
                f"case {case_number} did not answer within {QUERY_TIMEOUT.seconds} s: "
                "is the worker running?",
            ) from None
        raise
    return status


async def transitions(client: Client, case_number: str) -> int | None:
    """How many state transitions the case's workflow made (with registration), or None if
    it cannot be asked (no worker, or a case Temporal no longer keeps): what `audit verify`
    compares the trail with, since rows cut off its end leave a shorter valid chain."""
    try:
        status = await fetch_status(client, case_number)
    except (CaseError, RPCError):
        return None
    return len(status.steps) + 1


async def register(
    client: Client,
    settings: Settings,
    request: SubmitRequestInput,
    *,
    intake_id: str | None = None,
) -> SubmitRequestResult:
    """Start intake for a checked request and wait for its case number. `intake_id`: an id
    that may be used once only, ever (an e-ID order's): a second start is refused (409)."""
    try:
        intake = await client.start_workflow(
            IntakeWorkflow.run,
            request,
            id=intake_id or f"intake-{uuid.uuid4()}",
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        raise CaseError(
            409, "this e-ID proof was already used for a request; the person signs again"
        ) from None
    try:
        result: SubmitRequestResult = await asyncio.wait_for(
            intake.result(), INTAKE_WAIT.total_seconds()
        )
    except TimeoutError:
        # Intake is durable: it registers the request as soon as a worker runs. Say so, rather
        # than pretend nothing happened.
        raise CaseError(
            503,
            f"no worker answered within {INTAKE_WAIT.seconds} s (is the worker running?); the "
            f"request is queued as {intake.id} and gets its case number when one is; see `list`",
        ) from None
    except WorkflowFailureError as error:
        raise CaseError(422, f"the request could not be registered: {error.cause}") from None
    return result


def list_query(
    *,
    kind: Kind | None,
    open_only: bool,
    overdue: bool,
    due_within: timedelta | None,
    assignee: str | None,
) -> str:
    """The visibility query for a list of cases (what supervisors see in the Web UI)."""
    clauses = [f'DsrKind = "{kind.value}"' if kind else "DsrKind IS NOT NULL"]
    if open_only or overdue or due_within:
        clauses.append('ExecutionStatus = "Running"')
    if overdue:
        clauses.append(f'DsrEscalation = "{Escalation.OVERDUE.value}"')
    if due_within is not None:
        until = datetime.now(UTC) + due_within
        clauses.append(f'DsrDeadline <= "{until.isoformat(timespec="seconds")}"')
        # A restriction in force is answered; it stays open for months but is due for nothing.
        clauses.append(f'DsrState != "{CaseState.RESTRICTED.value}"')
    if assignee is not None:
        clauses.append(f'DsrAssignee = "{assignee}"')
    return " AND ".join(clauses)


# The list's columns, each from a search attribute (keyword values are JSON strings).
_COLUMNS = {
    "case_number": search.CASE_NUMBER.name,
    "kind": search.KIND.name,
    "state": search.STATE.name,
    "assignee": search.ASSIGNEE.name,
    "escalation": search.ESCALATION.name,
}
_PAGE = 1000


async def list_cases(client: Client, query: str) -> list[dict[str, Any]]:
    """The cases the visibility query finds, sorted by case number. Straight from the list
    call's pages: each row's few search attributes read as they are (JSON), without making an
    execution description of each (a third of the time with 500 rows)."""
    rows = []
    token = b""
    while True:
        page = await _list_page(
            client,
            ListWorkflowExecutionsRequest(
                namespace=client.namespace, query=query, page_size=_PAGE, next_page_token=token
            ),
        )
        for execution in page.executions:
            fields = execution.search_attributes.indexed_fields
            row: dict[str, Any] = {
                column: _keyword(fields, name) for column, name in _COLUMNS.items()
            }
            row["case_number"] = row["case_number"] or execution.execution.workflow_id
            deadline = _keyword(fields, search.DEADLINE.name)
            row["deadline"] = (
                datetime.fromisoformat(deadline).astimezone(STOCKHOLM).date().isoformat()
                if deadline
                else None
            )
            row["open"] = execution.status == RawStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
            rows.append(row)
        token = page.next_page_token
        if not token:
            break
    rows.sort(key=lambda r: str(r["case_number"]))
    return rows


# A visibility read that did not answer in time (gRPC's CANCELLED is the client's own
# timeout) or found the server away for a moment is read again, this many times in all.
_LIST_ATTEMPTS = 3
_TRANSIENT = (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNAVAILABLE)


async def _list_page(
    client: Client, request: ListWorkflowExecutionsRequest
) -> ListWorkflowExecutionsResponse:
    """One page of the list; a read, so a transient failure is simply tried again (the dev
    server's SQLite visibility stalls now and then under a burst of writes). A server that
    says to slow down (RESOURCE_EXHAUSTED: a namespace's visibility rate, the persistence's
    QPS) is asked again by the SDK's own retry, backing off, as every other call of the
    client is; without it a list of 5,000 cases failed with 503 after a burst of work."""
    for attempt in range(1, _LIST_ATTEMPTS + 1):
        try:
            return await client.workflow_service.list_workflow_executions(
                request, retry=True, timeout=QUERY_TIMEOUT
            )
        except RPCError as error:
            if error.status not in _TRANSIENT or attempt == _LIST_ATTEMPTS:
                raise
            log.warning("visibility_retry", status=error.status.name, attempt=attempt)
            await asyncio.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


def _keyword(fields: Mapping[str, Payload], name: str) -> str | None:
    payload = fields.get(name)
    if payload is None or not payload.data:
        return None
    value = json.loads(payload.data)
    return value if isinstance(value, str) else None
