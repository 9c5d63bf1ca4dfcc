"""The demo databases: deterministic, valid identity numbers, and a manifest that adds up."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlalchemy as sa
from stdnum import luhn

from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS
from demo.schemas import SYSTEM_TABLES
from demo.systems import REFERENCE_DAY, default_urls, seed_demo_systems
from tests.databases import sync_url, system_urls

from .conftest import SeededSystems

Dump = dict[str, dict[str, list[tuple[object, ...]]]]


def _dump(urls: dict[str, str]) -> Dump:
    """Every row of every demo table, raw from the database, in primary-key order."""
    dump: Dump = {}
    for system, metadata in SYSTEM_TABLES.items():
        engine = sa.create_engine(sync_url(urls[system]))
        try:
            with engine.connect() as conn:
                dump[system] = {
                    name: [
                        tuple(row)
                        for row in conn.execute(
                            sa.text(
                                f"SELECT * FROM {name} ORDER BY {table.primary_key.columns[0].name}"
                            )
                        )
                    ]
                    for name, table in metadata.tables.items()
                }
        finally:
            engine.dispose()
    return dump


def _is_valid_identity_number(number: str) -> bool:
    if len(number) != 12 or not number.isdigit() or not luhn.is_valid(number[2:]):
        return False
    day = int(number[6:8])
    if day > 60:  # samordningsnummer
        day -= 60
    try:
        born = date(int(number[:4]), int(number[4:6]), day)
    except ValueError:
        return False
    return born <= REFERENCE_DAY


async def test_seeding_twice_gives_identical_data(
    seeded_systems: SeededSystems, tmp_path: Path
) -> None:
    urls = system_urls(tmp_path)
    first = await seed_demo_systems(urls)
    assert _dump(urls) == _dump(seeded_systems.urls)
    # Again over the existing files: drop and recreate, not append.
    second = await seed_demo_systems(urls)
    assert _dump(urls) == _dump(seeded_systems.urls)
    assert first == second == seeded_systems.manifest


def test_default_urls_are_absolute_sqlite_files(tmp_path: Path) -> None:
    urls = default_urls(tmp_path)
    assert sorted(urls) == ["billing", "disclosure", "marketing", "network"]
    assert urls["billing"] == f"sqlite+aiosqlite:///{tmp_path.resolve()}/systems/billing.db"


def test_every_identity_number_is_valid(seeded_systems: SeededSystems) -> None:
    numbers = set(DEMO_SUBJECTS.values()) | set(FILLER_SUBJECTS.values())
    for system, tables in _dump(seeded_systems.urls).items():
        for name, rows in tables.items():
            columns = list(SYSTEM_TABLES[system].tables[name].c.keys())
            if "personal_number" in columns:
                index = columns.index("personal_number")
                numbers |= {row[index] for row in rows if row[index] is not None}
    invalid = sorted(n for n in numbers if not _is_valid_identity_number(n))
    assert not invalid
    assert DEMO_SUBJECTS["tolvan"] == "191212121212"
    assert int(DEMO_SUBJECTS["coordination"][6:8]) > 60


def test_the_manifest_covers_everyone_and_every_table(seeded_systems: SeededSystems) -> None:
    manifest = seeded_systems.manifest
    assert set(manifest.subjects) == set(DEMO_SUBJECTS.values()) | set(FILLER_SUBJECTS.values())
    for systems in manifest.subjects.values():
        assert {s: set(t) for s, t in systems.items()} == {
            s: set(md.tables) for s, md in SYSTEM_TABLES.items()
        }
    unknown = manifest.subjects[DEMO_SUBJECTS["unknown"]]
    assert not any(keys for tables in unknown.values() for keys in tables.values())
    marketing_only = manifest.subjects[DEMO_SUBJECTS["marketing_only"]]
    assert [s for s, t in marketing_only.items() if any(t.values())] == ["marketing"]
    tolvan = manifest.subjects[DEMO_SUBJECTS["tolvan"]]
    assert len(tolvan["network"]["meter_readings"]) == 2 * 365 * 24
    assert all(tolvan[s][t] for s, t in [
        ("billing", "credit_checks"), ("network", "fibre_connections"),
        ("marketing", "consents"), ("marketing", "shared_with_providers"),
    ])  # fmt: skip
    assert len(tolvan["disclosure"]["disclosures"]) == 3


def test_every_row_of_a_directly_linked_table_has_an_owner(seeded_systems: SeededSystems) -> None:
    """Filler rows are owned too: the manifest does not just skip what it does not know."""
    dump = _dump(seeded_systems.urls)
    for system, table in [("billing", "customers"), ("network", "network_customers")]:
        owned = set().union(*(s[system][table] for s in seeded_systems.manifest.subjects.values()))
        assert owned == {row[0] for row in dump[system][table]}
