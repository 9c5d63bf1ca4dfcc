"""One seeded set of demo databases for the readers; a private copy for each test that writes."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from systems.catalog import Catalog, load_catalog
from systems.demo import SYSTEM_TABLES, SeedManifest, default_urls, seed_demo_systems


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
async def seeded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SeededSystems]:
    var_dir = tmp_path_factory.mktemp("var")
    urls = default_urls(var_dir)
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
        """Every row of a table, raw from SQLite, by primary key."""
        database = sa.make_url(self.urls[system]).database
        assert database is not None
        key = SYSTEM_TABLES[system].tables[table].primary_key.columns[0].name
        with closing(sqlite3.connect(database)) as conn:
            conn.row_factory = sqlite3.Row
            return {
                row[key]: dict(row) for row in conn.execute(f"SELECT * FROM {table}").fetchall()
            }

    def execute(self, system: str, statement: str, *parameters: object) -> None:
        """Change the data behind the connector's back, to set up a scenario."""
        database = sa.make_url(self.urls[system]).database
        assert database is not None
        with closing(sqlite3.connect(database)) as conn, conn:
            conn.execute(statement, parameters)


@pytest_asyncio.fixture
async def writable(tmp_path: Path) -> AsyncIterator[WritableSystems]:
    urls = default_urls(tmp_path / "own")
    manifest = await seed_demo_systems(urls, reading_years=1)
    engines = {name: create_async_engine(url) for name, url in urls.items()}
    yield WritableSystems(urls, manifest, engines)
    for engine in engines.values():
        await engine.dispose()
