"""Everything a worker runs, wired from settings; used by worker.py and the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Interceptor, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.deadlines import DeadlineActivities
from activities.delivery import DeliveryActivities
from activities.erasure import ErasureActivities
from activities.extract import Controller, ExtractActivities
from activities.heartbeat import HeartbeatWhileRunning
from activities.identity import IdentityActivities
from activities.notify import NotifyActivities
from activities.places import PlaceCollector
from activities.public_access import PublicAccessActivities
from activities.register import RegisterActivities
from activities.roster import RosterActivities, check_declarations
from activities.sources import SourceActivities
from activities.store import ExtractStore
from activities.writes import WriteActivities
from app.registry import WORKFLOWS as CATALOG
from demo.people import population_register
from infra import plugins
from infra.adapters import EmailChannel, HoldsCaseFiles, StaffChannel
from infra.client import ConnectionSettingsError
from infra.config import Settings, SettingsError
from infra.db import create_engine, sessionmaker
from infra.delegation import DelegationError
from infra.outbox import OutboxEmail, OutboxStaff
from infra.recipients import RecipientsError, load_recipients
from infra.roster import RosterError
from infra.schema import SchemaError, require_current
from infra.smtp import SmtpEmail, SmtpServer, SmtpStaff
from systems.catalog import Catalog, CatalogError, load_catalog
from systems.disposal import DocumentPlanError, load_document_plan
from systems.document_archive import load_archive
from systems.places import load_register_place
from workflows.guard import GuardUpdates

WORKFLOWS: Sequence[type] = CATALOG


# Problems that stop a worker before it starts, with a message that says what to mend.
STARTUP_ERRORS: tuple[type[Exception], ...] = (
    RosterError,
    CatalogError,
    DocumentPlanError,
    RecipientsError,
    DelegationError,
    ConnectionSettingsError,
    SchemaError,
    SettingsError,
    plugins.AdapterError,
)


def load_declarations(settings: Settings) -> Catalog:
    """The declarations a worker runs by, checked before it connects: the roster and the
    delegation register fit together, and every table's disposal rule is the document plan's
    (a declaration that would erase what no rule lets go stops it: arkivlagen 1990:782)."""
    check_declarations(settings)
    return load_catalog(
        plan=load_document_plan(settings.document_plan),
        recipients=load_recipients(settings.recipients_register),
    )


@asynccontextmanager
async def build_activities(settings: Settings) -> AsyncIterator[list[Callable[..., Any]]]:
    """Open the databases and adapters the activities need; close them afterwards."""
    # Declarations that cannot be read, or do not fit together, stop the worker here.
    catalog = load_declarations(settings)
    register_engine = create_engine(settings.register_database_url)
    try:
        # Migrations are an operator's step (`python -m infra.migrate upgrade`), never a side
        # effect of starting a worker: a worker of older code must not meet a newer schema, nor
        # the reverse.
        await require_current(register_engine)
    except BaseException:
        await register_engine.dispose()
        raise
    system_engines = {
        name: create_engine(settings.system_url(name), own_database=False)
        for name in catalog.names()
    }
    store = ExtractStore(settings.extract_dir, settings.key_ring())
    archive_engine = create_engine(settings.archive_url, own_database=False)
    archive_decl = load_archive()
    register_sessions = sessionmaker(register_engine)
    register = RegisterActivities(
        register_sessions,
        secret=settings.reference_secret,
        public_access_working_days=settings.public_access_escalation_working_days[0],
        ring=settings.key_ring(),
    )
    sources = SourceActivities(
        catalog,
        system_engines,
        store,
        tell_assignee_after_seconds=settings.system_wait_notice_seconds,
        places=PlaceCollector(
            archive=archive_engine,
            archive_decl=archive_decl,
            register=register_sessions,
            register_decl=load_register_place(),
            secret=settings.reference_secret,
            store=store,
        ),
    )
    eid, mailbox = plugins.eid_provider(settings), plugins.digital_mailbox(settings)
    letters, recipients = plugins.letter_service(settings), plugins.recipient_channel(settings)
    staff, requesters = staff_channel(settings), requester_email(settings)
    identity = IdentityActivities(eid)
    delivery = DeliveryActivities(store, mailbox, letters, population_register())
    writes = WriteActivities(catalog, system_engines)
    erasure = ErasureActivities(
        catalog,
        system_engines,
        store,
        financial_year_first_month=settings.financial_year_start_month,
    )
    notify = NotifyActivities(recipients, staff, catalog.recipients)
    extract = ExtractActivities(
        catalog,
        store,
        Controller(
            name=settings.controller_name,
            contact=settings.controller_contact,
            dpo_contact=settings.dpo_contact,
        ),
        retention_days=settings.extract_retention_days,
        release_policy=settings.release_policy,
        # What the demo's adapters keep of a case goes with the case's other files.
        others=[
            adapter
            for adapter in (eid, mailbox, letters, recipients, staff, requesters)
            if isinstance(adapter, HoldsCaseFiles)
        ],
    )
    deadlines = DeadlineActivities(settings)
    roster = RosterActivities(settings)
    public_access = PublicAccessActivities(
        archive_engine,
        archive_decl,
        store,
        requesters,
        letters,
        settings,
    )
    try:
        yield [
            register.register_case,
            register.record_transition,
            sources.plan_collection,
            sources.collect,
            extract.build_extract,
            extract.build_portable,
            identity.confirm_eid,
            delivery.deliver_extract,
            delivery.delivery_route,
            delivery.send_notice,
            writes.apply_restriction,
            writes.apply_suppression,
            writes.apply_rectification,
            notify.notify_recipient,
            notify.notify_staff,
            register.record_event,
            register.set_restriction_hold,
            erasure.plan_erasure,
            erasure.check_erasure_plan,
            erasure.execute_erasure,
            erasure.erase_due,
            deadlines.plan_deadline,
            register.record_deadline,
            deadlines.appeal_window,
            extract.disposal_due,
            extract.delete_extracts,
            public_access.public_access_terms,
            public_access.locate_documents,
            public_access.check_masks,
            public_access.prepare_copies,
            public_access.deliver_public,
            public_access.delegations,
            public_access.issue_decision,
            public_access.handle_appeal,
            public_access.confirm_withdrawal,
            roster.staff_roles,
        ]
    finally:
        await register_engine.dispose()
        await archive_engine.dispose()
        for engine in system_engines.values():
            await engine.dispose()


def smtp_server(settings: Settings) -> SmtpServer:
    return SmtpServer(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_sender,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
    )


def staff_channel(settings: Settings) -> StaffChannel:
    if settings.staff_channel == "smtp":
        return SmtpStaff(
            smtp_server(settings),
            assignee_email=settings.assignee_email,
            team_lead_email=settings.team_lead_email,
            dpo_email=settings.dpo_email,
            archivist_email=settings.archivist_email,
        )
    return OutboxStaff(settings.outbox_dir / "staff")


def requester_email(settings: Settings) -> EmailChannel:
    if settings.requester_email_channel == "smtp":
        return SmtpEmail(smtp_server(settings))
    return OutboxEmail(settings.outbox_dir / "email")


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox, with `contract` passed through, and nothing else of ours.

    Workflows and activities must see the same payload classes: a model re-imported inside the
    sandbox is a different class, and pydantic refuses an activity's result as the input of the
    next call. The package is side-effect free and deterministic, so passing it is safe; the
    workflow modules themselves, and anything else they import, are run inside the sandbox.
    """
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("contract")
    )


def worker_interceptors() -> list[Interceptor]:
    """A worker's, and every Replayer's: the guard runs in replay too (it keeps state)."""
    return [HeartbeatWhileRunning(), GuardUpdates()]


def create_worker(
    client: Client, settings: Settings, activities: Sequence[Callable[..., Any]]
) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=list(activities),
        workflow_runner=workflow_runner(),
        interceptors=worker_interceptors(),
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        # A stopping worker lets running activities finish for this long; then the SDK cancels
        # them and reports them failed ("WorkerShutdown", retryable), so another worker retries
        # them at once instead of after their heartbeat or start-to-close timeout.
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace_seconds),
    )
