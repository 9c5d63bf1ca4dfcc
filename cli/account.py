"""The audit trail, and who is signed in: login, logout, whoami, the roster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import signin
from cli.api import call
from cli.app import CaseArgument, JsonOption, app, audit_app, register
from cli.parse import parse_case_number, parse_day
from cli.show import console, emit, errors
from contract.roles import ACTIONS, Role

# --- the audit trail ---------------------------------------------------------------------------


@register(audit_app, "verify")
def audit_verify(case: CaseArgument, as_json: JsonOption = False) -> None:
    """Recompute the case's hash chain: an edited, removed or inserted trail row is found.

    Exits 1 when the chain is broken. The number of rows is also compared with the
    workflow's own count of state transitions, when the workflow can be asked."""
    case_number = parse_case_number(case)
    result: dict[str, Any] = call("GET", f"/cases/{case_number}/audit")

    def human() -> None:
        if result["intact"]:
            unchained = result["unchained_before_the_chain"]
            console().print(
                f"{case_number}: the trail is intact: {result['chained']} rows chained"
                + (f", {unchained} from before the chain" if unchained else "")
                + f"; head {result['head'][:16]}"
            )
        for problem in result["problems"]:
            errors().print(f"{case_number}: {problem}", markup=False, highlight=False)
        if not result["compared_with_workflow"]:
            errors().print(
                f"{case_number}: not compared with the workflow (it cannot be asked now): "
                "rows cut off the end would not show",
                markup=False,
                highlight=False,
            )

    emit(as_json, result, human)
    if not result["intact"]:
        raise typer.Exit(1)


@register(audit_app, "export")
def audit_export(
    case: CaseArgument,
    out: Annotated[
        str | None,
        typer.Option("--out", help="Where to write the evidence; default ./CASE-audit.json."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write the case's evidence as JSON: the register entry, every event (who, what, when;
    every reading of the case included), each link of the hash chain and its verification.
    No payload data."""
    case_number = parse_case_number(case)
    target = Path(out) if out else Path.cwd() / f"{case_number}-audit.json"
    evidence: dict[str, Any] = call("GET", f"/cases/{case_number}/audit/export")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(evidence, ensure_ascii=False, indent=2), encoding="utf-8")
    verification = evidence["verification"]
    emit(
        as_json,
        {"case_number": case_number, "path": str(target), **verification},
        lambda: console().print(
            f"{case_number}: evidence written to {target} ("
            + ("chain intact" if verification["intact"] else "CHAIN BROKEN")
            + ")"
        ),
    )


# --- who is signed in ----------------------------------------------------------------------


@register(app, "login")
def login() -> None:
    """Sign in to the case service (DSR_SERVICE_URL): open the page shown, enter the code,
    sign in with your own account. The sign-in is kept for you alone (mode 0600)."""
    service = signin.service_url()
    record = signin.login(service, show=lambda line: typer.echo(line))
    me = call("GET", "/me")
    roles = ", ".join(me["roles"]) or "no role"
    console().print(f"Signed in to {record['service']} as {me['login']} ({roles})")


@register(app, "logout")
def logout() -> None:
    """Sign out: the kept sign-in is revoked at the identity provider and removed."""
    service = signin.service_url()
    removed = signin.logout(service)
    console().print(f"Signed out of {service}" if removed else f"Not signed in to {service}")


@register(app, "whoami")
def whoami(as_json: JsonOption = False) -> None:
    """Who the case service takes you for, and your roles today."""
    me: dict[str, Any] = call("GET", "/me")
    emit(
        as_json,
        me,
        lambda: console().print(f"{me['login']} ({', '.join(me['roles']) or 'no role'})"),
    )


@register(app, "roster")
def roster(
    on: Annotated[
        str | None, typer.Option("--on", help="The day, YYYY-MM-DD; default today.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Who may act on cases, in which roles, on a day: the staff roster with the decision
    makers of the delegation register."""
    day = parse_day(on, "--on").isoformat() if on is not None else None
    answer: dict[str, Any] = call("GET", "/roster", params={"on": day})

    def human() -> None:
        from rich.table import Table

        table = Table(title=f"Staff roster on {answer['on']}")
        table.add_column("handler id")
        table.add_column("roles")
        table.add_column("may also")
        for who, held in answer["staff"].items():
            # Handler work is everyone's who has the role; shown are the actions beyond it.
            beyond = sorted(
                what
                for needed, what in ACTIONS.values()
                if Role.HANDLER not in needed and needed & set(held)
            )
            if Role.DPO in held:
                beyond = ["acts on no case (told of escalations and refusals)"]
            table.add_row(who, ", ".join(held), "; ".join(beyond))
        console().print(table)

    emit(as_json, answer, human)
