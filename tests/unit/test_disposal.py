"""The document management plan's disposal rules, checked against the law written out here:
Bokföringslagen 7 kap. 2 § (to the end of the seventh year after the calendar year in which the
financial year ended), a financial year of twelve months from the first of any month (3 kap.),
and the plan's own periods."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from systems.disposal import (
    ARCHIVED_SV,
    DisposalRule,
    DocumentPlanError,
    YearsAfter,
    accounting_kept_until,
    financial_year_end,
    hold_under,
    load_document_plan,
    reason_kept_sv,
    retention_sv,
)

TODAY = date(2026, 12, 1)
WORKER = Path(__file__).resolve().parents[2] / "worker.py"


@pytest.mark.parametrize(
    ("day", "first_month", "end"),
    [
        (date(2025, 6, 1), 1, date(2025, 12, 31)),  # the calendar year
        (date(2025, 3, 1), 5, date(2025, 4, 30)),  # May to April: still the year before's
        (date(2025, 6, 1), 5, date(2026, 4, 30)),
        (date(2025, 5, 1), 5, date(2026, 4, 30)),  # the first day of a financial year
        (date(2024, 7, 15), 7, date(2025, 6, 30)),
        (date(2024, 2, 29), 3, date(2024, 2, 29)),  # leap year: March to February
    ],
)
def test_the_financial_year_ends_twelve_months_after_its_first_month(
    day: date, first_month: int, end: date
) -> None:
    assert financial_year_end(day, first_month) == end


@pytest.mark.parametrize(
    ("day", "first_month", "kept_until"),
    [
        (date(2025, 6, 1), 1, date(2032, 12, 31)),
        (date(2025, 3, 1), 5, date(2032, 12, 31)),  # its financial year ended in 2025
        (date(2025, 6, 1), 5, date(2033, 12, 31)),  # its financial year ends in 2026
    ],
)
def test_accounting_records_are_kept_to_the_end_of_the_seventh_year_after_the_year_ended(
    day: date, first_month: int, kept_until: date
) -> None:
    assert accounting_kept_until(day, first_month) == kept_until


def test_a_rule_keeps_a_row_until_every_period_has_passed() -> None:
    customers = DisposalRule(covers="Kunduppgifter", after=["contract_ended", "accounting"])
    # A contract that runs beats any date.
    running = hold_under(
        customers, {"contract_ended": [None], "accounting": [date(2025, 1, 1)]}, TODAY
    )
    assert (running.rule, running.until) == ("running_contract", None)
    # Ended: the accounting years keep it, from the latest date among the subject's rows.
    ended = hold_under(
        customers,
        {
            "contract_ended": [date(2025, 12, 31)],
            "accounting": [date(2024, 1, 1), date(2026, 1, 1)],
        },
        TODAY,
    )
    assert (ended.rule, ended.until) == ("accounting", date(2033, 12, 31))
    # With a financial year from May, 1 Jan 2026 belongs to the year that ends April 2026.
    may = hold_under(
        customers,
        {"contract_ended": [date(2025, 12, 31)], "accounting": [date(2026, 6, 1)]},
        TODAY,
        financial_year_first_month=5,
    )
    assert may.until == date(2034, 12, 31)
    # All past: it may go.
    gone = hold_under(
        customers, {"contract_ended": [date(2020, 1, 1)], "accounting": [date(2018, 1, 1)]}, TODAY
    )
    assert gone.rank == 0 and gone.until is None


def test_a_rule_of_years_and_a_rule_without_periods() -> None:
    readings = DisposalRule(covers="Övriga mätvärden", after=[YearsAfter(years=6)])
    hold = hold_under(readings, {"years": [date(2024, 2, 29)]}, TODAY)
    assert hold.until == date(2030, 2, 28)  # no 29 Feb in 2030
    at_once = DisposalRule(covers="Kreditupplysningar", after=[])
    assert hold_under(at_once, {}, TODAY).rank == 0


def test_the_shipped_plan_loads_and_says_when_in_swedish() -> None:
    plan = load_document_plan()
    assert "Dokumenthanteringsplan" in plan.name
    assert plan.rule("DHP 5.2").after == ["accounting"]
    assert "EIFS 2016:2" in plan.rule("DHP 5.2").note
    text = retention_sv(plan, "DHP 4.3")
    assert "sjunde året" in text and "DHP 4.3" in text
    assert retention_sv(plan, None) == ARCHIVED_SV and "arkivlagen" in ARCHIVED_SV
    kept = reason_kept_sv(
        plan,
        "DHP 4.3",
        hold_under(plan.rule("DHP 4.3"), {"accounting": [date(2026, 1, 1)]}, TODAY),
    )
    assert "bokföringslagen 7 kap. 2 §" in kept and "gallringsbeslut DHP 4.3" in kept


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "name: P\nadopted: x\nrules:\n  A:\n    covers: X\n    after: [forever]\n",
            "rules.A.after",
        ),
        ("name: P\nadopted: x\nrules:\n  A:\n    after: []\n", "rules.A.covers"),
        ("name: P\nrules: {}\n", "adopted"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_file_and_field(
    tmp_path: Path, text: str, where: str
) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DocumentPlanError) as refused:
        load_document_plan(path)
    assert str(refused.value).startswith(f"plan.yaml: {where}")


@pytest.mark.asyncio(loop_scope="session")
async def test_a_worker_refuses_declarations_that_name_a_rule_the_plan_lacks(
    tmp_path: Path,
) -> None:
    """A table whose disposal rule is not in the document plan would be erased without a
    decision that allows it: the worker does not start, and says which table and rule."""
    plan = load_document_plan()
    lacking = tmp_path / "plan.yaml"
    lacking.write_text(
        yaml.safe_dump(
            {
                "name": plan.name,
                "adopted": plan.adopted,
                "rules": {
                    reference: rule.model_dump(mode="json")
                    for reference, rule in plan.rules.items()
                    if reference != "DHP 4.3"
                },
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        env={
            **os.environ,
            "DSR_DOCUMENT_PLAN": str(lacking),
            "DSR_VAR_DIR": str(tmp_path),
            "DSR_TEMPORAL_ADDRESS": "127.0.0.1:1",
            "DSR_METRICS_ADDRESS": "",
            "DSR_WORKER_HEALTH_ADDRESS": "",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    message = err.decode()
    assert "worker not started" in message
    assert "billing.yaml: tables.invoices.erasure.disposal: 'DHP 4.3' is not a disposal rule" in (
        message
    )
