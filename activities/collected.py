"""Reading a collected file (systems/connector.py's `collect_subject`) without building every
row: a long table's rows stay the JSON text the connector wrote, in chunks, and only the first
of them are parsed (the HTML letter shows those). Ten years of meter readings are 350,400 rows:
as Python dicts they cost the worker more memory than the whole rest of the extract.

The connector writes one row a line::

    {"system": ..., "title": ..., "tables": {
    "customers": {"label": ..., "rows": [
    {...},
    {...}
    ]},
    "meter_readings": {"label": ..., "rows": [
    ...
    ]}
    }}

and JSON strings cannot hold a raw line break, so a line is a row or a piece of the frame. A
file that does not have this layout is parsed whole with `json.loads`, as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, overload

# Tables with more rows than this keep their rows as text.
PARSED_ROWS_LIMIT = 10_000
# Rows joined into one chunk of text at a time.
CHUNK_ROWS = 5_000

Row = dict[str, Any]


class RowText(Sequence[Row]):
    """A table's rows as JSON text (chunks of rows joined by commas, UTF-8), with the first
    `len(head)` rows parsed. Indexing within the head is free; anything else parses the text."""

    def __init__(self, chunks: list[bytes], count: int, head: list[Row]) -> None:
        self.chunks = chunks
        self._count = count
        self._head = head

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Row]:
        for chunk in self.chunks:
            yield from json.loads(b"[" + chunk + b"]")

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...

    def __getitem__(self, index: int | slice) -> Row | list[Row]:
        wanted = range(self._count)[index]
        within = (
            all(i < len(self._head) for i in wanted)
            if isinstance(wanted, range)
            else wanted < len(self._head)
        )
        rows: list[Row] = self._head if within else list(self)
        return [rows[i] for i in wanted] if isinstance(wanted, range) else rows[wanted]


class _NotTheLayout(ValueError):
    pass


def read_collected(data: bytes, head_rows: int) -> dict[str, Any]:
    """The collected file as `json.loads` gives it, except that a table of more than
    PARSED_ROWS_LIMIT rows has a RowText (its first `head_rows` parsed) for its rows."""
    try:
        return _read_lines(data, head_rows)
    except (_NotTheLayout, json.JSONDecodeError):
        parsed: dict[str, Any] = json.loads(data)
        return parsed


def _lines(data: bytes) -> Iterator[bytes]:
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        if end < 0:
            end = len(data)
        yield data[start:end]
        start = end + 1


def _read_lines(data: bytes, head_rows: int) -> dict[str, Any]:
    lines = _lines(data)
    first = next(lines, b"")
    if not (first.startswith(b'{"system": ') and first.endswith(b'"tables": {')):
        raise _NotTheLayout("no header")
    collected: dict[str, Any] = json.loads(first + b"}}")
    tables: dict[str, Any] = collected["tables"]
    ended = False
    for line in lines:
        if ended:
            if line.strip():
                raise _NotTheLayout("text after the end")
            continue
        if line == b"}}":
            ended = True
        elif line.endswith(b'"rows": ['):
            section: dict[str, Any] = json.loads(b"{" + line + b"]}}")
            if len(section) != 1:
                raise _NotTheLayout("a table header names one table")
            [(name, table)] = section.items()
            table["rows"] = _read_rows(lines, head_rows)
            tables[name] = table
        elif line not in (b",", b""):
            raise _NotTheLayout("a line outside a table")
    if not ended:
        raise _NotTheLayout("no end")
    return collected


def _read_rows(lines: Iterator[bytes], head_rows: int) -> list[Row] | RowText:
    chunks: list[bytes] = []
    batch: list[bytes] = []
    head: list[bytes] = []
    count = 0
    for line in lines:
        if line in (b"]}", b"]},"):
            break
        row = line[:-1] if line.endswith(b",") else line
        if not (row.startswith(b"{") and row.endswith(b"}")):
            raise _NotTheLayout("a row line that is not an object")
        if len(head) < head_rows:
            head.append(row)
        batch.append(row)
        count += 1
        if len(batch) == CHUNK_ROWS:
            chunks.append(b",".join(batch))
            batch = []
    else:
        raise _NotTheLayout("a table without its end")
    if batch:
        chunks.append(b",".join(batch))
    if count <= PARSED_ROWS_LIMIT:
        rows: list[Row] = json.loads(b"[" + b",".join(chunks) + b"]")
        return rows
    return RowText(chunks, count, json.loads(b"[" + b",".join(head) + b"]"))
