"""The case register's schema, for operators: `python -m infra.migrate upgrade` migrates the
register (DSR_REGISTER_URL) to this version before workers of the version start;
`python -m infra.migrate current` says where it is (exit 1 when it is behind).

An operator's tool with the register's credentials, run where the workers run (docker-compose's
`migrate` service, `make run`); never part of the handlers' command line, which holds no
database access.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from sqlalchemy.exc import SQLAlchemyError

from infra import schema
from infra.config import SettingsError, get_settings
from infra.db import create_engine

app = typer.Typer(
    help="The case register's schema: migrate it before starting workers of a new version.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]


def emit(as_json: bool, payload: dict[str, Any], line: str) -> None:
    typer.echo(json.dumps(payload) if as_json else line)


def run(step: Any) -> Any:
    """Run a step against the register; an error is one line and exit code 1."""
    try:
        return asyncio.run(step())
    except (schema.SchemaError, SettingsError) as error:
        typer.echo(f"error: {error}", err=True)
    except SQLAlchemyError as error:
        # The statement and its values stay out of the message.
        typer.echo(f"error: database: {type(error).__name__} (check DSR_REGISTER_URL)", err=True)
    raise typer.Exit(1)


@app.command("upgrade")
def upgrade(as_json: JsonOption = False) -> None:
    """Migrate the case register (DSR_REGISTER_URL) to this version's schema. Safe to run
    again; a register from before migrations is taken as their first revision."""

    async def step() -> tuple[schema.SchemaState, schema.SchemaState]:
        engine = create_engine(get_settings().register_database_url)
        try:
            return await schema.upgrade(engine)
        finally:
            await engine.dispose()

    before, after = run(step)
    emit(
        as_json,
        {"from": before.current, "to": after.current, "head": after.head},
        f"the case register is up to date (revision {after.current})"
        if before.current == after.current
        else f"the case register migrated from {before.where} to {after.where}",
    )


@app.command("current")
def current(as_json: JsonOption = False) -> None:
    """The register's schema revision and this version's; exits 1 when they differ."""

    async def step() -> schema.SchemaState:
        engine = create_engine(get_settings().register_database_url)
        try:
            return await schema.state(engine)
        finally:
            await engine.dispose()

    found = run(step)
    emit(
        as_json,
        {"current": found.current, "head": found.head, "up_to_date": found.up_to_date},
        f"the case register: {found.where}; this version needs {found.head}: {found.verdict}",
    )
    if not found.up_to_date:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
