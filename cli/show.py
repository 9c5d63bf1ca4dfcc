"""What the command line shows a person: tables and lines from the service's answers, or the
answer itself as one JSON object (--json). rich draws them, imported only when something is
shown, with markup off: what the service answers is shown as written."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import typer

from cli.parse import STOCKHOLM
from contract.vocabulary import Kind

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


@cache
def console() -> Console:
    """Standard output for people (rich is imported only when something is shown to one).
    No markup: what the service answers (a handler's reason, a requester's description) is
    shown as written, never taken for formatting or a terminal link."""
    from rich.console import Console

    return Console(markup=False, highlight=False)


@cache
def errors() -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, markup=False, highlight=False)


def emit(as_json: bool, payload: Any, human: Callable[[], None]) -> None:
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        human()


def print_action(result: dict[str, Any], as_json: bool, what: str) -> None:
    emit(
        as_json,
        result,
        lambda: console().print(f"{result['case_number']}: {what}; now {result['state']}"),
    )


def local(instant: str, form: str = "%Y-%m-%d %H:%M") -> str:
    return datetime.fromisoformat(instant).astimezone(STOCKHOLM).strftime(form)


KIND_TITLES = {
    Kind.ACCESS: "Access request",
    Kind.RECTIFICATION: "Rectification request",
    Kind.RESTRICTION: "Restriction request",
    Kind.OBJECTION: "Objection to direct marketing",
    Kind.ERASURE: "Erasure request",
    Kind.PORTABILITY: "Portability request",
    Kind.PUBLIC_ACCESS: "Public-access request",
}


def print_registered(kind: Kind, result: dict[str, Any], as_json: bool) -> None:
    def human() -> None:
        verb = "already open as" if result["existing"] else "registered as"
        # A public-access request is decided without delay (skyndsamt), not within a month.
        due = "decide by" if kind is Kind.PUBLIC_ACCESS else "deadline"
        console().print(
            f"{KIND_TITLES[kind]} {verb} {result['case_number']}, {due} {result['deadline']}"
        )

    emit(as_json, result, human)


def print_status(current: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(show_header=False, box=None)
    table.add_row("case", current["case_number"])
    table.add_row("kind", current["kind"])
    table.add_row("state", f"{current['state']}")
    received = datetime.fromisoformat(current["received_at"]).astimezone(STOCKHOLM)
    table.add_row("received", received.isoformat())
    table.add_row("deadline", f"{current['deadline']} ({current['days_left']} days left)")
    original = current.get("original_deadline")
    if original and original != current["deadline"]:
        why = "extended" if current.get("extension_reason") else "moved by pauses"
        table.add_row("", f"originally {original}; {why}")
    table.add_row("escalation", current["escalation"])
    if current.get("next_escalation"):
        step = current["next_escalation"]
        table.add_row("next step", f"{step['step']} at {local(step['at'])}")
    for pause in current.get("pauses", []):
        start = local(pause["started_at"], "%Y-%m-%d")
        end = local(pause["ended_at"], "%Y-%m-%d") if pause.get("ended_at") else "open"
        counts = "" if pause["counts"] else " (asked late: the clock ran on)"
        table.add_row("paused", f"{pause['reason']}: {start} to {end}{counts}")
    if current.get("awaiting_clarification"):
        table.add_row("waiting for", "the subject's clarification")
    for wait in current.get("waiting_for_systems", []):
        told = f"; assignee told {local(wait['told_at'], '%H:%M')}" if wait.get("told_at") else ""
        table.add_row(
            "waiting for",
            f"system {wait['system']} ({wait['step']}) since {local(wait['since'])}, "
            f"retrying{told}",
        )
    table.add_row("assignee", current.get("assignee") or "-")
    if current.get("identity"):
        identity = current["identity"]
        table.add_row("identity", f"{identity['method']} by {identity['verified_by']}")
    elif current.get("identity_basis"):
        where = {
            "digital_mailbox": "the answer goes to the subject's own digital mailbox",
            "registered_address": "the answer goes by letter to the population-register address",
        }.get(current["identity_basis"], current["identity_basis"])
        table.add_row("identity", f"no proof needed: {where} (Art. 12(6))")
    if current.get("extract"):
        table.add_row("extract", f"sealed; read it with `show-extract {current['case_number']}`")
    if current.get("delivery"):
        delivery = current["delivery"]
        table.add_row("delivered", f"{delivery['method']}: {delivery['location']}")
    if current.get("outcome"):
        table.add_row("outcome", current["outcome"])
    for what, tables in (current.get("applied") or {}).items():
        table.add_row("applied", f"{what}: {tables}")
    if current.get("recipients_notified"):
        table.add_row("recipients told", ", ".join(current["recipients_notified"]))
    if current.get("public"):
        add_public_rows(table, current["public"])
    if current.get("linked"):
        table.add_row("linked", ", ".join(current["linked"]))
    console().print(table)
    if current.get("erasure_plan"):
        plan = Table("system", "table", "action", "rows", "kept until", "reason")
        for item in current["erasure_plan"]:
            until = (
                "" if item["action"] != "keep" else str(item.get("keep_until") or "tills vidare")
            )
            plan.add_row(
                item["system"], item["label"], item["action"], str(item["rows"]), until,
                item["reason"],
            )  # fmt: skip
        console().print(plan)
    steps = Table("when", "step", "by", "state", "why")
    for step in current.get("steps", []):
        steps.add_row(
            local(step["at"]),
            step["action"],
            step["actor"],
            step["state"],
            step.get("detail") or "",
        )
    console().print(steps)


def add_public_rows(table: Table, public: dict[str, Any]) -> None:
    """What a public-access case adds to `status`: the request, the documents, the decision."""
    table.add_row("sender", public["sender"])
    table.add_row("description", public["description"])
    table.add_row(
        "contact", "given: copies are sent" if public.get("contact") else "none: hand over"
    )
    more = " (more matched)" if public.get("truncated") else ""
    table.add_row(
        "documents",
        f"{len(public['candidates'])} found{more}, {len(public['confirmed'])} confirmed, "
        f"{len(public['reviews'])} reviewed (see `documents`)",
    )
    if public.get("pages") is not None:
        table.add_row("copies", f"{public['pages']} pages, fee {public['fee_sek']} kr")
    if public.get("formal_decision_by"):
        received = public.get("decision_received_on") or "-"
        table.add_row("formal decision", f"by {public['formal_decision_by']}, received {received}")
    if public.get("receipt_pending"):
        table.add_row(
            "appeal period",
            "not begun: the decision went by letter; record its receipt "
            "(record-decision-receipt), until then no appeal is late",
        )
    if public.get("appeal_window_end"):
        table.add_row("appeal period", f"ends {public['appeal_window_end']}")
    if public.get("appeal"):
        appeal = public["appeal"]
        fate = "in time: forwarded to the court" if appeal["timely"] else "too late: dismissed"
        if appeal.get("basis") == "reached_court_in_time":
            fate = "reached the court in time: forwarded (FL 45 §)"
        elif appeal.get("basis") == "receipt_not_shown":
            fate = "receipt of the decision not shown: not late, forwarded (FL 44 §)"
        table.add_row(
            "appeal", f"received {appeal['received_on']}, {fate} (by {appeal['registered_by']})"
        )


def print_documents(case_number: str, public: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    console().print(f"{case_number} {public['state']}: {public['description']}")
    if not public["candidates"]:
        console().print(
            "searching the archive; look again in a moment"
            if public["state"] in ("registered", "locating")
            else "no documents found; search with other terms (`search-again`)"
        )
        return
    confirmed = set(public["confirmed"])
    reviews = {review["document_id"]: review for review in public["reviews"]}
    # Narrow enough for 80 columns: the title wraps, with the type under it.
    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="bold")
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("date", no_wrap=True)
    table.add_column("pages", justify="right", no_wrap=True)
    table.add_column("confirmed", no_wrap=True)
    table.add_column("review", max_width=24)
    table.add_column("document", ratio=1)
    for document in public["candidates"]:
        number = document["document_id"]
        review = reviews.get(number)
        if review is not None:
            grounds = ", ".join(review["grounds"])
            decision = f"{review['decision']}: {grounds}" if grounds else "release"
        else:
            decision = "to review" if number in confirmed else ""
        title = Text(document["title"])
        title.append(f"\n{document['type']}", style="dim")
        table.add_row(
            str(number),
            document["date"],
            str(document["pages"]),
            "yes" if number in confirmed else "",
            decision,
            title,
        )
    console().print(table)
    more = " (more matched: narrow the search)" if public["truncated"] else ""
    console().print(
        f"{len(public['candidates'])} found{more}, {len(public['confirmed'])} confirmed, "
        f"{len(public['reviews'])} reviewed"
    )
    if public.get("pages") is not None:
        console().print(f"copies: {public['pages']} pages, fee {public['fee_sek']} kr")
