"""The GDPR answer deadline (Art. 12(3)) on the Swedish calendar.

Art. 12(3) GDPR with Reg. 1182/71 and EDPB guidelines 01/2022. Pure functions: the holiday
table comes from the pinned `holidays` package, so compute dates in activities, not workflows,
lest a package upgrade change a running case's replay.
"""

from __future__ import annotations

import calendar
import functools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def gdpr_deadline(received: date | datetime, *, extended: bool = False) -> date:
    """Last day to answer a request received at `received` (one month, three if extended).

    A `datetime` must be aware and is turned into the Stockholm date; a `date` is taken as the
    Stockholm date already.
    """
    start = _stockholm_date(received)
    end = _add_months(start, 3 if extended else 1)
    while not is_gdpr_working_day(end):
        end += timedelta(days=1)
    return end


def is_gdpr_working_day(d: date) -> bool:
    """Monday to Friday and not a Swedish public holiday (the eves are working days)."""
    return d.weekday() < 5 and d not in _public_holidays(d.year)


def deadline_end(d: date) -> datetime:
    """The deadline instant: the end of day `d` in Stockholm, 23:59:59."""
    return datetime.combine(d, time(23, 59, 59), tzinfo=STOCKHOLM)


def _stockholm_date(received: date | datetime) -> date:
    # datetime is a subclass of date, so it must be tested first.
    if isinstance(received, datetime):
        if received.tzinfo is None or received.utcoffset() is None:
            raise ValueError("received: a datetime must carry a time zone")
        return received.astimezone(STOCKHOLM).date()
    return received


def _add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last_day))


@functools.lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    # Default PUBLIC category = Lag (1989:253). Midsummer, Christmas and New Year's Eve are only
    # in the DE_FACTO category, so they stay working days (tests pin this).
    return frozenset(holidays.country_holidays("SE", years=year))
