"""Declarations of the connected systems: which tables hold a subject's data and why.

Each ``systems/*.yaml`` declares one system. The generic connector reads a subject's rows from
these declarations only, so pointing the engine at a real system is configuration, not code.
A declaration is checked in full when loaded: a typo must stop the worker at start-up, not
silently leave a table out of an access answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

ColumnCategory = Literal[
    "identifier",
    "contact",
    "address",
    "contract",
    "billing",
    "payment",
    "credit",
    "metering",
    "connection",
    "service_provider",
    "consent",
    "marketing",
    "disclosure",
    "technical",
]

# Names end up in SQL (quoted by SQLAlchemy, but still): plain identifiers only.
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=63)]
_Text = Annotated[str, Field(min_length=1)]


class _Declaration(BaseModel):
    # extra="forbid": a misspelt key (say `retension`) must fail, not be ignored.
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnDecl(_Declaration):
    """One column: its data category (for the access answer) and a Swedish label for people."""

    category: ColumnCategory
    label: _Text


class LinkDecl(_Declaration):
    """How a table's rows belong to the subject.

    Either directly (``subject_column`` holds the canonical 12-digit identity number), or through
    a parent table: rows whose ``column`` is among ``parent_column`` of the parent's linked rows.
    """

    subject_column: Identifier | None = None
    column: Identifier | None = None
    parent: Identifier | None = None
    parent_column: Identifier | None = None

    @model_validator(mode="after")
    def _exactly_one_way(self) -> LinkDecl:
        via_parent = (self.column, self.parent, self.parent_column)
        if self.subject_column is not None:
            if any(part is not None for part in via_parent):
                raise ValueError(
                    "give either subject_column or column + parent + parent_column, not both"
                )
        elif any(part is None for part in via_parent):
            raise ValueError("give either subject_column or all of column, parent, parent_column")
        return self


class TableDecl(_Declaration):
    """A table with subject data, and what an access answer (Art. 15) must say about it."""

    name: Identifier
    label: _Text
    purpose: _Text
    legal_basis: _Text
    retention: _Text
    source: _Text = "Den registrerade"
    automated_decision: _Text | None = None
    recipients: list[_Text] = []
    primary_key: Identifier
    order_by: Identifier | None = None
    link: LinkDecl
    columns: dict[Identifier, ColumnDecl] = Field(min_length=1)


class ProtectedIdentityDecl(_Declaration):
    """The boolean column that tells the subject has skyddade personuppgifter."""

    table: Identifier
    column: Identifier


class PostalAddressDecl(_Declaration):
    """Where the subject's registered postal address is: a letter answer goes there."""

    table: Identifier
    name: Identifier
    street: Identifier
    postal_code: Identifier
    city: Identifier


class SystemDecl(_Declaration):
    """One connected system; ``tables`` keeps the declaration order for the extract."""

    name: Identifier
    title: _Text
    description: _Text
    tables: dict[Identifier, TableDecl] = Field(min_length=1)
    protected_identity: ProtectedIdentityDecl | None = None
    postal_address: PostalAddressDecl | None = None
    disclosure_log: bool = False

    @model_validator(mode="before")
    @classmethod
    def _table_names_from_keys(cls, data: Any) -> Any:
        # The mapping key is the table's name; writing it twice in the YAML invites drift.
        if isinstance(data, dict) and isinstance(data.get("tables"), dict):
            tables = {
                key: {"name": key, **value} if isinstance(value, dict) else value
                for key, value in data["tables"].items()
            }
            data = {**data, "tables": tables}
        return data

    @model_validator(mode="after")
    def _references_resolve(self) -> SystemDecl:
        for key, table in self.tables.items():
            where = f"tables.{key}"
            if table.name != key:
                raise ValueError(f"{where}.name: {table.name!r} differs from its key {key!r}")
            _require_column(table, table.primary_key, f"{where}.primary_key")
            if table.order_by is not None:
                _require_column(table, table.order_by, f"{where}.order_by")
            self._check_link(key, table)
        if self.protected_identity is not None:
            flag = self.protected_identity
            if flag.table not in self.tables:
                raise ValueError(
                    f"protected_identity.table: {flag.table!r} is not a declared table"
                )
            _require_column(self.tables[flag.table], flag.column, "protected_identity.column")
        if self.postal_address is not None:
            address = self.postal_address
            holder = self.tables.get(address.table)
            if holder is None or holder.link.subject_column is None:
                raise ValueError(
                    f"postal_address.table: {address.table!r} is not a declared table linked "
                    "by subject_column"
                )
            for part in ("name", "street", "postal_code", "city"):
                _require_column(holder, getattr(address, part), f"postal_address.{part}")
        return self

    def _check_link(self, key: str, table: TableDecl) -> None:
        where = f"tables.{key}.link"
        link = table.link
        if link.subject_column is not None:
            _require_column(table, link.subject_column, f"{where}.subject_column")
            return
        assert link.column is not None and link.parent is not None
        assert link.parent_column is not None
        _require_column(table, link.column, f"{where}.column")
        if link.parent not in self.tables:
            raise ValueError(f"{where}.parent: {link.parent!r} is not a declared table")
        _require_column(self.tables[link.parent], link.parent_column, f"{where}.parent_column")
        # Follow the chain up: it must end at a table linked by the subject column.
        seen = [key]
        parent: str | None = link.parent
        while parent is not None:
            if parent in seen:
                chain = " -> ".join([*seen, parent])
                raise ValueError(f"{where}.parent: links form a cycle ({chain})")
            seen.append(parent)
            parent = self.tables[parent].link.parent


class Catalog(_Declaration):
    """All declared systems, by name."""

    systems: dict[str, SystemDecl]

    def names(self) -> list[str]:
        """The system names, sorted, so callers iterate in a stable order."""
        return sorted(self.systems)


class CatalogError(ValueError):
    """A declaration file is missing, unreadable or invalid; the message names file and field."""


def load_catalog(directory: Path | None = None) -> Catalog:
    """Read and validate every ``*.yaml`` in ``directory`` (default: this package's folder)."""
    directory = directory or Path(__file__).resolve().parent
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CatalogError(f"{directory}: no system declarations (*.yaml) found")
    systems: dict[str, SystemDecl] = {}
    origin: dict[str, str] = {}
    for path in files:
        system = _load_system(path)
        if system.name in systems:
            raise CatalogError(
                f"{path.name}: name: system {system.name!r} is also declared in "
                f"{origin[system.name]}"
            )
        systems[system.name] = system
        origin[system.name] = path.name
    return Catalog(systems=systems)


def _load_system(path: Path) -> SystemDecl:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path.name}: cannot read the declaration: {exc}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{path.name}: expected a mapping at the top level")
    try:
        return SystemDecl.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise CatalogError(f"{path.name}: {problems}") from None


def _describe(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"])
    if error["type"] == "value_error":
        # Our own checks already name the field inside the message.
        message = str(error["ctx"]["error"])
    return f"{where}: {message}" if where else message


def _require_column(table: TableDecl, column: str, where: str) -> None:
    if column not in table.columns:
        raise ValueError(f"{where}: {column!r} is not a declared column of table {table.name!r}")
