"""Collection from the places that are not connected systems: the document archive and the case
register (Art. 15: the search covers the whole organisation, EDPB 01/2022).

Each writes one file to the extract store, as a system's collection does, and returns a
reference with counts. The archive gives the documents that name the subject, each copy with
what it says of other people masked (Art. 15(4)); the register gives the subject's earlier
requests, found by the keyed reference it stores instead of the number.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from activities.store import ExtractStore
from contract.calendar import STOCKHOLM
from contract.case import CollectionResult
from contract.steps import CollectInput
from contract.subject import subject_reference
from infra.db import Case, CaseEvent
from infra.masking import mask_parts, occurrences
from systems.document_archive import ArchiveDecl, Party, SubjectDocument, documents_naming
from systems.places import ARCHIVE, REGISTER, RegisterPlaceDecl

# What replaces another person's name, number or address in a copy given to the subject.
OTHER_PERSON_SV = "[uppgift om annan person borttagen]"
OTHER_PERSON_NOTE_SV = (
    "I kopiorna har uppgifter om andra personer tagits bort, eftersom rätten till en kopia "
    "inte får inkräkta på andras rättigheter (artikel 15.4 dataskyddsförordningen)."
)
# A request's kind and outcome, and what a trail row says went out, in the subject's words.
KINDS_SV = {
    "access": "Begäran om registerutdrag (artikel 15)",
    "rectification": "Begäran om rättelse (artikel 16)",
    "restriction": "Begäran om begränsning av behandling (artikel 18)",
    "objection": "Invändning mot direktmarknadsföring (artikel 21)",
    "erasure": "Begäran om radering (artikel 17)",
    "portability": "Begäran om dataportabilitet (artikel 20)",
}
OUTCOMES_SV = {
    "delivered": "besvarad",
    "delivered_manually": "besvarad, svaret lämnat av en handläggare",
    "closed_unverified": "avslutad: identiteten kunde inte styrkas",
    "completed": "genomförd",
    "partly_completed": "delvis genomförd",
    "rejected": "avslagen",
    "lifted": "begränsningen hävd",
    "refused": "avslagen som uppenbart ogrundad eller orimlig",
    "withdrawn": "återkallad av dig",
}
SENT_SV = {
    "delivered:digital_mailbox": "Svaret skickades till din digitala brevlåda",
    "delivered:letter": "Svaret skickades med brev till din folkbokföringsadress",
    "notice_sent": "Ett meddelande skickades till din digitala brevlåda",
    "record_manual_delivery": "Svaret lämnades över av en handläggare",
    "extend": "Vi meddelade att tiden för svaret förlängdes",
    "pause_started:identity": "Vi bad dig styrka din identitet",
    "pause_started:clarification": "Vi bad dig förtydliga din begäran",
}


class PlaceCollector:
    """Collects a subject's data from the archive and the register, for an access answer."""

    def __init__(
        self,
        *,
        archive: AsyncEngine,
        archive_decl: ArchiveDecl,
        register: async_sessionmaker[AsyncSession],
        register_decl: RegisterPlaceDecl,
        secret: str,
        store: ExtractStore,
    ) -> None:
        self._archive = archive
        self._archive_decl = archive_decl
        self._register = register
        self._register_decl = register_decl
        self._secret = secret
        self._store = store

    def title(self, place: str) -> str:
        return self._archive_decl.title if place == ARCHIVE else self._register_decl.title

    async def collect(self, request: CollectInput) -> CollectionResult:
        if request.system == ARCHIVE:
            content, table, count = await self._documents(request)
        elif request.system == REGISTER:
            content, table, count = await self._earlier_cases(request)
        else:
            raise ValueError(f"collect: {request.system!r} is not a place")
        ref = self._store.ref(request.case_number, request.version, f"{request.system}.json")
        self._store.write(ref, json.dumps(content, ensure_ascii=False))
        return CollectionResult(
            system=request.system,
            ref=ref,
            tables={table: count},
            found=count > 0,
            protected_identity=False,
        )

    async def _documents(self, request: CollectInput) -> tuple[dict[str, Any], str, int]:
        """The documents that name the subject, each copy masked of other people (15(4))."""
        decl = self._archive_decl
        found = await documents_naming(self._archive, decl, request.subject_id)
        documents = []
        for item in found:
            parts = _other_people(item.parties, request.subject_id)
            documents.append(
                {
                    "document_id": item.document.document_id,
                    "type": decl.document_types.get(item.document.type, item.document.type),
                    "date": item.document.date.isoformat(),
                    "title": mask_parts(item.document.title, parts),
                    "copy": mask_parts(item.text, parts),
                    "masked": any(_occurs(item, part) for part, _ in parts),
                }
            )
        place = decl.subject_access
        return (
            {
                "system": ARCHIVE,
                "title": decl.title,
                "label": place.label,
                "purpose": place.purpose,
                "legal_basis": place.legal_basis,
                "documents": documents,
            },
            "documents",
            len(documents),
        )

    async def _earlier_cases(self, request: CollectInput) -> tuple[dict[str, Any], str, int]:
        """The subject's other requests in the register and the letters sent in them."""
        reference = subject_reference(request.subject_id, self._secret)
        async with self._register() as session:
            cases = (
                await session.scalars(
                    select(Case)
                    .where(Case.subject_ref == reference, Case.case_number != request.case_number)
                    .order_by(Case.received_at, Case.case_number)
                )
            ).all()
            events = (
                await session.scalars(
                    select(CaseEvent)
                    .where(CaseEvent.case_number.in_([case.case_number for case in cases]))
                    .order_by(CaseEvent.at, CaseEvent.id)
                )
            ).all()
        letters: dict[str, list[dict[str, str]]] = {}
        for event in events:
            what = SENT_SV.get(event.action)
            if what is not None:
                day = event.at.astimezone(STOCKHOLM).date().isoformat()
                letters.setdefault(event.case_number, []).append({"date": day, "what": what})
        decl = self._register_decl
        rows = [
            {
                "case_number": case.case_number,
                "kind": KINDS_SV.get(case.kind, case.kind),
                "received": case.received_at.astimezone(STOCKHOLM).date().isoformat(),
                "closed": case.closed_at.astimezone(STOCKHOLM).date().isoformat()
                if case.closed_at
                else None,
                "outcome": OUTCOMES_SV.get(case.outcome or "", "pågår"),
                "letters": letters.get(case.case_number, []),
            }
            for case in cases
        ]
        return (
            {
                "system": REGISTER,
                "title": decl.title,
                "label": decl.label,
                "purpose": decl.purpose,
                "legal_basis": decl.legal_basis,
                "cases": rows,
            },
            "cases",
            len(rows),
        )


def _other_people(parties: tuple[Party, ...], subject_id: str) -> list[tuple[str, str]]:
    """What a copy must not show of the other private persons a document names: their names,
    identity numbers in every written form, and addresses."""
    parts: list[tuple[str, str]] = []
    for party in parties:
        if not party.person or party.personal_number == subject_id:
            continue
        parts.append((party.name, OTHER_PERSON_SV))
        if party.address:
            parts.append((party.address, OTHER_PERSON_SV))
        number = party.personal_number
        if number:
            short = number[2:]
            for form in (number, f"{short[:6]}-{short[6:]}", f"{short[:6]}+{short[6:]}", short):
                parts.append((form, OTHER_PERSON_SV))
    return parts


def _occurs(item: SubjectDocument, part: str) -> bool:
    return occurrences(f"{item.document.title}\n{item.text}", part) > 0
