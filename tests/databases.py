"""The databases tests run on: SQLite files by default; with DSR_TEST_POSTGRES_URL set (by
`make test-postgres`, which starts a throwaway server), a fresh PostgreSQL database each."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from demo.schemas import SYSTEM_TABLES
from demo.systems import default_urls

POSTGRES = os.environ.get("DSR_TEST_POSTGRES_URL", "")


def on_postgres() -> bool:
    return bool(POSTGRES)


def _create(name: str) -> None:
    server = make_url(POSTGRES)

    async def create() -> None:
        conn = await asyncpg.connect(
            host=server.host, port=server.port, user=server.username, database=server.database
        )
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    # Called from sync fixtures and from inside the tests' running event loop alike.
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(create())
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def database_url(directory: Path, name: str) -> str:
    """A new, empty database: `directory/name.db` on SQLite, a new database on PostgreSQL."""
    if not POSTGRES:
        directory.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{directory.resolve() / name}.db"
    database = f"t_{name}_{uuid.uuid4().hex[:12]}"
    _create(database)
    return make_url(POSTGRES).set(database=database).render_as_string(hide_password=False)


def system_urls(directory: Path) -> dict[str, str]:
    """The demo systems' databases, as `default_urls` lays them out or on PostgreSQL."""
    if not POSTGRES:
        return default_urls(directory)
    return {name: database_url(directory, name) for name in SYSTEM_TABLES}


def sync_url(url: str) -> str:
    """The same database for a synchronous SQLAlchemy engine (tests reading it directly)."""
    return url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")
