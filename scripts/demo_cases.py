"""The demo: a case of every kind registered and driven to its end at the command line as the
demo's people, public access with the archive, and cases left open for the console.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from contract.case import CaseState
from contract.roles import Role
from contract.vocabulary import Kind
from demo.archive import PROTECTED_ADDRESS
from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS
from infra.config import Settings, get_settings
from infra.idp import device_sign_in
from infra.roster import holding
from scripts.embedded import Person, Stack, print_sign_in, running_stack
from service.steps import WAITING, step_for

# --- the demo ---------------------------------------------------------------------------------

# What is done in each waiting state to take a demo case to its end: service/steps.py's table
# (the load benchmark follows it too), at the command line. Each step is the command of its
# action (the CLI names approve_release `approve`), the body's fields as options.
CLI_COMMANDS = {"approve_release": "approve"}


def demo_step(kind: str, state: str, handler: str) -> tuple[str, list[str]] | None:
    """Who takes the step a demo case waiting in `state` needs, and the command line."""
    step = step_for(Kind(kind), CaseState(state))
    if step is None:
        return None
    command = CLI_COMMANDS.get(step.update, step.action.path)
    options = [part for name, value in step.body.items() for part in (f"--{name}", value)]
    who = step.taken_by(handler, holding(get_settings().roster, Role.TEAM_LEAD))
    return who, [command, *options]


# Who gives the e-service's requests (which come in unassigned) to a handler.
TEAM_LEAD = "bo"
SUPERVISOR = "bo"
# The demo's people, signed in once each at the start.
DEMO_PEOPLE = ("anna", "bo", "cecilia")


@dataclass(frozen=True)
class DemoCase:
    """A demo request: signed with BankID in the e-service (`details` is what it sends), or
    registered by its handler at the command line (`options`, after `submit KIND`)."""

    title: str
    kind: str
    subject: str
    handler: str
    bankid: bool = False
    options: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


DEMO_CASES = [
    DemoCase(
        "An access request signed with BankID in the e-service (identity verified)",
        "access",
        DEMO_SUBJECTS["tolvan"],
        "anna",
        bankid=True,
    ),
    DemoCase(
        "An access request by letter: answered by letter to the address the population "
        "register (SPAR) has, which reaches nobody else, so no identity proof is asked",
        "access",
        DEMO_SUBJECTS["joint_a"],
        "bo",
        options=("--channel", "letter"),
    ),
    DemoCase(
        "An objection to direct marketing (runs by itself, within seconds)",
        "objection",
        DEMO_SUBJECTS["marketing_only"],
        "anna",
    ),
    DemoCase(
        "A restriction while a dispute about the data is settled (Art. 18(1) c), signed with "
        "BankID in the e-service",
        "restriction",
        DEMO_SUBJECTS["coordination"],
        "anna",
        bankid=True,
        details={"restriction_ground": "c"},
    ),
    DemoCase(
        "A rectification of address and e-mail, processing restricted while it is checked, "
        "signed with BankID in the e-service",
        "rectification",
        DEMO_SUBJECTS["joint_b"],
        "bo",
        bankid=True,
        details={
            "changes": [
                {"field": "street", "new_value": "Lindvägen 12", "evidence": "Flyttanmälan"},
                {"field": "email", "new_value": "nytt@example.se", "evidence": "Flyttanmälan"},
            ],
            "restrict_while_checking": True,
        },
    ),
    DemoCase(
        "A portability request signed with BankID in the e-service: provided and observed data "
        "as JSON and CSV",
        "portability",
        DEMO_SUBJECTS["joint_a"],
        "bo",
        bankid=True,
    ),
    DemoCase(
        "An erasure asked for at the customer centre, where the handler checks the ID: what "
        "the law lets go goes, the rest is kept restricted until its date",
        "erasure",
        FILLER_SUBJECTS["akesson"],
        "anna",
        options=("--channel", "in-person"),
    ),
    DemoCase(
        "An access request that reached us 40 days ago and is registered only now: reminder, "
        "escalation and overdue fire at once, in order",
        "access",
        FILLER_SUBJECTS["holm"],
        "bo",
        options=("--received", (date.today() - timedelta(days=40)).isoformat()),
    ),
]


def register(stack: Stack, case: DemoCase) -> str:
    """The demo request registered as it comes in; its case number."""
    if case.bankid:
        receipt = stack.eservice_submit(case.kind, case.subject, case.details)
        number = str(receipt["case_number"])
        # The e-service's requests come in unassigned: a team lead gives each to a handler.
        stack.person(TEAM_LEAD).cli("reassign", number, "--to", case.handler)
        return number
    answer = stack.person(case.handler).cli(
        "submit", case.kind, "--subject", case.subject, *case.options, "--assign", case.handler
    )
    return str(answer["case_number"])


def drive_to_end(stack: Stack, case_number: str, handler: str) -> dict[str, Any]:
    """Take a case from wherever it is to closed, as its handler (and a second pair of eyes
    where the law wants one) would."""
    states = {"closed", *(state.value for state in WAITING)}
    while True:
        current = stack.person(handler).wait_for(case_number, states)
        if current["state"] == "closed":
            return current
        step = demo_step(current["kind"], current["state"], handler)
        if step is None:
            sys.exit(f"{case_number} waits in {current['state']}, which the demo has no step for")
        who, (command, *options) = step
        stack.person(who).cli(command, case_number, *options)


def public_access_demo(stack: Stack, handler: str) -> str:
    """An anonymous request for official documents, reviewed for secrecy and released with a
    protected address masked; returns a line for the summary."""
    settings, person = stack.settings, stack.person(handler)
    print(
        "\n9. An anonymous request for official documents (offentlighetsprincipen): letters "
        "about moving an electricity meter, copies by e-mail:"
    )
    case = person.cli(
        "request-documents",
        "--description",
        "Skrivelser om flytt av elmätare",
        "--type",
        "correspondence",
        "--text",
        "elmätare",
        "--email",
        "begaran@example.org",
        "--assign",
        handler,
    )
    number = case["case_number"]
    person.wait_for(number, {"awaiting_confirmation"})
    found = person.cli("documents", number)
    first = found["candidates"][0]
    person.cli("confirm-documents", number, "--document", str(first["document_id"]))
    person.wait_for(number, {"secrecy_review"})
    print(f"The reviewer reads document {first['document_id']} (show-document) and masks the")
    print("name and the protected address (OSL 21:3); the rest of the letter is released:")
    person.quiet("show-document", number, str(first["document_id"]))
    person.cli(
        "review-document",
        number,
        str(first["document_id"]),
        "--mask",
        f"{PROTECTED_ADDRESS}=OSL 21:3",
        "--mask",
        "Sanna Ek=OSL 21:3",
    )
    person.wait_for(number, {"awaiting_review"})
    print("Before anything goes, the handler looks at exactly what the requester will receive")
    print("(preview-copies) and sends it:")
    person.quiet("preview-copies", number)
    person.cli("approve", number)
    answered = person.wait_for(number, {"awaiting_decision_request", "closed"})
    copies = settings.outbox_dir / "email" / f"{number}-copies"
    released = next(copies.glob("handling-*.txt"))
    print(f"  The copy sent: {released}")
    for line in released.read_text().splitlines():
        print(f"    {line}")
    public = answered["public"]
    return (
        f"  {number} (public_access): released with masks, {public['pages']} pages, fee "
        f"{public['fee_sek']} kr; now {answered['state']} (the requester may ask for a formal, "
        "appealable decision)"
    )


def show_archive_in_answer(person: Person, result: dict[str, Any]) -> None:
    """The first access answer searched the whole organisation: show where, and the archive's
    documents it lists, each copy with the other people it names masked (Art. 15(4)). The
    handler reads it through the service (show-extract), which records the reading."""
    done = person.run("show-extract", result["case_number"], "--json-file")
    if done.returncode != 0:
        sys.exit(f"{person.login}: show-extract failed: {done.stderr.strip()}")
    answer = json.loads(done.stdout)
    places = ", ".join(place["title"] for place in answer["places_searched"])
    print(
        f"  {result['case_number']} searched (read by {person.login} with show-extract "
        f"--json-file): {places}"
    )
    for document in (answer.get("documents") or {}).get("documents", []):
        print(f"    archive: {document['date']} {document['type']}: {document['title']}")
        if document["masked"]:
            print(f"      copy: {' '.join(document['copy'].split())[:200]}")


def demo(settings: Settings) -> None:
    with running_stack(settings) as stack:
        run_demo(stack)


def summary_line(result: dict[str, Any]) -> str:
    """One closed case, for the summary."""
    where = ""
    delivery = result.get("delivery") or {}
    if result.get("extract") and delivery:
        extract = result["extract"]
        where = (
            f", extract of {extract['rows']} rows from {len(extract['systems'])} systems "
            f"(sealed), delivered by {delivery['method']} to {delivery['location']}"
        )
    elif result.get("recipients_notified"):
        where = f", recipients told: {', '.join(result['recipients_notified'])}"
    elif result.get("erasure_plan"):
        kept = [i for i in result["erasure_plan"] if i["action"] == "keep"]
        where = (
            f", {len(result['erasure_plan']) - len(kept)} tables erased, {len(kept)} "
            f"kept; a follow-up ({result['case_number']}-retention) erases them later"
        )
    if delivery.get("method") == "letter":
        envelope = (Path(delivery["location"]) / "address.txt").read_text().splitlines()
        where += f"; addressed from the population register: {' / '.join(envelope)}"
    if result.get("escalation") not in (None, "none"):
        where += f"; escalation: {result['escalation']} (staff notices in the outbox)"
    by = f", {result['assignee']}" if result.get("assignee") else ""
    return f"  {result['case_number']} ({result['kind']}{by}): {result['outcome']}{where}"


def run_demo(stack: Stack) -> None:
    """Every kind of request, through the e-service's door and the CLI, on a running stack."""
    settings = stack.settings
    print(
        "\nThe demo's people sign in at the command line, once each, as a handler does (the "
        "device flow; the demo types each one's password into the identity provider's page):"
    )
    stack.sign_in(*DEMO_PEOPLE)
    submitted = []
    for number, case in enumerate(DEMO_CASES, start=1):
        print(f"\n{number}. {case.title}:")
        submitted.append((register(stack, case), case.handler))
    supervisor = stack.person(SUPERVISOR)
    print('\nA supervisor looks for overdue cases (the Web UI\'s DsrEscalation="overdue"):')
    for _ in range(60):
        if supervisor.quiet("list", "--overdue")["cases"]:
            break
        time.sleep(0.5)
    supervisor.cli("list", "--overdue")
    print("\nThe handlers drive every case to its end:")
    results = [drive_to_end(stack, case_number, handler) for case_number, handler in submitted]
    public_line = public_access_demo(stack, "anna")
    print("\nDone:")
    for result in results:
        print(summary_line(result))
    print(public_line)
    show_archive_in_answer(stack.person(results[0].get("assignee") or "anna"), results[0])
    print(f"  Notices to subjects, recipients and staff: {settings.outbox_dir}")
    service_demo(settings, results[0]["case_number"])
    left = leave_for_the_console(stack)
    print(
        f"\nWeb UI: {settings.ui_url}/namespaces/{settings.temporal_namespace}/workflows"
        "?query=DsrKind%3D%22access%22"
    )
    print(
        f"\nThe demo stack stops now; `make run` brings it up again, the {len(left)} cases above "
        "open in the console."
    )
    print_sign_in(settings)


# Cases the demo leaves open, each waiting for a person in the console: (title, who registers
# it, kind, subject, options of `submit`, each step before it is left as the state it is
# taken in and the command, the state it is left in).
LEFT_OPEN: list[tuple[str, str, str, str, tuple[str, ...], tuple[tuple[str, ...], ...], str]] = [
    (
        "waits for identity proof (protected personal data)",
        "anna",
        "access",
        DEMO_SUBJECTS["protected"],
        ("--assign", "anna"),
        (),
        "awaiting_identity",
    ),
    (
        "waits for anna to review the extract",
        "anna",
        "access",
        FILLER_SUBJECTS["sjoberg"],
        ("--assign", "anna", "--deliver-elsewhere"),
        (("awaiting_identity", "verify-identity", "--method", "id_checked"),),
        "awaiting_review",
    ),
    (
        "erasure plan prepared by anna, waits for a team lead's approval (bo or cecilia)",
        "anna",
        "erasure",
        FILLER_SUBJECTS["nystrom"],
        ("--assign", "anna", "--channel", "in-person"),
        (
            ("awaiting_identity", "verify-identity", "--method", "id_checked"),
            ("awaiting_decision", "prepare-erasure-plan"),
        ),
        "awaiting_approval",
    ),
    (
        "unassigned, in every handler's inbox",
        "bo",
        "erasure",
        FILLER_SUBJECTS["hassan"],
        ("--channel", "letter"),
        (),
        "awaiting_identity",
    ),
]


# Where a case waits for a person (or for nobody any more).
WAITING_FOR_A_PERSON = {
    "closed",
    "awaiting_identity",
    "awaiting_review",
    "awaiting_decision",
    "awaiting_approval",
    "awaiting_manual_delivery",
    "restricted",
    "retaining",
}


def leave_for_the_console(stack: Stack) -> list[str]:
    """A few cases left open where a person acts next, to be seen in the console; one line
    each."""
    print("\nLeft open for the web console, each waiting for a person:")
    lines = []
    for title, who, kind, subject, options, steps, left in LEFT_OPEN:
        person = stack.person(who)
        # A demo run before left it open already (one open case per subject and kind): as it
        # was left, or as someone has taken it on since in the console.
        number = str(person.quiet("submit", kind, "--subject", subject, *options)["case_number"])
        state = person.wait_for(number, WAITING_FOR_A_PERSON)["state"]
        for step_state, command, *more in steps:
            if state == step_state:
                person.quiet(command, number, *more)
                state = person.wait_for(number, WAITING_FOR_A_PERSON - {step_state})["state"]
        if state != left:
            title += f" (now {state}: taken on in the console since)"
        lines.append(f"  {number} ({kind}): {title}")
        print(lines[-1], flush=True)
    return lines


def service_demo(settings: Settings, case_number: str) -> None:
    """The case service: a signed-in person reads a case; nobody else can."""
    print(
        "\nThe case service's API itself: anna signs in with the device flow and reads a case "
        "with her token; without one the service answers nothing:"
    )
    token = device_sign_in(settings.oidc_issuer, "anna")
    base = f"{settings.service_url}/api/v1"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as api:
        print(f"  GET {base}/me -> {api.get('/me').json()}")
        status = api.get(f"/cases/{case_number}").json()
        print(f"  GET {base}/cases/{case_number} -> {status['state']}, {status['outcome']}")
    refused = httpx.get(f"{base}/cases/{case_number}")
    print(f"  Without a token: {refused.status_code} {refused.json()['detail']}")
