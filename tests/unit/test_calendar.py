from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

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


def test_acceptance_example_over_easter() -> None:
    # 5 Apr 2026 is Easter Sunday, 6 Apr Easter Monday.
    assert gdpr_deadline(date(2026, 3, 5)) == date(2026, 4, 7)


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        (date(2026, 2, 10), date(2026, 3, 10)),  # Tuesday, nothing to move
        (date(2026, 8, 31), date(2026, 9, 30)),  # no 31 Sep; 30 Sep is a Wednesday
        (date(2029, 1, 31), date(2029, 2, 28)),  # Wednesday
        (date(2028, 1, 31), date(2028, 2, 29)),  # leap year; Tuesday
        (date(2027, 1, 31), date(2027, 3, 1)),  # 28 Feb 2027 is a Sunday
        (date(2026, 1, 31), date(2026, 3, 2)),  # 28 Feb 2026 is a Saturday
        (date(2026, 3, 11), date(2026, 4, 13)),  # Saturday 11 Apr -> Monday
        (date(2026, 2, 8), date(2026, 3, 9)),  # Sunday 8 Mar -> Monday
        (date(2028, 5, 6), date(2028, 6, 7)),  # National Day, Tuesday 6 Jun 2028
        (date(2026, 4, 14), date(2026, 5, 15)),  # Ascension Day, Thursday 14 May 2026
        (date(2028, 11, 25), date(2028, 12, 27)),  # Christmas Day and Boxing Day, Mon and Tue
        (date(2026, 11, 26), date(2026, 12, 28)),  # Boxing Day (Sat), Sunday, then Monday
        (date(2026, 12, 1), date(2027, 1, 4)),  # across the year: 1 Jan 2027 is a Friday
        (date(2026, 12, 6), date(2027, 1, 7)),  # Epiphany, Wednesday 6 Jan 2027
    ],
)
def test_one_month(received: date, deadline: date) -> None:
    assert gdpr_deadline(received) == deadline


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        (date(2026, 5, 19), date(2026, 6, 19)),  # Midsummer Eve, Friday
        (date(2026, 11, 24), date(2026, 12, 24)),  # Christmas Eve, Thursday
        (date(2029, 11, 30), date(2029, 12, 31)),  # 30 Dec 2029 Sunday -> New Year's Eve, Monday
    ],
)
def test_the_eves_are_working_days(received: date, deadline: date) -> None:
    assert is_gdpr_working_day(deadline)
    assert gdpr_deadline(received) == deadline


def test_is_gdpr_working_day() -> None:
    assert is_gdpr_working_day(date(2026, 3, 5))  # Thursday
    assert not is_gdpr_working_day(date(2026, 3, 7))  # Saturday
    assert not is_gdpr_working_day(date(2026, 3, 8))  # Sunday
    assert not is_gdpr_working_day(date(2026, 4, 3))  # Good Friday
    assert not is_gdpr_working_day(date(2026, 5, 1))  # May Day, Friday
    assert not is_gdpr_working_day(date(2027, 1, 1))  # New Year's Day, Friday
    assert not is_gdpr_working_day(date(2026, 6, 6))  # National Day on a Saturday
    assert is_gdpr_working_day(date(2026, 12, 31))  # New Year's Eve, Thursday
    assert is_gdpr_working_day(date(2027, 6, 25))  # Midsummer Eve, Friday
    assert not is_gdpr_working_day(date(2027, 6, 26))  # Midsummer Day, Saturday


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        (date(2026, 3, 5), date(2026, 6, 5)),  # Friday
        (date(2026, 3, 6), date(2026, 6, 8)),  # 6 Jun 2026 is National Day and a Saturday
        (date(2025, 11, 30), date(2026, 3, 2)),  # no 30 Feb; 28 Feb 2026 is a Saturday
        (date(2027, 11, 30), date(2028, 2, 29)),  # leap day, Tuesday
        # Art. 12(3), counted from the end of the first month: 31 Jan -> 28 Feb -> 28 Apr.
        (date(2026, 1, 31), date(2026, 4, 28)),  # Tuesday; from receipt it would be 30 Apr
        (date(2025, 12, 31), date(2026, 3, 31)),  # 31 Jan, then 31 Mar (Tuesday)
        (date(2027, 1, 29), date(2027, 4, 28)),  # 28 Feb 2027 (not moved), then 28 Apr
    ],
)
def test_extended_is_two_months_from_the_end_of_the_first(received: date, deadline: date) -> None:
    assert gdpr_deadline(received, extended=True) == deadline


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        # Winter (UTC+1): 23:30Z on 9 Feb is already 10 Feb in Stockholm.
        (datetime(2026, 2, 9, 23, 30, tzinfo=UTC), date(2026, 3, 10)),
        (datetime(2026, 2, 9, 22, 59, 59, tzinfo=UTC), date(2026, 3, 9)),
        # 31 Jan 23:30Z is 1 Feb in Stockholm; 1 Mar 2026 is a Sunday.
        (datetime(2026, 1, 31, 23, 30, tzinfo=UTC), date(2026, 3, 2)),
        # Summer (UTC+2): 22:30Z on 30 Jun is 1 Jul; 1 Aug 2026 is a Saturday.
        (datetime(2026, 6, 30, 22, 30, tzinfo=UTC), date(2026, 8, 3)),
        (datetime(2026, 6, 30, 21, 59, 59, tzinfo=UTC), date(2026, 7, 30)),
        # Another zone: 18:30 in New York (EST, UTC-5) on 9 Feb is 00:30 on 10 Feb in Stockholm.
        (datetime(2026, 2, 9, 18, 30, tzinfo=ZoneInfo("America/New_York")), date(2026, 3, 10)),
        (datetime(2026, 2, 10, 0, 30, tzinfo=STOCKHOLM), date(2026, 3, 10)),
    ],
)
def test_instant_becomes_stockholm_date(received: datetime, deadline: date) -> None:
    assert gdpr_deadline(received) == deadline


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError, match="received: a datetime must carry a time zone"):
        gdpr_deadline(datetime(2026, 3, 5, 12, 0))


@pytest.mark.parametrize(
    ("day", "offset_hours", "utc"),
    [
        (date(2026, 1, 15), 1, datetime(2026, 1, 15, 22, 59, 59, tzinfo=UTC)),
        (date(2026, 7, 15), 2, datetime(2026, 7, 15, 21, 59, 59, tzinfo=UTC)),
        # Days summer time starts (29 Mar) and ends (25 Oct) in 2026.
        (date(2026, 3, 29), 2, datetime(2026, 3, 29, 21, 59, 59, tzinfo=UTC)),
        (date(2026, 10, 25), 1, datetime(2026, 10, 25, 22, 59, 59, tzinfo=UTC)),
    ],
)
def test_deadline_end(day: date, offset_hours: int, utc: datetime) -> None:
    end = deadline_end(day)
    assert end.tzinfo == STOCKHOLM
    assert (end.date(), end.hour, end.minute, end.second) == (day, 23, 59, 59)
    assert end.utcoffset() == timedelta(hours=offset_hours)
    assert end == utc


# --- the pause, and the calendar of Swedish law (Lag 1930:173) -------------------------------


def test_a_pause_moves_the_deadline_by_its_days_then_to_a_working_day() -> None:
    assert gdpr_deadline(date(2026, 2, 10), paused_days=0) == date(2026, 3, 10)
    assert gdpr_deadline(date(2026, 2, 10), paused_days=3) == date(2026, 3, 13)  # Friday
    assert gdpr_deadline(date(2026, 2, 10), paused_days=4) == date(2026, 3, 16)  # Sat -> Mon
    # 4 Mar + 1 month = Sat 4 Apr; one day paused: Easter Sunday, Easter Monday, so Tue 7 Apr.
    assert gdpr_deadline(date(2026, 3, 4), paused_days=1) == date(2026, 4, 7)
    assert gdpr_deadline(date(2026, 2, 10), extended=True, paused_days=2) == date(2026, 5, 12)
    with pytest.raises(ValueError, match="paused_days"):
        gdpr_deadline(date(2026, 2, 10), paused_days=-1)


@pytest.mark.parametrize(
    ("received", "asked", "working_days"),
    [
        (date(2026, 3, 5), date(2026, 3, 5), 0),  # asked the same day
        (date(2026, 3, 5), date(2026, 3, 10), 3),  # Fri, Mon, Tue
        (date(2026, 4, 2), date(2026, 4, 8), 2),  # Good Friday and Easter Monday do not count
        (date(2026, 12, 23), date(2026, 12, 28), 2),  # Christmas Eve counts in GDPR periods
    ],
)
def test_working_days_after_receipt(received: date, asked: date, working_days: int) -> None:
    assert gdpr_working_days_after(received, asked) == working_days


def test_the_statutory_calendar_also_closes_on_the_eves() -> None:
    for eve in (date(2026, 6, 19), date(2026, 12, 24), date(2026, 12, 31)):
        assert is_gdpr_working_day(eve) and not is_swedish_working_day(eve), eve
    assert not is_swedish_working_day(date(2026, 4, 3))  # Good Friday
    assert not is_swedish_working_day(date(2026, 11, 28))  # Saturday
    assert is_swedish_working_day(date(2026, 12, 23))


@pytest.mark.parametrize(
    ("last_day", "ends"),
    [
        (date(2026, 12, 24), date(2026, 12, 28)),  # Christmas Eve to Monday 28 Dec
        (date(2026, 12, 31), date(2027, 1, 4)),  # New Year's Eve, Day, the weekend
        (date(2027, 6, 25), date(2027, 6, 28)),  # Midsummer Eve (Friday) to Monday
        (date(2026, 12, 22), date(2026, 12, 22)),  # a Tuesday stays
    ],
)
def test_a_period_in_swedish_law_ends_on_a_working_day(last_day: date, ends: date) -> None:
    assert swedish_period_end(last_day) == ends


def test_working_days_in_swedish_law() -> None:
    assert add_swedish_working_days(date(2026, 12, 23), 1) == date(2026, 12, 28)
    assert add_swedish_working_days(date(2026, 12, 23), 3) == date(2026, 12, 30)
    assert add_swedish_working_days(date(2026, 6, 18), 1) == date(2026, 6, 22)  # past midsummer
    assert add_swedish_working_days(date(2026, 6, 18), 0) == date(2026, 6, 18)
