from __future__ import annotations

from infra.logging import redact_personal_data, redact_text


def test_redaction_covers_values_not_only_keys() -> None:
    text = "Kund 19121212-1212, tolvan@example.se, 070-123 45 67, Storgatan 12, DSR-2026-000042"
    redacted = redact_text(text)
    assert "1212" not in redacted.replace("DSR-2026-000042", "")
    assert "example.se" not in redacted and "Storgatan" not in redacted and "070" not in redacted
    assert "DSR-2026-000042" in redacted, "case numbers stay readable"


def test_timestamps_stay_readable_and_phone_numbers_after_a_label_do_not() -> None:
    stamp = "2026-11-28T04:29:50.012345Z"
    assert redact_text(f"at {stamp}") == f"at {stamp}"
    assert "0701234567" not in redact_text("tel:0701234567, tel.0701234567")


def test_keys_that_name_personal_data_lose_their_values() -> None:
    event = redact_personal_data(
        None,
        "info",
        {
            "event": "x",
            "name": "Tolvan Tolvansson",
            "rows": 3,
            "nested": {"address": "Byvägen 1", "case_number": "DSR-2026-000001"},
        },
    )
    assert event["name"] == "[redacted]" and event["rows"] == 3
    assert event["nested"] == {"address": "[redacted]", "case_number": "DSR-2026-000001"}
