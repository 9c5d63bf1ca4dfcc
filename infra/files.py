"""Writing files so that a crash or a retry never leaves half a file behind, and deleting
them so that a deletion that failed is never counted as done."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path


def write_atomically(
    path: Path, content: bytes | str | Sequence[bytes], *, private: bool = False
) -> None:
    """Write next to the target, then rename over it (atomic on one file system). `private`
    files are readable by their owner only, from the moment they exist. `content` may come in
    parts, written one after the other (a large file is never joined in memory)."""
    temporary = path.with_name(f".{path.name}.tmp")
    if isinstance(content, str):
        parts: Sequence[bytes] = [content.encode("utf-8")]
    elif isinstance(content, bytes):
        parts = [content]
    else:
        parts = content
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(temporary, flags, 0o600 if private else 0o666)
    with os.fdopen(descriptor, "wb") as file:
        if private:
            os.fchmod(file.fileno(), 0o600)  # a leftover temporary kept its old mode
        for part in parts:
            file.write(part)
    os.replace(temporary, path)


def remove(paths: Iterable[Path]) -> int:
    """Delete files and folders; returns how many files went (a folder counts those under it,
    a missing path nothing). A file that cannot be deleted raises (OSError) rather than being
    passed over: whoever asked (an extract's disposal, GDPR art. 5(1)(e)) retries, and never
    records as deleted what is still on disk."""
    count = 0
    for path in paths:
        if path.is_dir():
            count += sum(1 for inner in path.rglob("*") if not inner.is_dir())
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink(missing_ok=True)
            count += 1
    return count
