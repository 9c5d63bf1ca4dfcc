"""Writing files so that a crash or a retry never leaves half a file behind."""

from __future__ import annotations

import os
from collections.abc import Sequence
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
