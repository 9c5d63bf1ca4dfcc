"""structlog configuration with redaction of personal data, for the worker and the CLI.

Log ids (case number, workflow id, step), never payloads. The redaction is the safety net for
what slips through anyway: it rewrites identity numbers, e-mail addresses, phone numbers and
street addresses wherever they appear in a value, and drops the values of keys that name
personal data.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from structlog.tracebacks import ExceptionDictTransformer

REDACTED = "[redacted]"
SENSITIVE_KEYS = frozenset(
    {
        "subject_id",
        "personal_number",
        "personnummer",
        "name",
        "full_name",
        "address",
        "street",
        "postal_code",
        "email",
        "phone",
        "mobile",
        "recipient",
        "address_lines",
    }
)
_PATTERNS = (
    # Identity numbers: 10 or 12 digits, with or without '-' or '+' before the last four.
    re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+]?\d{4}(?!\d)"),
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    # Swedish phone numbers: 07x-xxx xx xx, +46 70 ..., 010-...
    # Not the fraction of a second of a timestamp ("09:30:50.012345").
    re.compile(r"(?<![\w-])(?<!\d[.:])(?:\+46|0)[\s-]?\d{1,3}(?:[\s-]?\d{2,4}){2,4}(?!\d)"),
    # Street addresses: a Swedish street name followed by a number.
    re.compile(
        r"\b[A-ZÅÄÖ][a-zåäö]+(?:gatan|vägen|gränd|torget|backen|stigen|allén|leden|plan)"
        r"\s+\d+\w?\b"
    ),
)


def redact_text(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def _redact_value(key: str, value: Any) -> Any:
    if key.lower() in SENSITIVE_KEYS and value is not None:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    return value


def redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: the last step before rendering, so nothing bypasses it."""
    return {key: _redact_value(key, value) for key, value in event_dict.items()}


def configure_logging(*, level: str = "INFO", fmt: str = "auto") -> None:
    """Configure structlog; the standard library's logs (Temporal, SQLAlchemy) go through it."""
    json_output = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Tracebacks never with local variables: they hold payloads.
        structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
        if json_output
        else structlog.processors.format_exc_info,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            redact_personal_data,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
