"""Masking parts of a document's text: every occurrence, whatever its case or line breaks.

A reviewer names a part as it reads in the document ("Sanna Ek", "Gläntans väg 6, 753 20
Uppsala"). The same words may stand elsewhere in capitals ("SANNA EK"), split over two lines or
with two spaces between them, or with a letter written in another Unicode form. Masking matches
on the normalised form (Unicode NFC, case folded, any run of white space as one), so a part is
removed wherever it occurs; a part that would be missed by an exact comparison is the one that
leaks (OSL 21:3, GDPR Art. 15(4)). Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence


def normalised(text: str) -> str:
    """NFC, as every comparison here sees the text (what a reader sees is unchanged)."""
    return unicodedata.normalize("NFC", text)


def part_pattern(part: str) -> re.Pattern[str] | None:
    """A pattern that finds `part` in any case, its words separated by any white space (line
    breaks, several spaces, a no-break space); None for a part of white space only."""
    words = normalised(part).split()
    if not words:
        return None
    return re.compile(r"\s+".join(re.escape(word) for word in words), re.IGNORECASE)


def occurrences(text: str, part: str) -> int:
    """How many times `part` occurs in `text` as masking finds it."""
    pattern = part_pattern(part)
    return 0 if pattern is None else len(pattern.findall(normalised(text)))


def mask_parts(text: str, parts: Iterable[tuple[str, str]]) -> str:
    """`text` with every occurrence of each part replaced by its replacement, longest parts
    first, so a part inside another is not left half-masked. `parts` are (part, replacement)."""
    result = normalised(text)
    ordered: Sequence[tuple[str, str]] = sorted(
        parts, key=lambda item: len(" ".join(item[0].split())), reverse=True
    )
    for part, replacement in ordered:
        pattern = part_pattern(part)
        if pattern is not None:
            # Escaped, not a template: a backslash in the replacement stays a backslash.
            result = pattern.sub(replacement.replace("\\", "\\\\"), result)
    return result
