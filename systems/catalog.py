"""Declarations of the connected systems: which tables hold a subject's data and why.

Each ``systems/*.yaml`` declares one system. The generic connector reads a subject's rows from
these declarations only, so pointing the engine at a real system is configuration, not code.
A declaration is checked in full when loaded: a typo must stop the worker at start-up, not
silently leave a table out of an access answer.

The same files declare the other rights, so the connector's writes are configuration too: which
columns hold a rectifiable field (``field``), the restriction and marketing-objection flags,
which tables are portable, who received the rows, and what erasure does per table under which
disposal rule of the document plan (systems.disposal). `validate_rectification` is the one place a
new value is checked (systems/fields.py); the tables' declarations are in systems/tables.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from infra.recipients import RecipientsRegister, load_recipients
from systems.disposal import DocumentPlan, load_document_plan
from systems.tables import (
    FIELD_CATEGORIES,
    Declaration,
    FlagDecl,
    Identifier,
    NonEmptyText,
    PostalAddressDecl,
    ProtectedIdentityDecl,
    RowReference,
    SuppressionDecl,
    SuppressionRecordDecl,
    TableDecl,
)


class SystemDecl(Declaration):
    """One connected system; ``tables`` keeps the declaration order for the extract.

    ``restriction`` is the Art. 18 flag, ``suppression`` the direct-marketing objection flag.
    """

    name: Identifier
    title: NonEmptyText
    description: NonEmptyText
    tables: dict[Identifier, TableDecl] = Field(min_length=1)
    protected_identity: ProtectedIdentityDecl | None = None
    postal_address: PostalAddressDecl | None = None
    disclosure_log: bool = False
    restriction: FlagDecl | None = None
    suppression: SuppressionDecl | None = None

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
        if self.restriction is not None:
            self._check_flag(self.restriction, "restriction")
        if self.suppression is not None:
            self._check_flag(self.suppression, "suppression")
            consents = self.suppression.consents
            if consents is not None:
                where = "suppression.consents"
                if consents.table not in self.tables:
                    raise ValueError(f"{where}.table: {consents.table!r} is not a declared table")
                _require_column(
                    self.tables[consents.table],
                    consents.withdrawn_column,
                    f"{where}.withdrawn_column",
                )
        for key, table in self.tables.items():
            self._check_rights(key, table)
        self.erasure_order()  # a cycle of references fails here, at load time
        return self

    def row_references(self) -> list[RowReference]:
        """Which rows refer to which (foreign keys), from the links and ``references``.

        A link through a parent refers to the parent when it points at the parent's primary key
        (payments -> invoices); when it starts from the table's own primary key, the parent's
        rows refer to this table instead (contract_holders -> contracts).
        """
        found: list[RowReference] = []
        for key, table in self.tables.items():
            link = table.link
            if link.parent is not None:
                assert link.column is not None and link.parent_column is not None
                if link.parent_column == self.tables[link.parent].primary_key:
                    found.append(RowReference(key, link.column, link.parent, link.parent_column))
                elif link.column == table.primary_key:
                    found.append(RowReference(link.parent, link.parent_column, key, link.column))
            for column, target in table.references.items():
                target_table, _, target_column = target.partition(".")
                found.append(RowReference(key, column, target_table, target_column))
        return found

    def erasure_order(self) -> list[str]:
        """The tables in an order where rows that refer to others are erased before them."""
        before: dict[str, set[str]] = {key: set() for key in self.tables}
        for reference in self.row_references():
            if reference.table != reference.target:
                before[reference.target].add(reference.table)
        order: list[str] = []
        while len(order) < len(before):
            ready = [k for k, v in before.items() if k not in order and v <= set(order)]
            if not ready:
                rest = ", ".join(k for k in before if k not in order)
                raise ValueError(f"references: the tables refer to each other in a cycle ({rest})")
            order.append(ready[0])
        return order

    def _check_flag(self, flag: FlagDecl, where: str) -> None:
        holder = self.tables.get(flag.table)
        if holder is None or holder.link.subject_column is None:
            raise ValueError(
                f"{where}.table: {flag.table!r} is not a declared table linked by subject_column"
            )
        _require_column(holder, flag.column, f"{where}.column")

    def _check_rights(self, key: str, table: TableDecl) -> None:
        where = f"tables.{key}"
        if table.recipient_column is not None:
            _require_column(table, table.recipient_column, f"{where}.recipient_column")
        if table.recipient_categories_column is not None:
            if table.recipient_column is None:
                raise ValueError(
                    f"{where}.recipient_categories_column: only with recipient_column (the "
                    "rows name who received what)"
                )
            _require_column(
                table, table.recipient_categories_column, f"{where}.recipient_categories_column"
            )
        if table.disclosed_categories is not None and not (
            table.recipients or table.recipient_column
        ):
            raise ValueError(f"{where}.disclosed_categories: the table declares no recipients")
        for index, category in enumerate(table.recipient_categories()):
            if category.column is None:
                continue
            owner, _, column = category.column.rpartition(".")
            spot = f"{where}.recipients.{index}.column"
            if owner and owner != table.link.parent:
                raise ValueError(f"{spot}: a column of the table or of its link's parent")
            _require_column(self.tables[owner] if owner else table, column, spot)
        for column, declared in table.columns.items():
            if declared.field is not None and declared.category != FIELD_CATEGORIES[declared.field]:
                raise ValueError(
                    f"{where}.columns.{column}.category: field {declared.field!r} is "
                    f"{FIELD_CATEGORIES[declared.field]!r} data in every system, not "
                    f"{declared.category!r}"
                )
        for column, target in table.references.items():
            _require_column(table, column, f"{where}.references.{column}")
            self._resolve(key, target, f"{where}.references.{column}", own_allowed=False)
        erasure = table.erasure
        if erasure is None:
            return
        for column in erasure.anonymise:
            _require_column(table, column, f"{where}.erasure.anonymise.{column}")
            if column == table.primary_key:
                raise ValueError(
                    f"{where}.erasure.anonymise.{column}: the primary key cannot be anonymised"
                )
        if erasure.action == "anonymise":
            # What identifies the subject must go, or the "anonymised" row still names them.
            personal = [c for c, d in table.columns.items() if d.field is not None]
            if table.link.subject_column is not None:
                personal.insert(0, table.link.subject_column)
            kept = [column for column in personal if column not in erasure.anonymise]
            if kept:
                raise ValueError(f"{where}.erasure.anonymise: must also replace {', '.join(kept)}")
        if erasure.suppression_record is not None:
            self._check_suppression_record(key, table, erasure.suppression_record)
        for period in erasure.dates:
            for index, column in enumerate(erasure.date_columns(period)):
                self._resolve(
                    key, column, f"{where}.erasure.dates.{period}.{index}", own_allowed=True
                )

    def _check_suppression_record(
        self, key: str, table: TableDecl, record: SuppressionRecordDecl
    ) -> None:
        where = f"tables.{key}.erasure.suppression_record"
        identity = table.link.subject_column
        if identity is None:
            raise ValueError(
                f"{where}: only for a table linked by subject_column (the record keeps the "
                "identity number the objection belongs to)"
            )
        _require_column(table, record.when, f"{where}.when")
        kept = {
            table.primary_key: "the primary key",
            identity: "the identity number (link.subject_column)",
        }
        for column in record.anonymise:
            _require_column(table, column, f"{where}.anonymise.{column}")
            if column in kept:
                raise ValueError(
                    f"{where}.anonymise.{column}: {kept[column]} cannot be anonymised; the "
                    "record keeps it"
                )
        # Only the number and the objection are needed to honour it: what names or reaches
        # the subject goes, as for an anonymised row.
        personal = [c for c, d in table.columns.items() if d.field is not None]
        missing = [column for column in personal if column not in record.anonymise]
        if missing:
            raise ValueError(f"{where}.anonymise: must also replace {', '.join(missing)}")
        # The record outlives every other row of the subject: it must point at none of them.
        for reference in self.row_references():
            if reference.table == key and record.anonymise.get(reference.column, "") is not None:
                raise ValueError(
                    f"{where}.anonymise: must also set {reference.column} to null (it refers "
                    f"to {reference.target}, whose rows erasure may delete)"
                )

    def _resolve(self, key: str, reference: str, where: str, *, own_allowed: bool) -> None:
        """Check that ``column`` (of table `key`) or ``table.column`` names a declared column."""
        table_name, _, column = reference.rpartition(".")
        if not table_name:
            if not own_allowed:
                raise ValueError(f"{where}: write it as table.column")
            _require_column(self.tables[key], column, where)
            return
        if table_name not in self.tables:
            raise ValueError(f"{where}: {table_name!r} is not a declared table")
        _require_column(self.tables[table_name], column, where)

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


_WHO_AND_WHERE = frozenset({"identifier", "address", "contact"})


class Catalog(Declaration):
    """All declared systems, by name, and the document management plan their erasure follows."""

    systems: dict[str, SystemDecl]
    plan: DocumentPlan
    recipients: RecipientsRegister

    def names(self) -> list[str]:
        """The system names, sorted, so callers iterate in a stable order."""
        return sorted(self.systems)

    def personal_fields(self) -> frozenset[str]:
        """Every column that says who a person is or where to find them (an identifier, an
        address, a contact), in any system, and the logical fields they hold: what the log
        redaction drops wherever it meets them as a key (infra.logging). Not every column of
        personal data: a "kind" or an "amount" tells nobody's name and names half the log."""
        names: set[str] = set()
        for system in self.systems.values():
            for table in system.tables.values():
                for column_name, column in table.columns.items():
                    if column.category in _WHO_AND_WHERE:
                        names.add(column_name)
                        if column.field is not None:
                            names.add(str(column.field))
        return frozenset(names)


class CatalogError(ValueError):
    """A declaration file is missing, unreadable or invalid; the message names file and field."""


def load_catalog(
    directory: Path | None = None,
    *,
    plan: DocumentPlan | None = None,
    recipients: RecipientsRegister | None = None,
) -> Catalog:
    """Read and validate every ``*.yaml`` in ``directory`` (default: this package's folder),
    each table's disposal rule against the document plan (default: config/document_plan.yaml)
    and each recipient it names against the recipients register (config/recipients.yaml)."""
    directory = directory or Path(__file__).resolve().parent
    plan = plan or load_document_plan()
    recipients = recipients or load_recipients()
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
        problem = disposal_problem(system, plan) or recipients_problem(system, recipients)
        if problem:
            raise CatalogError(f"{path.name}: {problem}")
        systems[system.name] = system
        origin[system.name] = path.name
    return Catalog(systems=systems, plan=plan, recipients=recipients)


def recipients_problem(system: SystemDecl, register: RecipientsRegister) -> str | None:
    """A recipient a table names that the recipients register does not know: its notices could
    go nowhere (Art. 19)."""
    for key, table in system.tables.items():
        for index, recipient in enumerate(table.recipients):
            if isinstance(recipient, str) and register.find(recipient) is None:
                return (
                    f"tables.{key}.recipients.{index}: {recipient!r} is not in the recipients "
                    "register; add it there, or declare it as a category"
                )
    return None


def disposal_problem(system: SystemDecl, plan: DocumentPlan) -> str | None:
    """What is wrong with the system's disposal rules against the plan, or None: each rule
    named must be the plan's, and each of its periods must count from a declared date."""
    for key, table in system.tables.items():
        erasure = table.erasure
        if erasure is None:
            continue
        where = f"tables.{key}.erasure"
        reference = erasure.disposal
        assert reference is not None
        if reference not in plan.rules:
            return (
                f"{where}.disposal: {reference!r} is not a disposal rule of the document plan "
                f"({plan.name})"
            )
        periods = plan.rule(reference).periods()
        for period in periods:
            if not erasure.date_columns(period):
                return (
                    f"{where}.dates.{period}: rule {reference!r} counts {period} from a date; "
                    "name the column it counts from"
                )
        for period in erasure.dates:
            if period not in periods:
                return f"{where}.dates.{period}: rule {reference!r} has no period {period}"
    return None


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
