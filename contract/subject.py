"""Swedish identity numbers (personnummer, samordningsnummer) of data subjects.

Error messages never repeat the number: they end up in logs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

from stdnum import luhn

# [0-9], not \d: \d also matches non-ASCII digits, which int() would happily accept.
_ALLOWED = re.compile(r"[0-9]*[-+]?[0-9]*")
_CANONICAL = re.compile(r"[0-9]{12}")
_COORDINATION_DAY_OFFSET = 60
# The centuries a 12-digit number can name: nobody alive was born before 1800 or after 2099.
_CENTURIES = ("18", "19", "20")


def parse_subject_id(text: str, *, today: date | None = None) -> str:
    """Return the canonical 12-digit form ``YYYYMMDDNNNC`` of a personnummer or samordningsnummer.

    Accepts 10 or 12 digits, with or without a '-' or '+' before the last four digits. In the
    10-digit form the separator tells the century (Folkbokföringslagen 18 §): '+' from the year
    the person turns 100, '-' (or none) before it. So on 1 March 2025 "250615+1238" was born in
    1925 and "250615-1238" would be born in June 2025, which is impossible. In the 12-digit form
    the century is written out, and only 18, 19 and 20 can be one.
    """
    today = today or date.today()
    stripped = text.strip()
    if not _ALLOWED.fullmatch(stripped):
        raise ValueError("identity number: only digits and one '-' or '+' are allowed")
    separator = next((c for c in stripped if c in "-+"), "")
    digits = stripped.replace(separator, "") if separator else stripped
    if len(digits) not in (10, 12):
        raise ValueError("identity number: must have 10 or 12 digits")
    if separator and stripped.index(separator) != len(stripped) - 5:
        raise ValueError("identity number: the '-' or '+' must stand before the last four digits")
    if len(digits) == 12:
        if digits[:2] not in _CENTURIES:
            raise ValueError("identity number: a 12-digit number starts with 18, 19 or 20")
        year = int(digits[:4])
    else:
        year = _infer_year(digits[:6], centenarian=separator == "+", today=today)
    canonical = f"{year:04d}{digits[-8:]}"
    birth_date = _birth_date(canonical)
    if birth_date > today:
        raise ValueError("identity number: impossible date (birth date is in the future)")
    if luhn.checksum(canonical[2:]) != 0:
        raise ValueError("identity number: check digit is wrong")
    return canonical


def is_coordination_number(canonical: str) -> bool:
    """Whether a canonical number is a samordningsnummer (day of birth + 60)."""
    _require_canonical(canonical)
    return int(canonical[6:8]) > _COORDINATION_DAY_OFFSET


def subject_reference(canonical: str, secret: str | bytes) -> str:
    """Keyed reference (HMAC-SHA256, hex) that the case register stores instead of the number."""
    _require_canonical(canonical)
    key = secret.encode() if isinstance(secret, str) else secret
    if not key:
        # Without a key the reference is a plain hash, reversible by trying all numbers.
        raise ValueError("subject reference: the secret must not be empty")
    return hmac.new(key, canonical.encode("ascii"), hashlib.sha256).hexdigest()


def _infer_year(yymmdd: str, *, centenarian: bool, today: date) -> int:
    """The century of a 10-digit number (Folkbokföringslagen 18 §): '-' stands until the
    calendar year the person turns 100, '+' from that year on. A '-' number is born in this
    year or one of the 99 before it; a '+' number a century earlier. The day of birth does not
    matter, only the year the number is read in."""
    year = today.year - (today.year - int(yymmdd[:2])) % 100
    return year - 100 if centenarian else year


def _birth_date(canonical: str) -> date:
    year, month, day = int(canonical[:4]), int(canonical[4:6]), int(canonical[6:8])
    if day > _COORDINATION_DAY_OFFSET:
        day -= _COORDINATION_DAY_OFFSET
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError("identity number: impossible date") from None


def _require_canonical(canonical: str) -> None:
    if not _CANONICAL.fullmatch(canonical):
        raise ValueError("identity number: expected the canonical 12-digit form")
