"""Requests made straight to the engine (the intake workflow, no case service) and a look into
a connected system, as the workflow tests make them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client, WorkflowHandle

from contract.case import CaseResult, CaseState, CaseStatus
from contract.intake import SubmitRequestInput, SubmitRequestResult
from contract.public_request import Contact, DocumentQuery, PublicRequest
from contract.vocabulary import Kind
from infra.config import Settings
from infra.db import create_engine
from systems.catalog import load_catalog
from tests.helpers import wait_for_state
from workflows.intake import IntakeWorkflow


async def request_documents(
    client: Client, settings: Settings, public: PublicRequest, *, assignee: str | None = "anna"
) -> SubmitRequestResult:
    return await client.execute_workflow(
        IntakeWorkflow.run,
        SubmitRequestInput(
            kind=Kind.PUBLIC_ACCESS,
            received_at=datetime.now(UTC),
            assignee=assignee,
            public=public,
        ),
        id=f"intake-{uuid.uuid4()}",
        task_queue=settings.task_queue,
    )


async def request_meter_letters(
    client: Client, settings: Settings
) -> tuple[WorkflowHandle[Any, CaseResult], CaseStatus]:
    """An anonymous request for the letters about moving an electricity meter, by e-mail,
    waiting for the handler to confirm the documents found."""
    public = PublicRequest(
        description="Skrivelser om flytt av elmätare",
        query=DocumentQuery(types=["correspondence"], text="elmätare"),
        contact=Contact(email="begaran@example.org"),
    )
    opened = await request_documents(client, settings, public)
    handle = client.get_workflow_handle(opened.case_number, result_type=CaseResult)
    return handle, await wait_for_state(handle, CaseState.AWAITING_CONFIRMATION)


async def in_system(settings: Settings, system: str, probe: Any, *args: Any) -> Any:
    engine = create_engine(settings.system_url(system), own_database=False)
    try:
        return await probe(engine, load_catalog().systems[system], *args)
    finally:
        await engine.dispose()
