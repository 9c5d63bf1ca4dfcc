"""One seeded set of demo databases for the whole session: seeding is the slow part."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from systems.catalog import Catalog, load_catalog
from systems.demo import SeedManifest, default_urls, seed_demo_systems


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
