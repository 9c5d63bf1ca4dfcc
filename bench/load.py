"""Load: requests of every kind submitted at once, each driven to its end as handlers drive it,
then checked against the case register and Temporal: none lost, none duplicated, the two
agreeing on every case.

`tests/faults/test_load.py` runs it small (against the test session's dev server and an
in-process worker); `bench/run_load.py` runs it large (`make bench`: 500 requests, worker
processes, a dev server of its own).

Subjects. The demo systems hold seventeen people, and a person has one open case per kind, so
the run adds customers of its own to the demo systems (`seed_subjects`: valid identity numbers,
rows in billing, network and marketing) and gives every GDPR request a subject of its own: what
one case does to a person's data (a restriction, an erasure) never changes another case's course.
Some requests are submitted twice at the same moment, as a person who clicks twice: intake
must answer both with one case.

Handlers act on what Temporal's visibility store shows (one list query per poll for the whole
run, as a supervisor's `list --open`: the cases waiting for a person, and those closed),
confirmed by the workflow's own description before they act; the only `status` queries are a
public-access handler's look at what the search found, and no case holds a long poll open
until it has closed. A server that times out a
call under the load is asked again, as a person would: counted, not failed.

The load's requests and its result are here; seeding in bench/seed.py, driving in
bench/drive.py, the check in bench/check.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from app.registry import CASE_WORKFLOWS
from bench.throwaway import HANDLERS
from contract.case import CaseState, Outcome
from contract.intake import FieldChange, RequestDetails
from contract.public_request import Contact, DocumentQuery, PublicRequest
from contract.vocabulary import Channel, Kind, RectifiableField, RestrictionGround

T = TypeVar("T", bound=BaseModel)
KINDS: tuple[Kind, ...] = tuple(Kind)
# The roster's handlers take the cases in turn (bench.throwaway.HANDLERS); erasure plans are
# approved by a team lead other than the one who prepared them (four eyes).
# Where a case waits for a person: the states the handlers look for.
WAITING = frozenset(
    {
        CaseState.AWAITING_IDENTITY,
        CaseState.AWAITING_REVIEW,
        CaseState.AWAITING_DECISION,
        CaseState.AWAITING_APPROVAL,
        CaseState.RESTRICTED,
        CaseState.AWAITING_CONFIRMATION,
        CaseState.SECRECY_REVIEW,
        CaseState.AWAITING_MANUAL_DELIVERY,
    }
)
# The ends the handlers' actions below lead to, per kind.
EXPECTED: dict[Kind, frozenset[Outcome]] = {
    Kind.ACCESS: frozenset({Outcome.DELIVERED}),
    Kind.PORTABILITY: frozenset({Outcome.DELIVERED}),
    Kind.RECTIFICATION: frozenset({Outcome.COMPLETED}),
    Kind.RESTRICTION: frozenset({Outcome.LIFTED}),
    Kind.OBJECTION: frozenset({Outcome.COMPLETED}),
    Kind.ERASURE: frozenset({Outcome.COMPLETED, Outcome.PARTLY_COMPLETED}),
    Kind.PUBLIC_ACCESS: frozenset({Outcome.RELEASED}),
}
_DOCUMENT_TYPES = ("board_minutes", "outage_report")
CASE_TYPES = frozenset(workflow.__name__ for workflow in CASE_WORKFLOWS.values())


# --- the requests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadRequest:
    """One request of the run and how its handler takes it to its end."""

    number: int
    kind: Kind
    subject_id: str | None  # None: a public-access request
    handler: str
    channel: Channel = Channel.E_SERVICE
    bankid: bool = True
    # Submitted twice at the same moment: intake must answer both with the one case.
    twice: bool = False


def subjects_needed(requests: int) -> int:
    """How many subjects `plan_requests` gives `requests` requests (one per GDPR request)."""
    return sum(1 for n in range(requests) if KINDS[n % len(KINDS)] is not Kind.PUBLIC_ACCESS)


def plan_requests(
    total: int, subjects: Sequence[str], *, twice_every: int = 5
) -> list[LoadRequest]:
    """`total` requests, the kinds in turn (so every kind is spread over the run), a subject of
    its own for each GDPR request; every `twice_every`-th request that waits for a handler
    (not an objection, which ends by itself, nor public access, which has no "one open case")
    is submitted twice."""
    gdpr = subjects_needed(total)
    if len(subjects) < gdpr:
        raise ValueError(f"plan_requests: {gdpr} subjects needed, {len(subjects)} given")
    free = iter(subjects)
    requests: list[LoadRequest] = []
    doubled = 0
    for n in range(total):
        kind = KINDS[n % len(KINDS)]
        by_letter = kind is Kind.ACCESS and (n // len(KINDS)) % 2 == 1
        twice = False
        if kind not in (Kind.OBJECTION, Kind.PUBLIC_ACCESS):
            doubled += 1
            twice = twice_every > 0 and doubled % twice_every == 0
        requests.append(
            LoadRequest(
                number=n + 1,
                kind=kind,
                subject_id=None if kind is Kind.PUBLIC_ACCESS else next(free),
                handler=HANDLERS[n % len(HANDLERS)],
                # Every other access request comes by letter: a handler checks the identity.
                channel=Channel.LETTER if by_letter else Channel.E_SERVICE,
                bankid=not by_letter and kind is not Kind.PUBLIC_ACCESS,
                twice=twice,
            )
        )
    return requests


def details_of(request: LoadRequest) -> RequestDetails:
    if request.kind is Kind.RECTIFICATION:
        return RequestDetails(
            changes=[
                FieldChange(
                    field=RectifiableField.EMAIL,
                    new_value=f"ny.adress.{request.number}@example.se",
                    evidence="Kunden bekräftade i e-tjänsten.",
                )
            ],
            restrict_while_checking=request.number % 2 == 0,
        )
    if request.kind is Kind.RESTRICTION:
        grounds = tuple(RestrictionGround)
        return RequestDetails(restriction_ground=grounds[request.number % len(grounds)])
    return RequestDetails()


def public_of(request: LoadRequest) -> PublicRequest | None:
    if request.kind is not Kind.PUBLIC_ACCESS:
        return None
    kind = _DOCUMENT_TYPES[request.number % len(_DOCUMENT_TYPES)]
    return PublicRequest(
        description="Styrelseprotokoll" if kind == "board_minutes" else "Avbrottsrapporter",
        query=DocumentQuery(types=[kind]),
        contact=Contact(email=f"begaran.{request.number}@example.org"),
    )


# --- the result ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindCount:
    submitted: int
    completed: int
    outcomes: dict[str, int]
    median_seconds: float | None  # from submission to the case's end
    max_seconds: float | None


@dataclass(frozen=True)
class LoadResult:
    """What the run did, and what the register and Temporal say about every request.

    lost: a request without a case in the register or a case workflow in Temporal.
    duplicated: a request with more than one case (register or Temporal), a subject with two
    cases of a kind, a double submission answered with two cases, or a case workflow on the
    task queue that no request was answered with.
    mismatched: a case whose register entry (state, outcome, kind, open key, trail) disagrees
    with its workflow in Temporal (status, outcome, search attributes).
    unfinished: a case that did not reach its end in time; unexpected: one that ended with an
    outcome the handlers' actions do not lead to.
    """

    submitted: int
    completed: int
    lost: int
    duplicated: int
    mismatched: int
    unfinished: int
    unexpected: int
    submitted_twice: int
    stale_actions: int  # actions refused because the case had moved on (harmless, retried)
    retries: int  # calls the server timed out or dropped, tried again
    elapsed_seconds: float
    per_kind: dict[str, KindCount]
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (
            self.lost == self.duplicated == self.mismatched == self.unexpected == 0
            and self.completed == self.submitted
        )

    @property
    def throughput(self) -> float:
        """Cases taken to their end per second."""
        return self.completed / self.elapsed_seconds if self.elapsed_seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "throughput_per_second": round(self.throughput, 3),
            "passed": self.passed,
        }
