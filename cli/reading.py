"""Reading cases: status, lists, the extract, an erasure's follow-up."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from cli.api import call
from cli.app import CaseArgument, JsonOption, act, app, register
from cli.parse import fail, parse_case_number, parse_period
from cli.show import console, emit, print_status
from contract.handling import RECORD_DISPOSAL_DECISION
from contract.vocabulary import Kind

# --- reading ---------------------------------------------------------------------------------


@register(app, "status")
def status(case: CaseArgument, as_json: JsonOption = False) -> None:
    """State, deadline, days left, steps done, the extract, and linked cases.

    For a public-access request also what was asked, the documents, the fee, the formal
    decision and any appeal. Opening a case is recorded in its trail."""
    current: dict[str, Any] = call("GET", f"/cases/{parse_case_number(case)}")
    emit(as_json, current, lambda: print_status(current))


@register(app, "list")
def list_cases(
    open_only: Annotated[bool, typer.Option("--open", help="Only cases still open.")] = False,
    kind: Annotated[Kind | None, typer.Option("--kind")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only open cases past their deadline.")
    ] = False,
    due_within: Annotated[
        str | None,
        typer.Option("--due-within", help="Only open cases due within this time, e.g. 7d or 2w."),
    ] = None,
    assignee: Annotated[
        str | None, typer.Option("--assignee", help="Only this handler's cases.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Cases from the Temporal visibility store (what supervisors see in the Web UI)."""
    if assignee is not None and re.search(r"\d{6}", assignee):
        # Not sent: it would travel in the address, where a proxy's log could keep it.
        fail("--assignee: a handler id has no run of six digits (an identity number?)")
    params = {
        "open": open_only or None,
        "kind": kind.value if kind else None,
        "overdue": overdue or None,
        "due_within_days": parse_period(due_within).days if due_within is not None else None,
        "assignee": assignee,
    }
    answer: dict[str, Any] = call("GET", "/cases", params=params)

    def human() -> None:
        from rich.table import Table

        table = Table()
        columns = ("case_number", "kind", "state", "deadline", "assignee", "escalation")
        for column in ("case", *columns[1:]):
            table.add_column(column, no_wrap=True)
        for row in answer["cases"]:
            table.add_row(*(str(row.get(k) or "-") for k in columns))
        console().print(table)

    emit(as_json, answer, human)


@register(app, "show-extract")
def show_extract(
    case: CaseArgument,
    as_json_file: Annotated[
        bool, typer.Option("--json-file", help="The machine-readable JSON instead of the letter.")
    ] = False,
) -> None:
    """Print a case's extract for the review: the Swedish HTML letter, or its JSON.

    The service opens it from the sealed store for the person signed in, and the reading is
    recorded in the case's trail."""
    params = {"format": "json" if as_json_file else "html"}
    typer.echo(call("GET", f"/cases/{parse_case_number(case)}/extract", params=params, raw=True))


@register(app, "retention")
def retention(case: CaseArgument, as_json: JsonOption = False) -> None:
    """What an erasure case still keeps and when its follow-up looks again."""
    progress: dict[str, Any] = call("GET", f"/cases/{parse_case_number(case)}/retention")

    def human() -> None:
        console().print(f"{progress['case_number']} retention follow-up, {progress['runs']} runs")
        console().print(f"next run: {progress.get('next_due') or 'none planned'}")
        waiting = {
            "running_contract": "a contract that still runs (looked at again monthly)",
            "archive": "the archive's disposal decision (record-disposal-decision)",
        }
        for rule in progress.get("waiting", []):
            console().print(f"waiting for: {waiting.get(rule, rule)}")
        if progress.get("disposal_reference"):
            console().print(f"disposal decision: {progress['disposal_reference']}")
        for table, rows in sorted((progress.get("erased") or {}).items()):
            console().print(f"erased so far: {table}: {rows}")

    emit(as_json, progress, human)


@register(app, "record-disposal-decision")
def record_disposal_decision(
    case: CaseArgument,
    reference: Annotated[
        str,
        typer.Option(
            "--reference", help="The disposal decision (gallringsbeslut), e.g. its diary number."
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """The archive's disposal decision lets an erasure case's archived rows go now."""
    progress = act(case, RECORD_DISPOSAL_DECISION, {"reference": reference})
    erased = sum((progress.get("erased") or {}).values())
    emit(
        as_json,
        progress,
        lambda: console().print(
            f"{progress['case_number']}: disposal decision recorded; {erased} rows erased in all"
        ),
    )
