"""Declarations of the connected systems: which tables hold a subject's data and why.

Each ``systems/*.yaml`` declares one system. The generic connector reads a subject's rows from
these declarations only, so pointing the engine at a real system is configuration, not code.
A declaration is checked in full when loaded: a typo must stop the worker at start-up, not
silently leave a table out of an access answer.

The same files declare the other rights, so the connector's writes are configuration too: which
columns hold a rectifiable field (``field``), the restriction and marketing-objection flags,
which tables are portable, who received the rows, and what erasure does per table under which
disposal rule of the document plan (systems.disposal). `validate_rectification` is the one place a
new value is checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from contract.addresses import is_one_address
from infra.recipients import RecipientsRegister, load_recipients
from systems.disposal import DocumentPlan, Period, load_document_plan

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


# The logical fields a subject may have rectified (Art. 16), whatever a system calls its columns.
RectifiableField = Literal["name", "street", "postal_code", "city", "email", "phone"]
RECTIFIABLE_FIELDS: tuple[RectifiableField, ...] = get_args(RectifiableField)
# The data category each field belongs to, in every system: how a rectification is matched to
# what a recipient received (a disclosure log names categories, not columns).
FIELD_CATEGORIES: dict[str, ColumnCategory] = {
    "name": "identifier",
    "street": "address",
    "postal_code": "address",
    "city": "address",
    "email": "contact",
    "phone": "contact",
}

_MAX_LENGTH: dict[str, int] = {
    "name": 100,
    "street": 100,
    "postal_code": 6,
    "city": 60,
    "email": 254,
    "phone": 16,
}
_POSTAL_CODE = re.compile(r"[1-9][0-9]{4}")
_PHONE_PUNCTUATION = re.compile(r"[\s\-()./]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def validate_rectification(field: str, value: str) -> str:
    """The new value for a logical field, normalised; ValueError("<field>: ...") if it is wrong.

    The message never repeats the value: it ends up in workflow history and logs. Whitespace is
    trimmed and collapsed. Postal codes become ``123 45``. Phone numbers become E.164 without
    spaces: a Swedish number (``070-123 45 67``, ``0046 70...``, ``+46 70...``) becomes
    ``+46701234567``, and a foreign one must be given with its country code (``+48 600...``).
    """
    if field not in RECTIFIABLE_FIELDS:
        raise ValueError(f"field: not one of {', '.join(RECTIFIABLE_FIELDS)}")
    if _CONTROL.search(value):
        raise ValueError(f"{field}: contains control characters")
    text = " ".join(value.split())
    if not text:
        raise ValueError(f"{field}: must not be empty")
    if field == "postal_code":
        text = _normalise_postal_code(text)
    elif field == "phone":
        text = _normalise_phone(text)
    elif field == "email":
        # Too long is said below, as for every field.
        if len(text) <= _MAX_LENGTH[field] and not is_one_address(text):
            raise ValueError("email: is not one e-mail address (name@domain.se)")
        local, domain = text.rsplit("@", 1)
        text = f"{local}@{domain.lower()}"
    elif not any(character.isalpha() for character in text):
        raise ValueError(f"{field}: must contain letters")
    if len(text) > _MAX_LENGTH[field]:
        raise ValueError(f"{field}: longer than {_MAX_LENGTH[field]} characters")
    return text


def _normalise_postal_code(text: str) -> str:
    digits = text.replace(" ", "")
    if not _POSTAL_CODE.fullmatch(digits):
        raise ValueError("postal_code: expected five digits, the first not 0 (123 45)")
    return f"{digits[:3]} {digits[3:]}"


def _normalise_phone(text: str) -> str:
    compact = _PHONE_PUNCTUATION.sub("", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("0"):
        digits = "46" + compact[1:]
    else:
        raise ValueError("phone: give a Swedish number from 0 or a number with its country code")
    if not digits.isdigit():
        raise ValueError("phone: may only contain digits, spaces, hyphens and a leading +")
    if digits.startswith("46"):
        national = digits[2:]
        # Swedish national significant numbers are 7-9 digits after the trunk 0.
        if national.startswith("0") or not 7 <= len(national) <= 9:
            raise ValueError("phone: a Swedish number has 8-10 digits including the leading 0")
    elif not 8 <= len(digits) <= 15:
        raise ValueError("phone: an international number has 8-15 digits after the +")
    return "+" + digits


# The data categories as a list in a cell names them ("identitetsuppgifter, adress").
CATEGORY_NAMES_SV: dict[str, str] = {
    "identifier": "identitetsuppgifter",
    "contact": "kontaktuppgifter",
    "address": "adress",
    "contract": "avtal",
    "billing": "fakturor",
    "payment": "betalningar",
    "credit": "kreditupplysning",
    "metering": "mätvärden",
    "connection": "anslutning",
    "service_provider": "tjänsteleverantörer",
    "consent": "samtycken",
    "marketing": "marknadsföring",
    "disclosure": "utlämnanden",
    "technical": "tekniska uppgifter",
}


class ColumnDecl(_Declaration):
    """One column: its data category (for the access answer) and a Swedish label for people.

    ``field`` marks a column that holds a logical field the subject may have rectified; a
    rectification of that field changes every column so marked, in every system.

    A column that holds codes (``electricity``, ``deposit_required``) names what each means in
    Swedish in ``values``: the subject reads the words, never the code (the stored value stays
    in the machine-readable file, with this legend beside it). ``categories`` marks a column
    that holds a comma-separated list of data categories (``identifier,address``), shown by
    their Swedish names.
    """

    category: ColumnCategory
    label: _Text
    field: RectifiableField | None = None
    values: dict[Annotated[str, Field(min_length=1)], _Text] = {}
    categories: bool = False

    @model_validator(mode="after")
    def _one_way_of_naming(self) -> ColumnDecl:
        if self.values and self.categories:
            raise ValueError("values: a column holds either codes or a list of categories")
        return self

    def shown(self, value: object) -> object:
        """The value as a subject reads it: a code by its Swedish words, a list of categories
        by their names; anything else as it is."""
        if self.values and isinstance(value, str):
            return self.values.get(value, value)
        if self.categories and isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            return ", ".join(CATEGORY_NAMES_SV.get(part, part) for part in parts)
        return value


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


# A column of the same table ("end_date") or of another table of the system
# ("invoices.invoice_date").
ColumnReference = Annotated[
    str, Field(pattern=r"^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$", max_length=127)
]


class SuppressionRecordDecl(_Declaration):
    """What stays of a row that records an objection to direct marketing when it is erased.

    Erasing the row would erase the objection with it, and nothing would then stop marketing to
    the subject if they were imported again: the objection must go on being honoured (Art.
    21(3)). So a row whose boolean column ``when`` is true is not deleted but minimised: each
    column of ``anonymise`` gets its replacement (``null`` allowed), and the primary key, the
    identity number and ``when`` stay.
    """

    when: Identifier
    anonymise: dict[Identifier, str | None] = Field(min_length=1)

    @model_validator(mode="after")
    def _keeps_the_objection(self) -> SuppressionRecordDecl:
        if self.when in self.anonymise:
            raise ValueError(
                f"anonymise.{self.when}: the objection column cannot be anonymised; keeping it "
                "is what the record is for"
            )
        return self


class ErasureDecl(_Declaration):
    """What erasure (Art. 17) does to a table's rows, and the disposal rule that allows it.

    The rows are official documents: they may be destroyed only under a disposal decision
    (gallringsbeslut) of the document management plan (arkivlagen (1990:782) 10 §, OSL 2:3).
    ``disposal`` names that rule (``config/document_plan.yaml``), and ``dates`` the column each
    of its periods counts from: a column of the row itself (judged row by row) or
    ``table.column`` of another table of the system (judged once for the subject, by the latest
    date among the subject's rows there; for ``contract_ended``: whether any of them runs),
    or a list of them. A table without an erasure block is under no rule: kept, restricted,
    never erased.

    ``action`` is what happens once the rule lets a row go: ``delete`` it, or ``anonymise`` it
    by setting each column of ``anonymise`` to its replacement (``null`` allowed). A
    ``suppression_record`` takes the place of ``action`` for a row that records an objection to
    direct marketing; the disposal rule still decides when.
    """

    action: Literal["delete", "anonymise"]
    anonymise: dict[Identifier, str | None] = {}
    disposal: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    dates: dict[Period, ColumnReference | list[ColumnReference]] = {}
    suppression_record: SuppressionRecordDecl | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ErasureDecl:
        if self.disposal is None:
            raise ValueError(
                "disposal: name the disposal rule (gallringsbeslut) of the document plan that "
                "lets these rows be destroyed; official documents under no rule are never "
                "erased (arkivlagen 1990:782, 10 §): leave out erasure for such a table"
            )
        if self.action == "anonymise" and not self.anonymise:
            raise ValueError("anonymise: name the columns to replace when the action is anonymise")
        if self.action == "delete" and self.anonymise:
            raise ValueError("anonymise: only for action anonymise")
        return self

    def date_columns(self, period: Period) -> list[str]:
        columns = self.dates.get(period, [])
        return [columns] if isinstance(columns, str) else list(columns)


class RecipientCategoryDecl(_Declaration):
    """A recipient known only as a category ("Din elhandlare"). With ``column`` (of the table
    itself, or ``parent.column`` of its link's parent table), the rows name which one; without,
    a handler notifies whoever it is (Art. 19)."""

    category: _Text
    column: ColumnReference | None = None


class TableDecl(_Declaration):
    """A table with subject data, and what an access answer (Art. 15) must say about it.

    For the other rights: ``portable`` (Art. 20: provided by the subject or observed under the
    contract), ``recipient_column`` (the rows name who received the data, Art. 19), ``erasure``
    (Art. 17) and ``references`` (``column: table.column`` for a foreign key that is not the
    link, so erasure removes referring rows first and never keeps them longer than their target).

    What the recipients received, so a rectification reaches exactly those who hold the old
    value (Art. 19) and nobody learns a new value they never had: the categories in
    ``recipient_categories_column`` of each row (a disclosure log: ``identifier,address``), else
    ``disclosed_categories``, else the categories of the table's own columns.
    """

    name: Identifier
    label: _Text
    purpose: _Text
    legal_basis: _Text
    source: _Text = "Den registrerade"
    automated_decision: _Text | None = None
    # Who receives the rows: a name of the recipients register (config/recipients.yaml), or a
    # category, resolved per row through a column where the system knows which one.
    recipients: list[_Text | RecipientCategoryDecl] = []
    primary_key: Identifier
    order_by: Identifier | None = None
    link: LinkDecl
    columns: dict[Identifier, ColumnDecl] = Field(min_length=1)
    portable: bool = False
    recipient_column: Identifier | None = None
    recipient_categories_column: Identifier | None = None
    disclosed_categories: list[ColumnCategory] | None = None
    references: dict[Identifier, ColumnReference] = {}
    # None: no disposal rule covers the table; its rows are kept for good (see ErasureDecl).
    erasure: ErasureDecl | None = None

    def named_recipients(self) -> list[str]:
        return [r for r in self.recipients if isinstance(r, str)]

    def recipient_categories(self) -> list[RecipientCategoryDecl]:
        return [r for r in self.recipients if isinstance(r, RecipientCategoryDecl)]

    def received_categories(self) -> frozenset[str]:
        """The categories every recipient of this table received (without per-row names)."""
        if self.disclosed_categories is not None:
            return frozenset(self.disclosed_categories)
        return frozenset(
            column.category for column in self.columns.values() if column.category != "technical"
        )


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


class FlagDecl(_Declaration):
    """A boolean column on the subject's own record (a table linked by subject_column)."""

    table: Identifier
    column: Identifier


class ConsentsDecl(_Declaration):
    """Where the subject's consents are withdrawn: ``withdrawn_column`` gets the time."""

    table: Identifier
    withdrawn_column: Identifier


class SuppressionDecl(FlagDecl):
    """The objection to direct marketing (Art. 21(2)); it also withdraws open consents."""

    consents: ConsentsDecl | None = None


@dataclass(frozen=True)
class RowReference:
    """Rows of ``table`` refer to rows of ``target`` (``column`` = ``target_column``)."""

    table: str
    column: str
    target: str
    target_column: str


class SystemDecl(_Declaration):
    """One connected system; ``tables`` keeps the declaration order for the extract.

    ``restriction`` is the Art. 18 flag, ``suppression`` the direct-marketing objection flag.
    """

    name: Identifier
    title: _Text
    description: _Text
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


class Catalog(_Declaration):
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
