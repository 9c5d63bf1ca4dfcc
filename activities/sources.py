"""Collection from the connected systems, one activity per system, run in parallel."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.places import PlaceCollector
from activities.store import ExtractStore
from contract.case import CollectionResult
from contract.steps import CollectInput, PlanCollectionInput, PlanCollectionResult
from systems.catalog import Catalog
from systems.connector import collect_subject
from systems.places import PLACES


class SourceActivities:
    def __init__(
        self,
        catalog: Catalog,
        engines: Mapping[str, AsyncEngine],
        store: ExtractStore,
        *,
        tell_assignee_after_seconds: int = 3600,
        places: PlaceCollector | None = None,
    ) -> None:
        self._catalog = catalog
        self._engines = engines
        self._store = store
        self._tell_after = tell_assignee_after_seconds
        self._places = places

    @activity.defn
    async def plan_collection(self, plan: PlanCollectionInput) -> PlanCollectionResult:
        """The systems to collect from, and the other places an access answer searches (the
        document archive, the case register), fixed in history so a replay sees the same lists,
        and how long a case waits for one that does not answer before its assignee is told."""
        return PlanCollectionResult(
            systems=self._catalog.names(),
            places=list(PLACES) if self._places is not None else [],
            tell_assignee_after_seconds=self._tell_after,
        )

    @activity.defn
    async def collect(self, request: CollectInput) -> CollectionResult:
        """Write the subject's rows in one system to the store; return the reference.

        Idempotent: a retry rewrites the same file (the connector replaces it atomically).
        The archive and the case register are collected the same way (activities/places.py).
        """
        if request.system in PLACES:
            assert self._places is not None
            return await self._places.collect(request)
        system = self._catalog.systems[request.system]
        ref = self._store.ref(request.case_number, request.version, f"{request.system}.json")
        destination = self._store.scratch(ref)
        # Large systems (years of meter readings) take a while: the workflow gives collection a
        # heartbeat timeout, so it heartbeats while it runs (activities/heartbeat.py).
        summary = await collect_subject(
            self._engines[request.system], system, request.subject_id, destination
        )
        self._store.seal(destination, ref)
        activity.logger.info(
            "collected",
            extra={
                "case_number": request.case_number,
                "system": request.system,
                "rows": sum(summary.tables.values()),
            },
        )
        return CollectionResult(
            system=request.system,
            ref=ref,
            tables=summary.tables,
            found=summary.found,
            protected_identity=summary.protected_identity,
        )
