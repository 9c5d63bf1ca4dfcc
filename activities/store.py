"""The extract store: collected data and built extracts live here; history carries references."""

from __future__ import annotations

import re
from pathlib import Path

from dsr.files import write_atomically

_REF = re.compile(r"^DSR-\d{4}-\d{6}/v\d+/[A-Za-z0-9_.-]+$")


class ExtractStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def ref(self, case_number: str, version: int, name: str) -> str:
        ref = f"{case_number}/v{version}/{name}"
        self._check(ref)
        return ref

    def path(self, ref: str) -> Path:
        self._check(ref)
        return self.root / ref

    def writable(self, ref: str) -> Path:
        path = self.path(ref)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write(self, ref: str, content: bytes | str) -> None:
        """Write a file of the store whole or not at all (a retried activity rewrites it)."""
        write_atomically(self.writable(ref), content)

    @staticmethod
    def _check(ref: str) -> None:
        if not _REF.match(ref):
            raise ValueError(f"not an extract store reference: {ref!r}")
