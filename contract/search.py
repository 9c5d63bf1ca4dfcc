"""Search attribute keys: what supervisors filter on in the Web UI. Never personal data."""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey

KIND = SearchAttributeKey.for_keyword("DsrKind")
STATE = SearchAttributeKey.for_keyword("DsrState")
DEADLINE = SearchAttributeKey.for_datetime("DsrDeadline")
ESCALATION = SearchAttributeKey.for_keyword("DsrEscalation")
ASSIGNEE = SearchAttributeKey.for_keyword("DsrAssignee")
CASE_NUMBER = SearchAttributeKey.for_keyword("DsrCaseNumber")

ALL: tuple[SearchAttributeKey[Any], ...] = (
    KIND,
    STATE,
    DEADLINE,
    ESCALATION,
    ASSIGNEE,
    CASE_NUMBER,
)


def cli_flags() -> list[str]:
    """`--search-attribute NAME=Type` flags for `temporal server start-dev`."""
    kinds = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}
    return [f"--search-attribute={key.name}={kinds[key.indexed_value_type.name]}" for key in ALL]
