"""Deleting a closed case's files from the extract store when their time has come."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from contract.extracts import (
    DeleteExtractsInput,
    DisposalDueInput,
    ExtractDisposalInput,
    ExtractDisposalResult,
)
from contract.steps import RecordEventInput

with workflow.unsafe.imports_passed_through():
    from activities.extract import ExtractActivities
    from activities.register import RegisterActivities

# The trail row of the deletion, clear of the case's steps, its clock and follow-up runs.
DISPOSAL_TRAIL_KEY = 30_000
# Small and certain to be needed: retry until done (as every case's register writes).
PERSISTENT = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
SHORT_TIMEOUT = timedelta(seconds=30)


@workflow.defn
class ExtractDisposalWorkflow:
    """Started when a case closes (id `CASE-extract-disposal`): waits on a durable timer for
    the configured days, deletes the case's files from the extract store (the collected rows,
    the extract, copies), and records the deletion in the case's trail. A worker that is down
    when the day comes deletes them when it is back. No update; nothing to decide."""

    @workflow.run
    async def run(self, disposal: ExtractDisposalInput) -> ExtractDisposalResult:
        due = await workflow.execute_activity_method(
            ExtractActivities.disposal_due,
            DisposalDueInput(case_number=disposal.case_number, closed_at=disposal.closed_at),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )
        wait = due.at - workflow.now()
        if wait.total_seconds() > 0:
            await workflow.sleep(wait)
        deleted = await workflow.execute_activity_method(
            ExtractActivities.delete_extracts,
            DeleteExtractsInput(case_number=disposal.case_number),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )
        await workflow.execute_activity_method(
            RegisterActivities.record_event,
            RecordEventInput(
                case_number=disposal.case_number,
                key=DISPOSAL_TRAIL_KEY,
                actor="engine",
                action="extracts_deleted",
                detail=f"{deleted.files} files, {due.days} days after the case closed",
            ),
            start_to_close_timeout=SHORT_TIMEOUT,
            retry_policy=PERSISTENT,
        )
        return ExtractDisposalResult(
            case_number=disposal.case_number, deleted_at=workflow.now(), files=deleted.files
        )
