"""Shared fixtures: a real Temporal dev server, seeded demo systems, a worker per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from app.worker_setup import build_activities, create_worker
from contract import search
from demo.archive import seed_archive
from demo.systems import SeedManifest, seed_demo_systems
from infra.binaries import installed_binary
from infra.client import data_converter, interceptors
from infra.config import PROJECT_ROOT, Settings
from infra.db import create_engine, create_schema
from infra.idp import LocalIdentityProvider, start_identity_provider
from infra.roster import load_roster
from tests.databases import database_url, system_urls
from tests.helpers import Mailbox, free_port
from tests.serving import Desk, SignIns, desk_for

# The suite runs the embedded development stack (the settings' default is production, which
# refuses its public secrets); every process a test starts inherits this.
os.environ["DSR_ENVIRONMENT"] = "development"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=installed_binary("temporal"),
        data_converter=data_converter(Settings()),
        interceptors=interceptors(),
        search_attributes=search.ALL,
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(scope="session")
def systems_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("systems")


@pytest.fixture(scope="session")
def shared_systems(systems_dir: Path) -> dict[str, str]:
    """Where the shared demo systems live (SQLite files, or PostgreSQL databases)."""
    return system_urls(systems_dir)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def seeded(shared_systems: dict[str, str]) -> SeedManifest:
    """The demo systems, seeded once; the access tests only read them."""
    return await seed_demo_systems(shared_systems)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def archive(systems_dir: Path) -> tuple[str, dict[str, list[int]]]:
    """The demo document archive, seeded once (read only): its URL and document ids by kind
    of content (plain, personal, protected_address, trade)."""
    url = database_url(systems_dir, "archive")
    return url, await seed_archive(url)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def register_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One case register for the session, as in production: case numbers never repeat. Its
    schema is migrated as `python -m infra.migrate upgrade` does before workers start."""
    url = database_url(tmp_path_factory.mktemp("register"), "register")
    engine = create_engine(url)
    try:
        await create_schema(engine)
    finally:
        await engine.dispose()
    return url


@pytest.fixture
def settings(
    tmp_path: Path,
    shared_systems: dict[str, str],
    seeded: SeedManifest,
    archive: tuple[str, dict[str, list[int]]],
    register_url: str,
) -> Settings:
    return Settings(
        var_dir=tmp_path,
        task_queue=f"test-{uuid.uuid4()}",
        register_url=register_url,
        system_urls=shared_systems,
        document_archive_url=archive[0],
        # A secret per test keeps "one open case per subject" within the test that opened it.
        subject_reference_secret=f"test-secret-{uuid.uuid4()}",
        # What a closed case sent stays for the test to read: on the time-skipping server the
        # default 30 days would pass, and the disposal delete it, within the test
        # (tests/workflow/test_disposal.py sets the days it times).
        extract_retention_days=3650,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def worker(client: Client, settings: Settings) -> AsyncIterator[Settings]:
    """A worker on a fresh task queue with its own register, extract store and outbox."""
    async with build_activities(settings) as activities:
        async with create_worker(client, settings, activities):
            yield settings


@pytest_asyncio.fixture(loop_scope="session")
async def writable(client: Client, settings: Settings, tmp_path: Path) -> AsyncIterator[Settings]:
    """A worker over a private, freshly seeded copy of the demo systems, for tests that write."""
    urls = system_urls(tmp_path / "own")
    await seed_demo_systems(urls)
    custom = settings.model_copy(update={"system_urls": urls})
    async with build_activities(custom) as activities:
        async with create_worker(client, custom, activities):
            yield custom


@pytest_asyncio.fixture(loop_scope="session")
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server per test: its clock only moves forward, so each test starts
    at today, whatever the tests before it skipped."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=installed_binary("temporal-test-server"),
        data_converter=data_converter(Settings()),
        interceptors=interceptors(),
    )
    # The time-skipping server learns custom search attributes only through the operator API.
    kinds = {
        "KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "DATETIME": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    }
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={key.name: kinds[key.indexed_value_type.name] for key in search.ALL},
        )
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    port = free_port()
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def idp(sign_ins: SignIns) -> Iterator[LocalIdentityProvider]:
    """The local identity provider (Node's oidc-provider) with the demo roster's staff; the
    console may send people back to the session's service port."""
    staff = list(load_roster(PROJECT_ROOT / "config" / "roster.yaml").staff)
    provider = start_identity_provider(
        staff, console_redirects=[f"http://127.0.0.1:{sign_ins.port}/auth/callback"]
    )
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def sign_ins(tmp_path_factory: pytest.TempPathFactory) -> SignIns:
    return SignIns(home=tmp_path_factory.mktemp("sign-ins"), port=free_port())


@pytest_asyncio.fixture(loop_scope="session")
async def counter(
    client: Client, writable: Settings, idp: LocalIdentityProvider, sign_ins: SignIns
) -> AsyncIterator[Desk]:
    """The case service as `desk`, over a private copy of the demo systems: what is approved
    there really happens (an erasure erases), and the register is the test's own."""
    async with desk_for(client, writable, idp, sign_ins) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def desk(
    client: Client, worker: Settings, idp: LocalIdentityProvider, sign_ins: SignIns
) -> AsyncIterator[Desk]:
    """The case service over the test's worker, and people signed in at the command line
    (`await desk.login("anna")`)."""
    async with desk_for(client, worker, idp, sign_ins) as running:
        yield running
