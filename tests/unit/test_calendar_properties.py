"""Properties of the legal calendar for any day from 2000 to 2100, checked against the law as
written here by hand (Easter by the Gregorian computus, the holidays of Lag 1989:253, the eves
Lag 1930:173 adds), not against the code's own holiday table.

GDPR (Art. 12(3), Reg. 1182/71 art. 3): one month from receipt ends on the same date of the
next month, or that month's last day when it has no such date; a Saturday, Sunday or public
holiday moves it to the next working day, and the eves are working days. So the deadline is
exactly the first GDPR working day on or after that date, which makes it a working day, at
least 28 days after receipt, and never earlier for a later receipt. The extension's two further
months count from the end of the first month (31 Jan -> 28 Feb -> 28 Apr), by the same rules. A
reminder or escalation that would fall on a day off falls on the working day before. Public
access counts in working days under Lag 1930:173, where Midsummer, Christmas and New Year's Eve
are closed too.
"""

from __future__ import annotations

import asyncio
import calendar
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import example, given, settings, strategies as st

from activities.deadlines import DeadlineActivities, public_access_deadline
from contract.calendar import (
    STOCKHOLM,
    add_swedish_working_days,
    deadline_end,
    gdpr_deadline,
    gdpr_working_days_after,
    is_gdpr_working_day,
    is_swedish_working_day,
    swedish_period_end,
)
from contract.case import DeadlineInput, Escalation
from contract.public_access import AppealWindow, AppealWindowInput
from contract.vocabulary import Kind
from infra.config import Settings

FIRST, LAST = date(2000, 1, 1), date(2100, 12, 31)
# Receipts up to the end of 2099: every date computed from them (three months, pauses, weeks)
# stays within 2100, the last year the pinned `holidays` package has a Swedish table for.
RECEIVED_LAST = date(2099, 12, 31)
# Run in `make test`: a few hundred examples each keeps the whole file to a few seconds.
PROPERTIES = settings(max_examples=200, deadline=None)
DAYS = st.dates(FIRST, RECEIVED_LAST)
# The longest run of GDPR non-working days is four (Good Friday to Easter Monday; Christmas
# Day on a Thursday to the Sunday after).
LONGEST_CLOSED_RUN = 4


# --- the law, written out independently of contract.calendar and the holidays package ----------


def easter_sunday(year: int) -> date:
    """The Gregorian computus (the anonymous algorithm of Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _weekday_between(weekday: int, first: date) -> date:
    """The day of the week `weekday` in the seven days from `first`."""
    return first + timedelta(days=(weekday - first.weekday()) % 7)


@cache
def public_holidays(year: int) -> frozenset[date]:
    """Allmänna helgdagar, Lag (1989:253) as amended by SFS 2004:1320 (National Day a holiday,
    Whit Monday no longer, from 2005). Sundays are holidays too; the weekend covers them."""
    easter = easter_sunday(year)
    days = {
        date(year, 1, 1),  # nyårsdagen
        date(year, 1, 6),  # trettondedag jul
        easter - timedelta(days=2),  # långfredagen
        easter + timedelta(days=1),  # annandag påsk
        date(year, 5, 1),  # första maj
        easter + timedelta(days=39),  # Kristi himmelsfärds dag
        _weekday_between(calendar.SATURDAY, date(year, 6, 20)),  # midsommardagen
        _weekday_between(calendar.SATURDAY, date(year, 10, 31)),  # alla helgons dag
        date(year, 12, 25),  # juldagen
        date(year, 12, 26),  # annandag jul
    }
    days.add(date(year, 6, 6) if year >= 2005 else easter + timedelta(days=50))
    return frozenset(days)


def eves(year: int) -> frozenset[date]:
    """Lag (1930:173) 2 §: midsommarafton, julafton and nyårsafton count as holidays."""
    midsummer_eve = _weekday_between(calendar.FRIDAY, date(year, 6, 19))
    return frozenset({midsummer_eve, date(year, 12, 24), date(year, 12, 31)})


def gdpr_open(day: date) -> bool:
    return day.weekday() < 5 and day not in public_holidays(day.year)


def statutory_open(day: date) -> bool:
    return gdpr_open(day) and day not in eves(day.year)


def one_month_later(day: date, months: int = 1) -> date:
    """The same date `months` later, or that month's last day (31 Aug -> 30 Sep)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def first_open_from(day: date, is_open: Callable[[date], bool]) -> date:
    while not is_open(day):
        day += timedelta(days=1)
    return day


def every_day(first: date = FIRST, last: date = LAST) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# --- the calendars themselves, every day of the range -------------------------------------


def test_the_oracle_knows_its_easters() -> None:
    assert [easter_sunday(y) for y in (2000, 2008, 2011, 2026, 2038, 2100)] == [
        date(2000, 4, 23),
        date(2008, 3, 23),
        date(2011, 4, 24),
        date(2026, 4, 5),
        date(2038, 4, 25),
        date(2100, 3, 28),
    ]


def test_both_calendars_agree_with_the_law_on_every_day_from_2000_to_2100() -> None:
    gdpr_wrong = [d for d in every_day() if is_gdpr_working_day(d) != gdpr_open(d)]
    statutory_wrong = [d for d in every_day() if is_swedish_working_day(d) != statutory_open(d)]
    assert not gdpr_wrong, gdpr_wrong[:10]
    assert not statutory_wrong, statutory_wrong[:10]


def test_the_gdpr_calendar_is_the_holidays_package_public_category() -> None:
    """DOMAIN.md names `holidays.Sweden()` with its default PUBLIC category as the table."""
    years = range(FIRST.year, LAST.year + 1)
    table = holidays.country_holidays("SE", years=years, categories=(holidays.PUBLIC,))
    wrong = [
        d for d in every_day() if is_gdpr_working_day(d) != (d.weekday() < 5 and d not in table)
    ]
    assert not wrong, wrong[:10]


def test_a_deadline_beyond_the_holiday_table_is_refused() -> None:
    """Found by the properties with receipts into December 2100: past the holiday table's last
    year the package answers "no holidays", so Epiphany 2101 counted as a working day. The
    calendar refuses such dates instead of guessing."""
    with pytest.raises(ValueError, match="no Swedish holiday table for 2101"):
        gdpr_deadline(date(2100, 12, 6))
    with pytest.raises(ValueError, match="no Swedish holiday table"):
        is_swedish_working_day(date(2101, 1, 6))


# --- the GDPR deadline ------------------------------------------------------------------------


@PROPERTIES
@given(DAYS)
@example(date(2026, 3, 5))  # one month is Easter Sunday: Tuesday after Easter Monday
@example(date(2026, 11, 24))  # one month is Christmas Eve, a working day
@example(date(2027, 1, 31))  # no 31 Feb; 28 Feb 2027 is a Sunday
@example(RECEIVED_LAST)
def test_the_deadline_is_the_first_working_day_from_one_month_after_receipt(
    received: date,
) -> None:
    deadline = gdpr_deadline(received)
    month = one_month_later(received)
    assert deadline == first_open_from(month, gdpr_open)
    # What follows from that, stated on its own.
    assert deadline.weekday() < 5 and deadline not in public_holidays(deadline.year)
    assert is_gdpr_working_day(deadline)
    assert deadline >= received + timedelta(days=28)
    assert 0 <= (deadline - month).days <= LONGEST_CLOSED_RUN
    assert (deadline - received).days <= 31 + LONGEST_CLOSED_RUN


@PROPERTIES
@given(DAYS, st.integers(0, 400))
@example(date(2027, 1, 28), 1)  # 28 Feb and 29, 30, 31 Jan all give 28 Feb 2027 (a Sunday)
@example(date(2027, 1, 31), 1)  # then 1 Feb gives 1 Mar
def test_a_later_receipt_never_has_an_earlier_deadline(received: date, later_by: int) -> None:
    later = min(received + timedelta(days=later_by), RECEIVED_LAST)
    assert gdpr_deadline(received) <= gdpr_deadline(later)
    assert gdpr_deadline(received, extended=True) <= gdpr_deadline(later, extended=True)


@PROPERTIES
@given(DAYS)
@example(date(2026, 3, 4))  # one month is Saturday 4 Apr before Easter
@example(date(2025, 11, 30))  # no 30 Feb
@example(date(2026, 1, 31))  # 28 Feb, then 28 Apr: not 30 Apr
def test_the_extension_is_two_months_from_the_end_of_the_first_and_never_before_the_deadline(
    received: date,
) -> None:
    deadline = gdpr_deadline(received)
    extended = gdpr_deadline(received, extended=True)
    # Art. 12(3), the conservative reading: the two months count from the first month's end.
    first_month_end = one_month_later(received)
    assert extended == first_open_from(one_month_later(first_month_end, 2), gdpr_open)
    assert extended <= first_open_from(one_month_later(received, 3), gdpr_open)
    assert extended > deadline
    # Two further months: never before two months after the one-month date.
    assert extended >= one_month_later(one_month_later(received), 2)
    # The shortest: 31 Jan -> 28 Feb -> 28 Apr, 87 days.
    assert (extended - received).days >= 87


@PROPERTIES
@given(DAYS, st.integers(0, 120), st.integers(0, 120), st.booleans())
def test_paused_days_move_the_deadline_by_at_least_as_many_days(
    received: date, paused: int, more: int, extended: bool
) -> None:
    deadline = gdpr_deadline(received, extended=extended, paused_days=paused)
    period_end = one_month_later(received)
    if extended:
        period_end = one_month_later(period_end, 2)
    assert deadline == first_open_from(period_end + timedelta(days=paused), gdpr_open)
    assert deadline >= gdpr_deadline(received, extended=extended) + timedelta(days=paused) - (
        timedelta(days=LONGEST_CLOSED_RUN)
    )
    assert deadline <= gdpr_deadline(received, extended=extended, paused_days=paused + more)


ZONES = st.sampled_from(
    [UTC, STOCKHOLM, ZoneInfo("America/New_York"), ZoneInfo("Pacific/Kiritimati")]
)
INSTANTS = st.datetimes(
    datetime(2000, 1, 2), datetime(2099, 12, 30), timezones=ZONES, allow_imaginary=False
)


@PROPERTIES
@given(INSTANTS, st.timedeltas(timedelta(0), timedelta(days=3)))
@example(datetime(2026, 2, 9, 22, 59, 59, tzinfo=UTC), timedelta(seconds=1))  # midnight
@example(datetime(2026, 3, 28, 22, 59, 59, tzinfo=UTC), timedelta(hours=1))  # summer time
def test_an_instant_counts_as_its_stockholm_day_and_later_is_never_earlier(
    received: datetime, later_by: timedelta
) -> None:
    day = received.astimezone(STOCKHOLM).date()
    assert gdpr_deadline(received) == gdpr_deadline(day)
    assert gdpr_deadline(received) <= gdpr_deadline(received + later_by)


@PROPERTIES
@given(DAYS, st.integers(0, 60))
def test_working_days_after_receipt_count_what_the_calendar_says(received: date, days: int) -> None:
    asked = received + timedelta(days=days)
    expected = sum(gdpr_open(received + timedelta(days=n)) for n in range(1, days + 1))
    assert gdpr_working_days_after(received, asked) == expected
    assert gdpr_working_days_after(asked, received) == 0


# --- public access: working days under Lag 1930:173 -------------------------------------------


@PROPERTIES
@given(DAYS)
@example(date(2026, 12, 24))  # Christmas Eve to Monday 28 Dec
@example(date(2027, 6, 25))  # Midsummer Eve, a Friday
def test_a_period_ends_on_the_first_statutory_working_day_from_its_last_day(day: date) -> None:
    end = swedish_period_end(day)
    assert end == first_open_from(day, statutory_open)
    assert statutory_open(end) and end not in eves(end.year)
    assert swedish_period_end(end) == end
    assert swedish_period_end(day) <= swedish_period_end(day + timedelta(days=1))


@PROPERTIES
@given(DAYS, st.integers(1, 30), st.integers(0, 30))
@example(date(2026, 12, 23), 1, 0)  # over Christmas Eve, Day and Boxing Day
def test_working_days_are_counted_on_the_statutory_calendar(
    start: date, days: int, later_by: int
) -> None:
    end = add_swedish_working_days(start, days)
    assert statutory_open(end)
    between = [start + timedelta(days=n) for n in range(1, (end - start).days + 1)]
    assert sum(statutory_open(d) for d in between) == days
    assert add_swedish_working_days(start, days + 1) > end
    assert end <= add_swedish_working_days(start + timedelta(days=later_by), days)


@PROPERTIES
@given(DAYS, st.integers(0, 5), st.integers(0, 30))
@example(date(2026, 6, 18), 1, 1)  # Thursday before Midsummer Eve
@example(date(2026, 12, 23), 0, 0)  # "same day" is never configured: the next working day
def test_a_public_access_request_is_due_on_a_working_day_after_the_day_it_came(
    received: date, working_days: int, later_by: int
) -> None:
    due = public_access_deadline(received, working_days)
    assert due > received and statutory_open(due)
    assert due == add_swedish_working_days(received, max(working_days, 1))
    assert due <= public_access_deadline(received + timedelta(days=later_by), working_days)


@PROPERTIES
@given(INSTANTS, st.timedeltas(timedelta(0), timedelta(days=3)))
@example(datetime(2026, 12, 3, 10, tzinfo=STOCKHOLM), timedelta(0))  # 24 Dec -> Mon 28 Dec
def test_an_appeal_period_ends_on_a_working_day_three_weeks_or_more_after_receipt(
    sent_at: datetime, later_by: timedelta
) -> None:
    """The `appeal_window` activity as a decision's case calls it: three weeks from the
    Stockholm day the decision went out, to the end of a working day under Lag 1930:173."""
    window = appeal_window(sent_at)
    received = sent_at.astimezone(STOCKHOLM).date()
    assert window.received_on == received
    assert window.last_day == first_open_from(received + timedelta(weeks=3), statutory_open)
    assert window.ends_at == deadline_end(window.last_day)
    assert window.closes_at >= window.ends_at
    assert window.last_day <= appeal_window(sent_at + later_by).last_day


@cache
def deadline_activities() -> DeadlineActivities:
    return DeadlineActivities(Settings())


def appeal_window(sent_at: datetime) -> AppealWindow:
    activities = deadline_activities()
    request = AppealWindowInput(
        case_number="DSR-2026-000001", sent_at=sent_at, weeks=3, late_days=14
    )
    return asyncio.run(activities.appeal_window(request))


@PROPERTIES
@given(st.dates(FIRST, date(2099, 9, 30)), st.integers(1, 20), st.integers(1, 9))
@example(date(2026, 3, 5), 10, 3)  # deadline Tue 7 Apr 2026: 28 Mar is a Saturday, 4 Apr too
def test_a_ladder_step_that_falls_on_a_day_off_comes_the_working_day_before(
    received: date, reminder: int, escalation: int
) -> None:
    """The `plan_deadline` activity's reminder and escalation: the morning `days` before the
    deadline when that is a GDPR working day, else the last working day before it."""
    activities = DeadlineActivities(
        Settings(escalation_days={"default": (max(reminder, escalation), escalation)})
    )
    request = DeadlineInput(
        case_number="DSR-2026-000001",
        kind=Kind.ACCESS,
        received_at=datetime.combine(received, datetime.min.time(), STOCKHOLM),
    )
    plan = asyncio.run(activities.plan_deadline(request))
    steps = {step.step: step.at.astimezone(STOCKHOLM) for step in plan.steps}
    for step, days in (
        (Escalation.REMINDED, max(reminder, escalation)),
        (Escalation.ESCALATED, escalation),
    ):
        target = plan.deadline - timedelta(days=days)
        fires = steps[step].date()
        assert gdpr_open(fires) and fires <= target
        assert all(
            not gdpr_open(fires + timedelta(days=n)) for n in range(1, (target - fires).days + 1)
        )
        assert steps[step].hour == 8
