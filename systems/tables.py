"""The declarations of a connected system's tables: each column's data category and purpose, the
links that make a row the subject's, the erasure rule, the recipients, and the flags the other
rights set (systems/catalog.py loads them with the system around them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from systems.disposal import Period
from systems.fields import RectifiableField

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

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=63)]
NonEmptyText = Annotated[str, Field(min_length=1)]


class Declaration(BaseModel):
    # extra="forbid": a misspelt key (say `retension`) must fail, not be ignored.
    model_config = ConfigDict(frozen=True, extra="forbid")


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


class ColumnDecl(Declaration):
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
    label: NonEmptyText
    field: RectifiableField | None = None
    values: dict[Annotated[str, Field(min_length=1)], NonEmptyText] = {}
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


class LinkDecl(Declaration):
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


class SuppressionRecordDecl(Declaration):
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


class ErasureDecl(Declaration):
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


class RecipientCategoryDecl(Declaration):
    """A recipient known only as a category ("Din elhandlare"). With ``column`` (of the table
    itself, or ``parent.column`` of its link's parent table), the rows name which one; without,
    a handler notifies whoever it is (Art. 19)."""

    category: NonEmptyText
    column: ColumnReference | None = None


class TableDecl(Declaration):
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
    label: NonEmptyText
    purpose: NonEmptyText
    legal_basis: NonEmptyText
    source: NonEmptyText = "Den registrerade"
    automated_decision: NonEmptyText | None = None
    # Who receives the rows: a name of the recipients register (config/recipients.yaml), or a
    # category, resolved per row through a column where the system knows which one.
    recipients: list[NonEmptyText | RecipientCategoryDecl] = []
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


class ProtectedIdentityDecl(Declaration):
    """The boolean column that tells the subject has skyddade personuppgifter."""

    table: Identifier
    column: Identifier


class PostalAddressDecl(Declaration):
    """Where the subject's registered postal address is: a letter answer goes there."""

    table: Identifier
    name: Identifier
    street: Identifier
    postal_code: Identifier
    city: Identifier


class FlagDecl(Declaration):
    """A boolean column on the subject's own record (a table linked by subject_column)."""

    table: Identifier
    column: Identifier


class ConsentsDecl(Declaration):
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
