"""The case register: typed SQLAlchemy 2 models and the engine factory (used from activities)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware on the way in and out, on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the case register")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CaseCounter(Base):
    """The last case number handed out per year, incremented in the inserting transaction."""

    __tablename__ = "case_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, nullable=False)


class Case(Base):
    __tablename__ = "cases"
    # The open cases (closed_at NULL) in deadline order: the console's inbox, a page a query.
    __table_args__ = (Index("ix_cases_open_by_deadline", "closed_at", "deadline", "case_number"),)

    case_number: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    deadline: Mapped[date] = mapped_column(Date, nullable=False)
    state: Mapped[str] = mapped_column(String(32), nullable=False)
    assignee: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(32))
    # HMAC of the identity number: lets intake find an open case without storing the number.
    subject_ref: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    # Set while the case is open, NULL once closed: the unique index makes intake idempotent
    # (one open case per subject and kind) even for two submissions racing each other.
    open_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    intake_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", lazy="raise", order_by="CaseEvent.id"
    )


class CaseEvent(Base):
    """Append-only trail: who did what, when, from which state to which."""

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_number", "step", name="uq_case_events_step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_number: Mapped[str] = mapped_column(ForeignKey("cases.case_number"), nullable=False)
    step: Mapped[int] = mapped_column(Integer, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32), nullable=False)
    detail: Mapped[dict[str, str] | None] = mapped_column(JSON)

    case: Mapped[Case] = relationship(back_populates="events", lazy="raise")


class PublicEntry(Base):
    """The public part of a public-access case's register entry (diarium): who asked, as they
    chose to be named ("anonymous" if not), and a short description with nothing secret or
    personal. Its own table, so registers made before public access need no change."""

    __tablename__ = "public_entries"

    case_number: Mapped[str] = mapped_column(ForeignKey("cases.case_number"), primary_key=True)
    sender: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False)


class AuditLink(Base):
    """The hash chain over a case's trail (see infra/audit.py): one link per `case_events` row.
    A table of its own, so registers made before the chain need no change."""

    __tablename__ = "audit_links"

    event_id: Mapped[int] = mapped_column(ForeignKey("case_events.id"), primary_key=True)
    case_number: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditMeta(Base):
    """When the register began chaining its trail: cases created since must be fully chained
    (an unlinked row of theirs is a removed link, not an old row)."""

    __tablename__ = "audit_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_since: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class RestrictionHold(Base):
    """One case's reason to keep a subject's processing restricted (Art. 18, or the kept parts
    of an erasure). The flags in the systems come off only when the last hold is released, so
    lifting one case's restriction never lifts another's."""

    __tablename__ = "restriction_holds"
    __table_args__ = (UniqueConstraint("subject_ref", "case_number", name="uq_holds_case"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_ref: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    case_number: Mapped[str] = mapped_column(ForeignKey("cases.case_number"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


def create_engine(url: str, *, own_database: bool = True) -> AsyncEngine:
    """An async engine that never puts bound values (identity numbers) into error messages.

    `own_database` is false for the connected systems: the engine must not change their
    settings (SQLite's journal mode is stored in the file). Foreign keys are enforced on every
    SQLite connection (a per-connection setting, stored nowhere), as any other database does.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            if own_database:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)


async def create_schema(engine: AsyncEngine) -> None:
    """Bring the register's schema to the code's revision (the migrations of infra/schema.py):
    what `python -m infra.migrate upgrade` does, for the embedded stack and the tests."""
    from infra.schema import upgrade  # the migrations import this module's models

    await upgrade(engine)


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
