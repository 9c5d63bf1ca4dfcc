"""One seeded set of demo databases for the readers; a private copy for each test that writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from demo.schemas import SYSTEM_TABLES
from demo.systems import SeedManifest, seed_demo_systems
from systems.catalog import Catalog, load_catalog
from tests.databases import sync_url, system_urls


@dataclass(frozen=True)
class SeededSystems:
    var_dir: Path
    urls: dict[str, str]
    manifest: SeedManifest
    engines: dict[str, AsyncEngine]


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest_asyncio.fixture(scope="session")
async def seeded_systems(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SeededSystems]:
    var_dir = tmp_path_factory.mktemp("var")
    urls = system_urls(var_dir)
    manifest = await seed_demo_systems(urls)
    engines = {name: create_async_engine(url) for name, url in urls.items()}
    yield SeededSystems(var_dir, urls, manifest, engines)
    for engine in engines.values():
        await engine.dispose()


@dataclass(frozen=True)
class WritableSystems:
    """A private copy of the demo systems for a test that writes (one year of readings)."""

    urls: dict[str, str]
    manifest: SeedManifest
    engines: dict[str, AsyncEngine]

    def rows(self, system: str, table: str) -> dict[int, dict[str, Any]]:
        """Every row of a table, straight from the database (typed by the demo's schema, the
        same on every backend), by primary key."""
        declared = SYSTEM_TABLES[system].tables[table]
        key = declared.primary_key.columns[0].name
        engine = sa.create_engine(sync_url(self.urls[system]))
        try:
            with engine.connect() as conn:
                rows = conn.execute(sa.select(declared)).mappings().all()
                return {row[key]: dict(row) for row in rows}
        finally:
            engine.dispose()

    def execute(self, system: str, statement: str, **parameters: object) -> None:
        """Change the data behind the connector's back, to set up a scenario."""
        engine = sa.create_engine(sync_url(self.urls[system]))
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(statement), parameters)
        finally:
            engine.dispose()


@pytest_asyncio.fixture
async def writable_systems(tmp_path: Path) -> AsyncIterator[WritableSystems]:
    urls = system_urls(tmp_path / "own")
    manifest = await seed_demo_systems(urls, reading_years=1)
    engines = {name: create_async_engine(url) for name, url in urls.items()}
    yield WritableSystems(urls, manifest, engines)
    for engine in engines.values():
        await engine.dispose()
