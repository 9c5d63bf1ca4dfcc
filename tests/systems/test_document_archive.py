"""The document archive: the declaration loads, the demo archive is seeded, and a search finds
exactly the documents a requester describes, by type, date, party and text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from demo.archive import PROTECTED_ADDRESS, seed_archive
from infra.config import Settings
from infra.db import create_engine
from infra.masking import occurrences
from systems.document_archive import (
    MAX_HITS,
    ArchiveDecl,
    ArchiveError,
    DocumentSearch,
    document_text,
    load_archive,
    search_documents,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def decl() -> ArchiveDecl:
    return load_archive()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def archive(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[AsyncEngine, dict[str, list[int]]]]:
    url = Settings(var_dir=tmp_path_factory.mktemp("archive")).archive_url
    kinds = await seed_archive(url)
    engine = create_engine(url, own_database=False)
    try:
        yield engine, kinds
    finally:
        await engine.dispose()


async def rows(engine: AsyncEngine, sql: str, **params: object) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(sa.text(sql), params)).all()]


async def test_the_demo_archive_holds_every_type_and_every_kind_of_secret(
    archive: tuple[AsyncEngine, dict[str, list[int]]], decl: ArchiveDecl
) -> None:
    engine, kinds = archive
    assert sum(len(ids) for ids in kinds.values()) == 302  # and two that name a customer
    assert all(kinds[k] for k in ("plain", "personal", "protected_address", "trade"))
    types = {t for (t,) in await rows(engine, "SELECT DISTINCT doc_type FROM documents")}
    assert types == set(decl.document_types)
    protected = kinds["protected_address"][0]
    # Written over two lines, as a letter would be: masking must find it all the same.
    text = await document_text(engine, decl, protected)
    assert PROTECTED_ADDRESS not in text and occurrences(text, PROTECTED_ADDRESS) == 1


async def test_a_search_finds_exactly_what_was_asked_for(
    archive: tuple[AsyncEngine, dict[str, list[int]]], decl: ArchiveDecl
) -> None:
    engine, _ = archive
    # The oracle: the same question asked of the table directly.
    expected = {
        i
        for (i,) in await rows(
            engine,
            "SELECT document_id FROM documents WHERE doc_type = 'outage_report' "
            "AND document_date BETWEEN '2022-01-01' AND '2023-12-31'",
        )
    }
    found = await search_documents(
        engine,
        decl,
        DocumentSearch(
            types={"outage_report"}, date_from=date(2022, 1, 1), date_to=date(2023, 12, 31)
        ),
    )
    assert expected and {d.document_id for d in found} == expected
    assert [d.date for d in found] == sorted(d.date for d in found), "oldest first"
    assert all(d.type == "outage_report" and d.pages >= 1 for d in found)

    by_party = await search_documents(engine, decl, DocumentSearch(party="elnätsentreprenad ab"))
    assert by_party and all(d.type == "contractor_agreement" for d in by_party)
    by_text = await search_documents(engine, decl, DocumentSearch(text="grävskada"))
    assert by_text and all(d.type == "outage_report" for d in by_text)


async def test_free_text_matches_literally_and_the_result_is_bounded(
    archive: tuple[AsyncEngine, dict[str, list[int]]], decl: ArchiveDecl
) -> None:
    engine, _ = archive
    # "%" and "_" are text, not wildcards: nothing in the archive contains "_%_".
    assert await search_documents(engine, decl, DocumentSearch(text="_%_")) == []
    rabatt = await search_documents(engine, decl, DocumentSearch(text="rabattsats"))
    assert rabatt
    assert len(await search_documents(engine, decl, DocumentSearch())) == MAX_HITS


@pytest.mark.parametrize(
    ("search", "message"),
    [
        (
            lambda: DocumentSearch(date_from=date(2024, 1, 2), date_to=date(2024, 1, 1)),
            "ends before",
        ),
        (lambda: DocumentSearch(party="x"), "party must be 2-200 characters"),
        (lambda: DocumentSearch(text="y" * 201), "text must be 2-200 characters"),
    ],
)
async def test_a_bad_search_is_refused_clearly(search: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        search()  # type: ignore[operator]


async def test_unknown_types_and_documents_are_refused(
    archive: tuple[AsyncEngine, dict[str, list[int]]], decl: ArchiveDecl
) -> None:
    engine, _ = archive
    with pytest.raises(ValueError, match="unknown document type memo"):
        await search_documents(engine, decl, DocumentSearch(types={"memo"}))
    with pytest.raises(LookupError, match="document 99999 is not in the archive"):
        await document_text(engine, decl, 99999)


async def test_a_bad_declaration_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "documents.yaml"
    text = Path(__file__).resolve().parents[2].joinpath("systems/archive/documents.yaml")
    bad.write_text(text.read_text().replace("  type: doc_type", "  type: doc type"))
    with pytest.raises(ArchiveError, match="documents.yaml: columns.type"):
        load_archive(bad)
