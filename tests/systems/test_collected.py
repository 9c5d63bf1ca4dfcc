"""A collected file read without building its long tables' rows (activities/collected.py): what
it gives is what `json.loads` gives, and the answer built from it is the same JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from activities import collected
from activities.collected import RowText, read_collected
from activities.rendering import answer_json
from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS
from systems.catalog import Catalog
from systems.connector import collect_subject

from .conftest import SeededSystems

HEAD = 3


def materialised(value: Any) -> Any:
    """RowText turned into the list of rows it stands for, everywhere in `value`."""
    if isinstance(value, RowText):
        return list(value)
    if isinstance(value, dict):
        return {key: materialised(item) for key, item in value.items()}
    return value


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables of more than 5 rows kept as text, in chunks of 7 rows: the demo's tables then
    take every path (parsed, one chunk, several chunks with a short last one)."""
    monkeypatch.setattr(collected, "PARSED_ROWS_LIMIT", 5)
    monkeypatch.setattr(collected, "CHUNK_ROWS", 7)


@pytest.mark.parametrize("subject", ["tolvan", "karimi"])
async def test_a_collected_file_reads_as_json_loads_reads_it(
    subject: str,
    small_limits: None,
    seeded_systems: SeededSystems,
    catalog: Catalog,
    tmp_path: Path,
) -> None:
    subject_id = {**DEMO_SUBJECTS, **FILLER_SUBJECTS}[subject]
    long_tables = 0
    for name, system in catalog.systems.items():
        destination = tmp_path / f"{name}.json"
        await collect_subject(seeded_systems.engines[name], system, subject_id, destination)
        data = destination.read_bytes()
        read = read_collected(data, HEAD)
        assert materialised(read) == json.loads(data)
        for table in read["tables"].values():
            rows = table["rows"]
            if isinstance(rows, RowText):
                long_tables += 1
                every = list(rows)
                assert len(rows) == len(every) > 5
                assert rows[:HEAD] == every[:HEAD] and rows[0] == every[0]
                assert rows[-1] == every[-1] and rows[2:9] == every[2:9]
    assert long_tables > 0


async def test_the_answer_built_from_text_rows_is_the_same_json(
    small_limits: None, seeded_systems: SeededSystems, catalog: Catalog, tmp_path: Path
) -> None:
    destination = tmp_path / "network.json"
    system = catalog.systems["network"]
    await collect_subject(
        seeded_systems.engines["network"], system, FILLER_SUBJECTS["karimi"], destination
    )
    data = destination.read_bytes()

    def answer(tables: dict[str, Any]) -> dict[str, Any]:
        return {
            "case_number": "DSR-2026-000001",
            "systems": [
                {"system": "network", "tables": [{"table": n, **t} for n, t in tables.items()]}
            ],
        }

    read = read_collected(data, HEAD)["tables"]
    assert any(isinstance(table["rows"], RowText) for table in read.values())
    as_text = answer_json(answer(read))
    as_rows = answer_json(answer(json.loads(data)["tables"]))
    assert json.loads(as_text) == json.loads(as_rows)
    assert any(
        isinstance(t["rows"], RowText) for t in read_collected(data, HEAD)["tables"].values()
    )


def test_rows_with_the_frames_text_in_their_values_stay_rows(small_limits: None) -> None:
    tricky = [
        {"note": "]}", "n": n, "text": '"rows": [\n}}\n,', "name": "Åsa Öberg 😀"}
        for n in range(12)
    ]
    text = (
        '{"system": "x", "title": "X", "tables": {\n"t": {"label": "T", "rows": ['
        + ",".join("\n" + json.dumps(row, ensure_ascii=False) for row in tricky)
        + '\n]},\n"empty": {"label": "E", "rows": [\n]}\n}}\n'
    )
    data = text.encode()
    read = read_collected(data, HEAD)
    assert isinstance(read["tables"]["t"]["rows"], RowText)
    assert materialised(read) == json.loads(data)
    assert read["tables"]["empty"]["rows"] == []


def test_a_file_in_another_layout_is_read_whole() -> None:
    content = {"system": "x", "title": "X", "tables": {"t": {"label": "T", "rows": [{"a": 1}]}}}
    for data in (json.dumps(content, indent=2).encode(), json.dumps(content).encode()):
        assert read_collected(data, HEAD) == content
