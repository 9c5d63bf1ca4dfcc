"""The document management plan: which records may be destroyed, under which decision, when.

A municipal company's records are official documents (allmänna handlingar, OSL 2:3), its
customer records included, and the archive act applies to them: they may be destroyed only
under a disposal decision (gallringsbeslut) in the company's document management plan
(dokumenthanteringsplan; arkivlagen (1990:782) 10 §). So erasure under GDPR Art. 17 can go no
further than a disposal rule allows (Art. 17(3)(b): a legal obligation to keep). Each rule says
what it covers and after how long the records may go; the laws that set minimum periods are
written into the rules, e.g. Bokföringslagen's seven years for accounting records (7 kap. 2 §),
which also covers meter values that bill the grid fee (EIFS 2016:2 refers to it).

A rule's periods, all of which must have passed (the latest wins):
- ``contract_ended``: kept while a contract runs (an end date that is empty, or today or later).
- ``accounting``: to the end of the seventh year after the calendar year in which the financial
  year ended (Bokföringslagen 7 kap. 2 §); the financial year is a setting.
- ``{years: N}``: N years after the date.
A rule without periods lets the records go as soon as they are no longer needed (vid
inaktualitet), which an erasure request makes them. Records under no rule are never destroyed.

The plan is read from ``config/document_plan.yaml``; the systems' declarations name the rule of
each table (``erasure.disposal``) and the columns each period counts from. Pure: no I/O but
reading the plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from infra.declarations import load_declaration

Period = Literal["contract_ended", "accounting", "years"]
# The rule ids a kept row carries (in erasure plans and their follow-ups): a dated period, or
# why it is kept without a date. "running_contract" and "archive" are what earlier plans called
# the undated ones, so kept rows of cases planned before read the same.
RULE_OF_PERIOD: dict[Period, str] = {
    "contract_ended": "running_contract",
    "accounting": "accounting",
    "years": "years",
}
NO_DISPOSAL_RULE = "archive"


class _Plan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class YearsAfter(_Plan):
    years: Annotated[int, Field(ge=1, le=100)]


class DisposalRule(_Plan):
    """One disposal decision of the plan (gallringsbeslut): what it covers and when."""

    covers: Annotated[str, Field(min_length=1)]
    after: list[Literal["contract_ended", "accounting"] | YearsAfter] = []
    # What the answer adds, in the subject's words: why the law keeps the records, or how long
    # they are kept when nobody asks for erasure.
    note: str = ""

    def periods(self) -> list[Period]:
        return ["years" if isinstance(p, YearsAfter) else p for p in self.after]

    def years(self) -> int | None:
        return next((p.years for p in self.after if isinstance(p, YearsAfter)), None)

    def when_sv(self) -> str:
        """When the rule lets the records go, in Swedish."""
        parts = []
        for period in self.after:
            if period == "contract_ended":
                parts.append("när avtalet har upphört")
            elif period == "accounting":
                parts.append(
                    "efter utgången av det sjunde året efter det kalenderår då räkenskapsåret "
                    "avslutades"
                )
            else:
                assert isinstance(period, YearsAfter)
                parts.append(f"{period.years} år efter registreringen")
        return " och ".join(parts) if parts else "när uppgifterna inte längre behövs"


class DocumentPlan(_Plan):
    """The document management plan: its name, when and by whom it was adopted, its rules by
    reference (the point of the plan)."""

    name: Annotated[str, Field(min_length=1)]
    adopted: Annotated[str, Field(min_length=1)]
    rules: dict[Annotated[str, Field(min_length=1, max_length=40)], DisposalRule]

    def rule(self, reference: str) -> DisposalRule:
        return self.rules[reference]


class DocumentPlanError(ValueError):
    """The plan is missing or invalid; the message names the file and the field."""


DEFAULT_PLAN = Path(__file__).resolve().parent.parent / "config" / "document_plan.yaml"


def load_document_plan(path: Path = DEFAULT_PLAN) -> DocumentPlan:
    return load_declaration(path, DocumentPlan, DocumentPlanError)


# --- when a row may go -----------------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    """Why and how long a row must stay; of several, the greatest wins (`order`)."""

    rank: int  # ERASE, UNTIL, then the undated holds (RUNNING_CONTRACT, ARCHIVE, ...)
    until: date | None = None  # the last day it must be kept, for UNTIL
    rule: str = ""  # running_contract, accounting, years, archive (RULE_OF_PERIOD)

    @property
    def order(self) -> tuple[int, date]:
        return (self.rank, self.until or date.min)


ERASE, UNTIL, RUNNING_CONTRACT, ARCHIVE = 0, 1, 2, 3
ERASE_NOW = Hold(ERASE)
KEPT_FOR_GOOD = Hold(ARCHIVE, rule=NO_DISPOSAL_RULE)


def financial_year_end(day: date, first_month: int) -> date:
    """The last day of the financial year `day` falls in, for a financial year that starts on
    the first of `first_month` (Bokföringslagen 3 kap.: twelve months, from the first of any
    month)."""
    if not 1 <= first_month <= 12:
        raise ValueError("financial year: the first month is 1-12")
    if first_month == 1:
        return date(day.year, 12, 31)
    end_year = day.year + 1 if day.month >= first_month else day.year
    return date(end_year, first_month, 1) - timedelta(days=1)


def accounting_kept_until(day: date, first_month: int = 1) -> date:
    """The last day an accounting record dated `day` must be kept: the end of the seventh year
    after the calendar year in which its financial year ended (Bokföringslagen 7 kap. 2 §)."""
    return date(financial_year_end(day, first_month).year + 7, 12, 31)


def years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a year without it
        return day.replace(year=day.year + years, day=28)


def hold_under(
    rule: DisposalRule,
    dates: Mapping[Period, Sequence[date | None]],
    today: date,
    *,
    financial_year_first_month: int = 1,
) -> Hold:
    """How long `rule` keeps a row whose periods count from `dates` (each period's dates: the
    row's own, or the subject's rows of another table). Every period must have passed."""
    holds = [ERASE_NOW]
    for period in rule.periods():
        values = list(dates.get(period, ()))
        if period == "contract_ended":
            # No end date, or one not yet passed: the contract runs. No contract: none runs.
            if any(value is None or value >= today for value in values):
                holds.append(Hold(RUNNING_CONTRACT, rule=RULE_OF_PERIOD[period]))
            continue
        known = [value for value in values if value is not None]
        if not known:
            continue
        basis = max(known)
        if period == "accounting":
            until = accounting_kept_until(basis, financial_year_first_month)
        else:
            years = rule.years()
            assert years is not None
            until = years_later(basis, years)
        if until >= today:
            holds.append(Hold(UNTIL, until=until, rule=RULE_OF_PERIOD[period]))
    return max(holds, key=lambda hold: hold.order)


# --- what the subject is told ------------------------------------------------------------------

_WHY_KEPT_SV = {
    "running_contract": "Uppgifterna behövs så länge avtalet löper (artikel 6.1 b "
    "dataskyddsförordningen).",
    "accounting": "Räkenskapsinformation sparas till och med det sjunde året efter utgången av "
    "det kalenderår då räkenskapsåret avslutades (bokföringslagen 7 kap. 2 §).",
    "years": "Gallringsbeslutet anger hur länge uppgifterna ska bevaras.",
}
ARCHIVED_SV = (
    "Uppgifterna är allmänna handlingar och bevaras enligt arkivlagen (1990:782): "
    "dokumenthanteringsplanen har inget gallringsbeslut som medger att de förstörs."
)


def reason_kept_sv(plan: DocumentPlan, reference: str | None, hold: Hold) -> str:
    """Why a row is kept, and under which decision it goes when its time comes."""
    if reference is None or hold.rule == NO_DISPOSAL_RULE:
        return ARCHIVED_SV
    rule = plan.rule(reference)
    note = f" {rule.note}" if rule.note else ""
    return (
        f"{_WHY_KEPT_SV[hold.rule]}{note} Därefter gallras de enligt gallringsbeslut "
        f"{reference} i {plan.name} ({rule.covers.rstrip('.')})."
    )


def reason_erased_sv(plan: DocumentPlan, reference: str) -> str:
    """Under which decision a row may go now."""
    rule = plan.rule(reference)
    return (
        f"Får gallras nu enligt gallringsbeslut {reference} i {plan.name} "
        f"({rule.covers.rstrip('.')}: gallras {rule.when_sv()})."
    )


def retention_sv(plan: DocumentPlan, reference: str | None) -> str:
    """A table's retention as an access answer states it (Art. 15(1)(d))."""
    if reference is None:
        return ARCHIVED_SV
    rule = plan.rule(reference)
    note = f" {rule.note}" if rule.note else ""
    return f"Gallras {rule.when_sv()} (gallringsbeslut {reference}, {plan.name}).{note}"
