"""The tamper-evident trail: each case event is chained to the one before by a keyed hash.

Every row of a case's trail (`case_events`) gets a link (`audit_links`): HMAC-SHA256, with a
key derived from the register's secret (never stored in the database), over the previous
link's hash and the row's content in a canonical form, written in the same transaction as the
row. Someone who can write to the database but does not hold the secret cannot make a changed
row fit: editing, inserting, removing or reordering rows, or removing links, breaks the chain,
and `verify` says where. Rows of cases created before the register began chaining
(`audit_meta`) may be unlinked; those of later cases may not. Removing the newest rows with
their links leaves a shorter valid chain: `verify` compares the number of state transitions
with the workflow's own count, and `export` writes the head, to be kept elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from infra.codec import EncryptionKeyError, KeyRing
from infra.db import AuditLink, AuditMeta, Case, CaseEvent
from infra.notes import open_note

GENESIS = "0" * 64
# Trail keys below this are the case's state transitions (above: clock, follow-up, disposal).
TRANSITION_KEYS = 10_000
# Reads (a person opened the case, its extract, a document under review) from here up: they
# are evidence too, in the same chain.
READ_TRAIL_KEYS = 1_000_000
# One row per person and kind of read in this window: a view, not each refresh of it.
READ_WINDOW = timedelta(minutes=10)


def canonical(event: CaseEvent) -> bytes:
    """The row's content as hashed: every column but the surrogate id, in a fixed form."""
    at = event.at.astimezone(UTC).isoformat(timespec="microseconds")
    return json.dumps(
        [
            event.case_number,
            event.step,
            at,
            event.actor,
            event.action,
            event.from_state,
            event.to_state,
            event.detail,
        ],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def chain_key(secret: str) -> bytes:
    """The chain's key, derived from the register's secret (a key of its own purpose)."""
    return hmac.new(secret.encode(), b"audit-chain-v1", hashlib.sha256).digest()


def link_hash(key: bytes, previous: str, event: CaseEvent) -> str:
    return hmac.new(key, previous.encode() + b"\n" + canonical(event), hashlib.sha256).hexdigest()


async def append_link(session: AsyncSession, event: CaseEvent, key: bytes) -> None:
    """Chain a new trail row to its case's last link. Call inside the transaction that adds
    the row, after the transaction holds the write lock (SQLite) or the case row (PostgreSQL):
    two appends to one case must not read the same last link."""
    await session.flush()  # the row gets its id, so links follow the trail's order
    previous = await session.scalar(
        select(AuditLink.hash)
        .where(AuditLink.case_number == event.case_number)
        .order_by(AuditLink.event_id.desc())
        .limit(1)
    )
    prev = previous or GENESIS
    session.add(
        AuditLink(
            event_id=event.id,
            case_number=event.case_number,
            prev_hash=prev,
            hash=link_hash(key, prev, event),
        )
    )


@dataclass
class Verification:
    case_number: str
    events: int = 0
    chained: int = 0
    unchained: int = 0  # rows from before the chain existed (a prefix only)
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def summary(self) -> dict[str, Any]:
        """As `audit verify --json` and the API answer it."""
        return {
            "case_number": self.case_number,
            "intact": self.intact,
            "events": self.events,
            "chained": self.chained,
            "unchained_before_the_chain": self.unchained,
            "head": self.head,
            "problems": self.problems,
        }


async def verify(
    session: AsyncSession,
    case_number: str,
    key: bytes,
    *,
    expected_transitions: int | None = None,
) -> Verification:
    """Walk the case's trail in order and recompute every link."""
    result = Verification(case_number)
    case = await session.get(Case, case_number)
    since = await session.scalar(select(AuditMeta.chain_since).where(AuditMeta.id == 1))
    # Cases created since the chain began have every row linked, the first one included.
    started = case is not None and since is not None and case.created_at >= since
    events = list(
        await session.scalars(
            select(CaseEvent).where(CaseEvent.case_number == case_number).order_by(CaseEvent.id)
        )
    )
    links = {
        link.event_id: link
        for link in await session.scalars(
            select(AuditLink).where(AuditLink.case_number == case_number)
        )
    }
    result.events = len(events)
    previous = GENESIS
    for event in events:
        link = links.pop(event.id, None)
        if link is None:
            if started:
                result.problems.append(
                    f"step {event.step}: the row has no link (inserted, or its link removed)"
                )
            else:
                result.unchained += 1
            continue
        started = True
        result.chained += 1
        if link.prev_hash != previous:
            result.problems.append(f"step {event.step}: the row before it was changed or removed")
        if link.hash != link_hash(key, link.prev_hash, event):
            result.problems.append(f"step {event.step}: the row was changed after it was written")
        previous = link.hash
    for event_id in sorted(links):
        result.problems.append(f"a linked row (id {event_id}) is missing: removed")
    result.head = previous
    if expected_transitions is not None:
        transitions = sum(1 for e in events if e.step < TRANSITION_KEYS)
        if transitions < expected_transitions:
            result.problems.append(
                f"the workflow made {expected_transitions} state transitions, the trail holds "
                f"{transitions}: rows were removed from its end"
            )
    return result


async def evidence(
    session: AsyncSession, case_number: str, key: bytes, ring: KeyRing | None = None
) -> dict[str, Any]:
    """The case's audit evidence: the register entry, every event with who and when, each
    link and the verification; no payload data (the trail holds none). Notes are shown opened
    (the register holds them sealed, infra.notes); one that does not open stays sealed and is
    named among the problems."""
    case = await session.get(Case, case_number)
    if case is None:
        raise LookupError(f"case {case_number} is not in the register")
    check = await verify(session, case_number, key)
    links = {
        link.event_id: link
        for link in await session.scalars(
            select(AuditLink).where(AuditLink.case_number == case_number)
        )
    }
    events = await session.scalars(
        select(CaseEvent).where(CaseEvent.case_number == case_number).order_by(CaseEvent.id)
    )

    def shown(event: CaseEvent) -> dict[str, str] | None:
        detail = dict(event.detail or {})
        if not detail.get("note"):
            return event.detail
        try:
            detail["note"] = open_note(ring, case_number, event.step, detail["note"])
        except EncryptionKeyError as error:
            check.problems.append(str(error))
        return detail

    return {
        "case": {
            "case_number": case.case_number,
            "kind": case.kind,
            "received_at": case.received_at.isoformat(),
            "channel": case.channel,
            "deadline": case.deadline.isoformat(),
            "state": case.state,
            "outcome": case.outcome,
            "assignee": case.assignee,
            "created_at": case.created_at.isoformat(),
            "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        },
        "events": [
            {
                "step": event.step,
                "at": event.at.isoformat(),
                "actor": event.actor,
                "action": event.action,
                "from_state": event.from_state,
                "to_state": event.to_state,
                "detail": shown(event),
                "prev_hash": links[event.id].prev_hash if event.id in links else None,
                "hash": links[event.id].hash if event.id in links else None,
            }
            for event in events
        ],
        "verification": {
            "intact": check.intact,
            "events": check.events,
            "chained": check.chained,
            "unchained_before_the_chain": check.unchained,
            "head": check.head,
            "problems": check.problems,
        },
        "exported_at": datetime.now(UTC).isoformat(),
    }
