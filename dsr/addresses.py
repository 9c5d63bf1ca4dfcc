"""One e-mail address, exactly: the check every address the engine mails to passes.

Deliberately plain and strict. The local part is RFC 5322's dot-atom (no quoting, no spaces,
no commas, no angle brackets) and the domain is labels of letters, digits and hyphens (Swedish
letters too) ending in a top-level domain of letters. So "a@b.se,root" or "a@b.se; c@d.se",
which a mail server reads as two recipients, are refused, as are display names and control
characters. Deliverability stays the mail server's business.
"""

from __future__ import annotations

import re

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[^\W\d_]{{2,63}}")
MAX_LENGTH = 254  # RFC 5321 section 4.5.3.1.3: a path of 256 octets, less the angle brackets


def one_address(text: str) -> str:
    """`text` if it is one e-mail address; ValueError otherwise. The message never repeats the
    value (it may reach a log)."""
    if not is_one_address(text):
        raise ValueError("not one e-mail address (name@domain.se)")
    return text


def is_one_address(text: str) -> bool:
    return len(text) <= MAX_LENGTH and _ADDRESS.fullmatch(text) is not None
