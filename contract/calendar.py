"""Legal deadlines on the Swedish calendar: the GDPR month and the periods of Swedish law.

Two calendars. GDPR periods (Art. 12(3)) follow Reg. 1182/71 and EDPB guidelines 01/2022: a
period ending on a Saturday, Sunday or public holidays (Lag 1989:253) ends on the next working
day; the eves are working days. Periods in Swedish law (an appeal's three weeks, "within one
working day") follow Lag 1930:173, where Midsummer Eve, Christmas Eve and New Year's Eve count
as holidays too.

Pure functions: the holiday table comes from the pinned `holidays` package, so compute dates in
activities, not workflows, lest a package upgrade change a running case's replay.
"""

from __future__ import annotations

import calendar
import functools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

STOCKHOLM = ZoneInfo("Europe/Stockholm")


class HolidayTableError(ValueError):
    """A date beyond the pinned holiday table: no retry can compute it (a package upgrade, and
    a patch, can)."""


def gdpr_deadline(
    received: date | datetime, *, extended: bool = False, paused_days: int = 0
) -> date:
    """Last day to answer a request received at `received` (one month, two more if extended).

    A `datetime` must be aware and is turned into the Stockholm date; a `date` is taken as the
    Stockholm date already. The extension's two further months (Art. 12(3)) count from the end
    of the first month, the conservative reading: received 31 Jan, the month ends 28 Feb, and
    two months later is 28 Apr (not 30 Apr); the first month's end is not moved to a working
    day before the two months are added. `paused_days` are the days the clock stood still while
    the company waited for identity proof or a clarification: the period ends that many days
    later, and is then moved to a working day like any other (Reg. 1182/71 art. 3(4)).
    """
    if paused_days < 0:
        raise ValueError("paused_days: cannot be negative")
    start = _stockholm_date(received)
    end = _add_months(start, 1)
    if extended:
        end = _add_months(end, 2)
    end += timedelta(days=paused_days)
    while not is_gdpr_working_day(end):
        end += timedelta(days=1)
    return end


def is_gdpr_working_day(d: date) -> bool:
    """Monday to Friday and not a Swedish public holiday (the eves are working days)."""
    return d.weekday() < 5 and d not in _public_holidays(d.year)


def last_gdpr_working_day_until(d: date) -> date:
    """`d`, or the working day before it when `d` is a weekend or a public holiday: a reminder
    that would fall on a day off is sent the working day before, never after."""
    while not is_gdpr_working_day(d):
        d -= timedelta(days=1)
    return d


def gdpr_working_days_after(start: date, end: date) -> int:
    """GDPR working days after `start` up to and including `end` (0 if `end` <= `start`):
    "asked within three working days of receipt" is `gdpr_working_days_after(received, asked)
    <= 3`."""
    return sum(
        1
        for offset in range(1, (end - start).days + 1)
        if is_gdpr_working_day(start + timedelta(days=offset))
    )


def is_swedish_working_day(d: date) -> bool:
    """A working day under Lag 1930:173: not a weekend, public holiday, Midsummer Eve,
    Christmas Eve or New Year's Eve."""
    return d.weekday() < 5 and d not in _statutory_holidays(d.year)


def swedish_period_end(d: date) -> date:
    """A period in Swedish law ending on `d` ends on the next working day if `d` is not one
    (Lag 1930:173), e.g. an appeal's three weeks from the day a decision was received."""
    while not is_swedish_working_day(d):
        d += timedelta(days=1)
    return d


def add_swedish_working_days(d: date, days: int) -> date:
    """The day `days` working days (Lag 1930:173) after `d`: "within one working day"."""
    if days < 0:
        raise ValueError("days: cannot be negative")
    while days:
        d += timedelta(days=1)
        days -= is_swedish_working_day(d)
    return d


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


# The years the package's Swedish table covers (its class attributes; typed through the
# instance because the package's stubs do not export the country classes).
_TABLE_START: int = holidays.country_holidays("SE").start_year
_TABLE_END: int = holidays.country_holidays("SE").end_year


@functools.lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    # Default PUBLIC category = Lag (1989:253). Midsummer, Christmas and New Year's Eve are only
    # in the DE_FACTO category, so they stay working days (tests pin this).
    if not _TABLE_START <= year <= _TABLE_END:
        # Outside its table the package answers "no holidays": refuse instead of guessing.
        raise HolidayTableError(
            f"no Swedish holiday table for {year} (the calendar covers {_TABLE_START}-{_TABLE_END})"
        )
    return frozenset(holidays.country_holidays("SE", years=year))


@functools.lru_cache(maxsize=64)
def _statutory_holidays(year: int) -> frozenset[date]:
    # Lag 1930:173 adds the eves, which the package files under DE_FACTO. Only those three:
    # a category the package might add later must not silently move a statutory period.
    eves = holidays.country_holidays(
        "SE", years=year, categories=(holidays.DE_FACTO,), language="en_US"
    )
    named = {"Midsummer Eve", "Christmas Eve", "New Year's Eve"}
    return _public_holidays(year) | frozenset(day for day, name in eves.items() if name in named)
