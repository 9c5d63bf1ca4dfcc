"""The fields a subject may have corrected (Art. 16), with the one check of a new value."""

from __future__ import annotations

import re
from typing import Literal, get_args

from contract.addresses import is_one_address

# The logical fields a subject may have rectified (Art. 16), whatever a system calls its columns.
RectifiableField = Literal["name", "street", "postal_code", "city", "email", "phone"]
RECTIFIABLE_FIELDS: tuple[RectifiableField, ...] = get_args(RectifiableField)
_MAX_LENGTH: dict[str, int] = {
    "name": 100,
    "street": 100,
    "postal_code": 6,
    "city": 60,
    "email": 254,
    "phone": 16,
}
_POSTAL_CODE = re.compile(r"[1-9][0-9]{4}")
_PHONE_PUNCTUATION = re.compile(r"[\s\-()./]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def validate_rectification(field: str, value: str) -> str:
    """The new value for a logical field, normalised; ValueError("<field>: ...") if it is wrong.

    The message never repeats the value: it ends up in workflow history and logs. Whitespace is
    trimmed and collapsed. Postal codes become ``123 45``. Phone numbers become E.164 without
    spaces: a Swedish number (``070-123 45 67``, ``0046 70...``, ``+46 70...``) becomes
    ``+46701234567``, and a foreign one must be given with its country code (``+48 600...``).
    """
    if field not in RECTIFIABLE_FIELDS:
        raise ValueError(f"field: not one of {', '.join(RECTIFIABLE_FIELDS)}")
    if _CONTROL.search(value):
        raise ValueError(f"{field}: contains control characters")
    text = " ".join(value.split())
    if not text:
        raise ValueError(f"{field}: must not be empty")
    if field == "postal_code":
        text = _normalise_postal_code(text)
    elif field == "phone":
        text = _normalise_phone(text)
    elif field == "email":
        # Too long is said below, as for every field.
        if len(text) <= _MAX_LENGTH[field] and not is_one_address(text):
            raise ValueError("email: is not one e-mail address (name@domain.se)")
        local, domain = text.rsplit("@", 1)
        text = f"{local}@{domain.lower()}"
    elif not any(character.isalpha() for character in text):
        raise ValueError(f"{field}: must contain letters")
    if len(text) > _MAX_LENGTH[field]:
        raise ValueError(f"{field}: longer than {_MAX_LENGTH[field]} characters")
    return text


def _normalise_postal_code(text: str) -> str:
    digits = text.replace(" ", "")
    if not _POSTAL_CODE.fullmatch(digits):
        raise ValueError("postal_code: expected five digits, the first not 0 (123 45)")
    return f"{digits[:3]} {digits[3:]}"


def _normalise_phone(text: str) -> str:
    compact = _PHONE_PUNCTUATION.sub("", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("0"):
        digits = "46" + compact[1:]
    else:
        raise ValueError("phone: give a Swedish number from 0 or a number with its country code")
    if not digits.isdigit():
        raise ValueError("phone: may only contain digits, spaces, hyphens and a leading +")
    if digits.startswith("46"):
        national = digits[2:]
        # Swedish national significant numbers are 7-9 digits after the trunk 0.
        if national.startswith("0") or not 7 <= len(national) <= 9:
            raise ValueError("phone: a Swedish number has 8-10 digits including the leading 0")
    elif not 8 <= len(digits) <= 15:
        raise ValueError("phone: an international number has 8-15 digits after the +")
    return "+" + digits
