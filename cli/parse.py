"""The command line's input, checked before anything is sent: the shape of a case number, a
day, a period, a ground; what only the service knows (the roster, the archive's types, the
law) it checks itself. A refusal is a UserError, one line; what was typed is never repeated
(an identity number typed into the wrong option must not be printed back)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from contract.vocabulary import CASE_NUMBER_PATTERN, RectifiableField, SecrecyGround

STOCKHOLM = ZoneInfo("Europe/Stockholm")


class UserError(Exception):
    """Bad input or a refused action: one line for the person, exit code 1."""


def fail(message: str) -> NoReturn:
    raise UserError(message)


def parse_case_number(text: str) -> str:
    case_number = text.strip().upper()
    if not re.fullmatch(CASE_NUMBER_PATTERN, case_number):
        # The input is not echoed: a handler may paste an identity number here by mistake.
        fail("not a case number (expected DSR-YYYY-NNNNNN)")
    return case_number


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_received(text: str | None) -> str | None:
    """A date (the Stockholm day of receipt) or an ISO instant with a time zone; the service
    refuses one in the future or more than two years ago."""
    if text is None:
        return None
    try:
        if _DAY.fullmatch(text.strip()):
            return date.fromisoformat(text.strip()).isoformat()
        received = datetime.fromisoformat(text.strip())
    except ValueError:
        # Not echoed: an identity number typed into the wrong option must not be repeated.
        fail("received: not a date or an instant (e.g. 2026-03-05 or 2026-03-05T14:30:00+01:00)")
    if received.tzinfo is None:
        fail("received: an instant needs a time zone, e.g. 2026-03-05T14:30:00+01:00")
    return received.isoformat()


def parse_day(text: str, option: str) -> date:
    """A calendar day, YYYY-MM-DD. The input is not echoed (an identity number typed into the
    wrong option must not be repeated)."""
    try:
        if not _DAY.fullmatch(text.strip()):
            raise ValueError(text)
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option}: not a date; write YYYY-MM-DD, e.g. 2024-03-31")


def today() -> date:
    return datetime.now(STOCKHOLM).date()


def parse_past_day(text: str | None, option: str) -> str | None:
    """An optional day that has come (Stockholm): when something reached the company."""
    if text is None:
        return None
    day = parse_day(text, option)
    if day > today():
        fail(f"{option}: that day has not come yet")
    return day.isoformat()


_PERIOD = re.compile(r"([1-9][0-9]{0,2})([dw])")


def parse_period(text: str) -> timedelta:
    """7d, 2w: a period for --due-within."""
    match = _PERIOD.fullmatch(text.strip())
    if match is None:
        fail("--due-within: write a number of days or weeks, e.g. 7d or 2w")
    count, unit = int(match.group(1)), match.group(2)
    return timedelta(days=count * (7 if unit == "w" else 1))


def parse_change(text: str, evidence: str | None) -> dict[str, Any]:
    """FIELD=NEW VALUE; the service puts the value in the form every system keeps it."""
    name, separator, value = text.partition("=")
    if not separator:
        fail("--change: write FIELD=NEW VALUE, e.g. street=Storgatan 1")
    try:
        field = RectifiableField(name.strip())
    except ValueError:
        fail(f"--change: unknown field; use one of {', '.join(f.value for f in RectifiableField)}")
    return {"field": field.value, "new_value": value, "evidence": evidence}


def parse_document_id(text: str, option: str = "document") -> int:
    if not re.fullmatch(r"[1-9][0-9]{0,8}", text.strip()):
        fail(f"{option}: a document id is a number, as `documents` lists it")
    return int(text.strip())


_GROUND = re.compile(r"(?:OSL\s*)?(\d{1,2}\s*:\s*\d{1,3})", re.IGNORECASE)


def parse_ground(text: str, option: str) -> SecrecyGround:
    """A ground in OSL: `OSL 21:3` or just `21:3`."""
    match = _GROUND.fullmatch(text.strip())
    value = "OSL " + re.sub(r"\s", "", match.group(1)) if match else ""
    try:
        return SecrecyGround(value)
    except ValueError:
        fail(f"{option}: unknown ground; use one of {', '.join(g.value for g in SecrecyGround)}")


def parse_mask(text: str) -> dict[str, str]:
    """TEXT=GROUND, split on the last `=` (the part to mask may contain one itself). The part
    is never echoed: it is the secret."""
    part, separator, ground = text.rpartition("=")
    if not separator or not part.strip():
        fail("--mask: write TEXT=GROUND, e.g. 'Storgatan 1, Västerås=OSL 21:3'")
    return {"text": part.strip(), "ground": parse_ground(ground, "--mask").value}


def build_query(
    types: list[str] | None,
    date_from: str | None,
    date_to: str | None,
    party: str | None,
    text: str | None,
) -> dict[str, Any]:
    """The search options as the query the archive is searched with (the service knows the
    archive's document types)."""
    chosen = list(dict.fromkeys(t.strip() for t in types or []))
    start = parse_day(date_from, "--from") if date_from is not None else None
    end = parse_day(date_to, "--to") if date_to is not None else None
    if start and end and start > end:
        fail("--from is after --to: the date range ends before it starts")
    if not (chosen or start or end or party is not None or text is not None):
        fail("say what is asked for: --type, --from/--to, --party or --text")
    return {
        "types": chosen,
        "date_from": start.isoformat() if start else None,
        "date_to": end.isoformat() if end else None,
        "party": party,
        "text": text,
    }


def build_contact(email: str | None, address: list[str], name: str | None) -> dict[str, Any] | None:
    """Where copies are sent: only if the requester gave an address (never required)."""
    if email is None and not address:
        if name is not None:
            fail("--contact-name: give --email or --address too; a name alone is no contact")
        return None
    return {"name": name, "email": email, "postal_address": address}
