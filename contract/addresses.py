"""One e-mail address, exactly: the check every address the engine mails to passes.

Deliberately plain and strict. The local part is RFC 5322's dot-atom (no quoting, no spaces,
no commas, no angle brackets, no encoded words) and the domain is labels of letters, digits and
hyphens (the Latin alphabets' letters too, å, ä and ö among them) ending in a top-level domain
that starts with a letter. So "a@b.se,root" or "a@b.se; c@d.se",
which a mail server reads as two recipients, are refused, as are display names and control
characters. Deliverability stays the mail server's business.
"""

from __future__ import annotations

import re

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
# Letters and digits of the Latin alphabets (å, ä, ö, é, ü ...), not every Unicode letter:
# "b⑴" or "b⒈se" would be rewritten by IDNA into another domain than the one checked.
_ALNUM = "A-Za-z0-9À-ÖØ-öø-ÿ"
_LABEL = rf"[{_ALNUM}](?:[{_ALNUM}-]{{0,61}}[{_ALNUM}])?"
_TOP = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+{_TOP}")
MAX_LENGTH = 254  # RFC 5321 section 4.5.3.1.3: a path of 256 octets, less the angle brackets


def one_address(text: str) -> str:
    """`text` if it is one e-mail address; ValueError otherwise. The message never repeats the
    value (it may reach a log)."""
    if not is_one_address(text):
        raise ValueError("not one e-mail address (name@domain.se)")
    return text


def is_one_address(text: str) -> bool:
    # "=?" opens an encoded word (RFC 2047), which a mail library decodes into other
    # characters, recipients included, than the ones checked here.
    return len(text) <= MAX_LENGTH and "=?" not in text and _ADDRESS.fullmatch(text) is not None
