"""structlog configuration with redaction of personal data, for the worker and the CLI.

Log ids (case number, workflow id, step), never payloads. The redaction is the safety net for
what slips through anyway: it rewrites identity numbers (also written with a space), e-mail
addresses, phone numbers, street addresses and names after a word that introduces one wherever
they appear in a value or a key, and drops the values of keys that name personal data: a fixed
list, and every personal field the declared systems have (`redact_fields`, from the worker's
catalog). A name in free text with nothing to announce it is the one thing no pattern can tell
from an ordinary word: log ids, never text.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
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
        "namn",
        "fornamn",
        "efternamn",
        "adress",
        "gatuadress",
        "postnummer",
        "epost",
        "telefon",
    }
)
_PATTERNS = (
    # Identity numbers: 10 or 12 digits, with or without '-', '+' or a space before the last
    # four ("811228 9874").
    re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+ ]?\d{4}(?!\d)"),
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    # Swedish phone numbers: 07x-xxx xx xx, +46 70 ..., 010-...
    # Not the fraction of a second of a timestamp ("09:30:50.012345").
    re.compile(r"(?<![\w-])(?<!\d[.:])(?:\+46|0)[\s-]?\d{1,3}(?:[\s-]?\d{2,4}){2,4}(?!\d)"),
    # Street addresses: a Swedish street name (one or two words: "Stora Nygatan") and its
    # number, a post-office box, and a postal code with its town.
    re.compile(
        r"\b(?:[A-ZÅÄÖ][a-zåäö]+\s)?[A-ZÅÄÖ][a-zåäö]*(?:gatan|gata|vägen|väg|gränd|torget|torg"
        r"|backen|stigen|allén|leden|plan|platsen|stråket|kajen|strand|slingan|ringen|liden)"
        r"\s+\d+\s?[A-Za-z]?\b"
    ),
    re.compile(r"\bBox\s+\d+\b"),
    re.compile(r"(?<!\d)\d{3}\s?\d{2}\s+[A-ZÅÄÖ][a-zåäö]+(?:\s[A-ZÅÄÖ][a-zåäö]+)?"),
)
# Names announced as such: "namn: Tolvan Tolvansson", "kund Anna Andersson";
# the word that announces it stays.
_ANNOUNCED_NAME = re.compile(
    r"(\b(?i:namn|name|kund|customer|sökande|requester|mottagare|recipient)\b[:=]?\s+)"
    r"[A-ZÅÄÖ][\w'-]+(?:\s+[A-ZÅÄÖ][\w'-]+){0,3}"
)


# Added to at start-up: the declared systems' personal fields (systems/*.yaml).
_declared_keys: set[str] = set()


def redact_fields(names: Iterable[str]) -> None:
    """Drop the values of these keys too, wherever they appear in a log event."""
    _declared_keys.update(name.lower() for name in names)


def redact_text(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return _ANNOUNCED_NAME.sub(rf"\1{REDACTED}", text)


def _redact_value(key: str, value: Any) -> Any:
    named = key.lower()
    if (named in SENSITIVE_KEYS or named in _declared_keys) and value is not None:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        # Keys too: a mapping keyed by identity number is as personal as its values.
        return {redact_text(str(k)): _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    return value


def redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: the last step before rendering, so nothing bypasses it."""
    return {redact_text(key): _redact_value(key, value) for key, value in event_dict.items()}


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
