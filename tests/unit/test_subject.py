import hashlib
import hmac
import re
from datetime import date

import pytest

from contract.subject import is_coordination_number, parse_subject_id, subject_reference

TODAY = date(2026, 11, 27)


def _luhn_ok(ten_digits: str) -> bool:
    # Independent of stdnum, to check the test numbers themselves.
    total = 0
    for i, ch in enumerate(ten_digits):
        v = int(ch) * (2 if i % 2 == 0 else 1)
        total += v // 10 + v % 10
    return total % 10 == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("191212121212", "191212121212"),
        ("19121212-1212", "191212121212"),
        ("19121212+1212", "191212121212"),
        ("121212-1212", "201212121212"),
        ("1212121212", "201212121212"),
        ("121212+1212", "191212121212"),
        ("  121212-1212\n", "201212121212"),
        ("000101-1238", "200001011238"),
        ("000101+1238", "190001011238"),
        ("811218-9876", "198112189876"),
    ],
)
def test_accepted_forms(text: str, expected: str) -> None:
    assert _luhn_ok(expected[2:])
    assert parse_subject_id(text, today=TODAY) == expected


def test_coordination_number() -> None:
    canonical = parse_subject_id("701063-2391", today=TODAY)
    assert canonical == "197010632391"
    assert is_coordination_number(canonical)
    assert not is_coordination_number(parse_subject_id("121212-1212", today=TODAY))


def test_century_follows_the_year_the_number_is_read() -> None:
    # Folkbokföringslagen 18 §: '+' from the calendar year the person turns 100. On 1 March
    # 2025 "250615+1238" turns 100 this June: born 1925, not 1825.
    assert parse_subject_id("250615+1238", today=date(2025, 3, 1)) == "192506151238"
    # With '-' the same digits are someone under 100 all year: born in 2025, in June, which has
    # not come yet.
    with pytest.raises(ValueError, match="impossible date"):
        parse_subject_id("250615-1238", today=date(2025, 3, 1))
    assert parse_subject_id("250615-1238", today=date(2025, 6, 15)) == "202506151238"
    # Someone born 15 Dec 1926 writes '+' all of 2026, also the day before their birthday.
    assert parse_subject_id("261215+1239", today=date(2026, 12, 14)) == "192612151239"
    with pytest.raises(ValueError, match="impossible date"):
        parse_subject_id("261215-1239", today=date(2026, 12, 14))
    assert parse_subject_id("261215-1239", today=date(2026, 12, 15)) == "202612151239"
    # A 100-year-old's number with '-' in the year after is someone born that year.
    assert parse_subject_id("250101-1239", today=date(2026, 1, 2)) == "202501011239"
    # In the 12-digit form a birth date after today stays impossible.
    with pytest.raises(ValueError, match="impossible date"):
        parse_subject_id("202612151239", today=date(2026, 12, 14))


@pytest.mark.parametrize("text", ["171212121212", "211212121212", "001212121212"])
def test_twelve_digits_name_the_century_18_19_or_20(text: str) -> None:
    with pytest.raises(ValueError, match="starts with 18, 19 or 20"):
        parse_subject_id(text, today=TODAY)


def test_a_twelve_digit_number_from_the_1800s_is_taken_as_written() -> None:
    assert parse_subject_id("189912121218", today=TODAY) == "189912121218"


def test_today_defaults_to_the_real_today() -> None:
    assert parse_subject_id("121212-1212") == "201212121212"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("121212-1213", "check digit is wrong"),
        ("197010632390", "check digit is wrong"),
        ("191213121212", "impossible date"),  # month 13
        ("190229-1234", "impossible date"),  # 2019 is not a leap year; check digit is right
        ("19121200-1212", "impossible date"),  # day 0
        ("19701092-2391", "impossible date"),  # coordination day 92 -> 32
        ("19701060-2391", "impossible date"),  # day 60 is neither a day nor a coordination day
        ("202701011237", "impossible date"),  # born after today
        ("12121212", "10 or 12 digits"),
        ("1912121212121", "10 or 12 digits"),
        ("", "10 or 12 digits"),
        ("   ", "10 or 12 digits"),
        ("19121212-12A2", "only digits"),
        ("ABCDEFGHIJ", "only digits"),
        ("12 12 12-1212", "only digits"),
        ("1912-1212-1212", "only digits"),
        ("121212/1212", "only digits"),
        ("١٢١٢١٢-١٢١٢", "only digits"),  # Arabic-Indic digits
        ("1212-121212", "before the last four digits"),
    ],
)
def test_rejected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as excinfo:
        parse_subject_id(text, today=TODAY)
    text_message = str(excinfo.value)
    assert text_message.startswith("identity number: ")
    digits = re.sub(r"\D", "", text)
    if digits:
        assert digits not in text_message
        assert digits[-4:] not in text_message


def test_test_numbers_have_the_check_digit_claimed() -> None:
    assert _luhn_ok("1902291234")
    assert _luhn_ok("2701011237")
    assert not _luhn_ok("1212121213")


def test_subject_reference() -> None:
    canonical = "191212121212"
    reference = subject_reference(canonical, "secret-a")
    assert re.fullmatch(r"[0-9a-f]{64}", reference)
    assert reference == subject_reference(canonical, b"secret-a")
    assert reference == hmac.new(b"secret-a", canonical.encode(), hashlib.sha256).hexdigest()
    assert reference != subject_reference(canonical, "secret-b")
    assert reference != subject_reference("201212121212", "secret-a")
    assert canonical not in reference


def test_subject_reference_refuses_empty_secret_and_non_canonical_input() -> None:
    with pytest.raises(ValueError, match="secret"):
        subject_reference("191212121212", "")
    with pytest.raises(ValueError, match="canonical"):
        subject_reference("19121212-1212", "secret-a")
    with pytest.raises(ValueError, match="canonical"):
        is_coordination_number("121212-1212")


def test_a_ten_digit_number_of_someone_turning_100_later_this_year_takes_a_plus() -> None:
    # On 28 Nov 2026, someone born 1 Dec 1926 turns 100 this year: their number has '+'
    # (Folkbokföringslagen 18 §). With '-' the digits are a child born next week: impossible.
    assert parse_subject_id("261201+0013", today=date(2026, 11, 28)) == "192612010013"
    with pytest.raises(ValueError, match="impossible date"):
        parse_subject_id("261201-0013", today=date(2026, 11, 28))
    assert parse_subject_id("261127-0014", today=date(2026, 11, 28)) == "202611270014"
