"""Writes to the connected systems, executed from their declarations: one activity per system.

Each is idempotent (setting a flag or a value twice changes nothing more), so a retry after a
crash is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contract.steps import SystemWriteInput, SystemWriteResult
from systems.catalog import Catalog
from systems.recipients import subject_recipients
from systems.tables import FIELD_CATEGORIES
from systems.writes import (
    WriteSummary,
    has_protected_identity,
    is_restricted,
    rectify_subject,
    set_restriction,
    suppress_marketing,
)


class WriteActivities:
    def __init__(self, catalog: Catalog, engines: Mapping[str, AsyncEngine]) -> None:
        self._catalog = catalog
        self._engines = engines

    @activity.defn
    async def apply_restriction(self, request: SystemWriteInput) -> SystemWriteResult:
        """Set (or lift) the Art. 18 flag on the subject's record in one system."""
        engine, system = self._engines[request.system], self._catalog.systems[request.system]
        summary = await set_restriction(engine, system, request.subject_id, request.restricted)
        self._log("restriction" if request.restricted else "restriction lifted", request, summary)
        # Art. 19: those who received the subject's data from a system that records the
        # restriction are told of it (and of its lifting).
        recipients: list[str] = []
        categories: list[str] = []
        if (
            system.restriction is not None
            and await is_restricted(engine, system, request.subject_id) == request.restricted
        ):
            received = await subject_recipients(engine, system, request.subject_id)
            recipients, categories = list(received.named), list(received.categories)
        return SystemWriteResult(
            system=request.system,
            tables=summary.tables,
            recipients=recipients,
            categories=categories,
        )

    @activity.defn
    async def apply_suppression(self, request: SystemWriteInput) -> SystemWriteResult:
        """Stop direct marketing in one system; name who received marketing data from it."""
        engine, system = self._engines[request.system], self._catalog.systems[request.system]
        if system.suppression is None:
            return SystemWriteResult(system=request.system, tables={})
        received = await subject_recipients(engine, system, request.subject_id)
        summary = await suppress_marketing(
            engine, system, request.subject_id, now=datetime.now(UTC)
        )
        self._log("suppression", request, summary)
        return SystemWriteResult(
            system=request.system,
            tables=summary.tables,
            recipients=list(received.named),
            categories=list(received.categories),
        )

    @activity.defn
    async def apply_rectification(self, request: SystemWriteInput) -> SystemWriteResult:
        """Correct the fields in every table of one system that holds them (Art. 16), and name
        who received the old values from it (Art. 19).

        A recipient is told of a field when it received that field's category of the subject's
        data: a disclosure log names categories, not columns, and it holds no field itself.
        Judged from what was given out, not from what this attempt changed, so a retry after a
        lost completion names the same recipients.
        """
        engine, system = self._engines[request.system], self._catalog.systems[request.system]
        try:
            summary = await rectify_subject(engine, system, request.subject_id, request.changes)
        except ValueError as error:
            # Values are checked at intake; one that fails here is a bad request, not a fault.
            raise ApplicationError(str(error), type="InvalidValue", non_retryable=True) from error
        received = await subject_recipients(engine, system, request.subject_id)
        told: dict[str, list[str]] = {}
        for recipient, categories in received.named.items():
            fields = [f for f in sorted(request.changes) if FIELD_CATEGORIES[f] in categories]
            if fields:
                told[recipient] = fields
        self._log("rectification", request, summary)
        return SystemWriteResult(
            system=request.system,
            tables=summary.tables,
            recipients=list(told),
            recipient_fields=told,
            values_withheld=list(told) if system.disclosure_log else [],
            categories=list(received.categories),
            protected_identity=await has_protected_identity(engine, system, request.subject_id),
        )

    @staticmethod
    def _log(what: str, request: SystemWriteInput, summary: WriteSummary) -> None:
        activity.logger.info(
            what,
            extra={
                "case_number": request.case_number,
                "system": request.system,
                "rows": sum(summary.tables.values()),
            },
        )
