"""Public access (offentlighetsprincipen): requests for official documents, the search, the
secrecy review, copies, the appeal; and linking cases.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.api import call
from cli.app import (
    AssignOption,
    CaseArgument,
    ChannelOption,
    DocumentArgument,
    JsonOption,
    ReceivedOption,
    act,
    app,
    register,
)
from cli.parse import (
    build_contact,
    build_query,
    fail,
    parse_case_number,
    parse_day,
    parse_document_id,
    parse_ground,
    parse_mask,
    parse_past_day,
    parse_received,
    today,
)
from cli.show import console, emit, print_action, print_documents, print_registered
from contract.handling import (
    CONFIRM_DOCUMENTS,
    LINK,
    RECORD_DECISION_RECEIPT,
    REGISTER_APPEAL,
    REVIEW_DOCUMENT,
    SEARCH_AGAIN,
)
from contract.vocabulary import Channel, Kind

# --- public access (offentlighetsprincipen) --------------------------------------------------


TypeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--type",
        help="A document type of the archive, repeatable (e.g. contract, invoice); an unknown "
        "one is answered with the archive's list.",
    ),
]
FromOption = Annotated[
    str | None, typer.Option("--from", help="Documents dated on or after this day (YYYY-MM-DD).")
]
ToOption = Annotated[
    str | None, typer.Option("--to", help="Documents dated on or before this day (YYYY-MM-DD).")
]
PartyOption = Annotated[
    str | None, typer.Option("--party", help="A party to the documents, e.g. a contractor.")
]
TextOption = Annotated[
    str | None, typer.Option("--text", help="Words in the title or the text, matched as written.")
]


@register(app, "request-documents")
def request_documents(
    description: Annotated[
        str,
        typer.Option(
            "--description",
            help="What is asked for, in a few words. Public (the register's entry): no names, "
            "e-mail addresses, phone or identity numbers.",
        ),
    ],
    sender: Annotated[
        str | None,
        typer.Option("--sender", help="The name the requester gave, if any; default anonymous."),
    ] = None,
    types: TypeOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    party: PartyOption = None,
    text: TextOption = None,
    email: Annotated[
        str | None, typer.Option("--email", help="Send the copies and decisions here.")
    ] = None,
    address: Annotated[
        list[str] | None,
        typer.Option("--address", help="Or send them by post: an address line, repeatable."),
    ] = None,
    contact_name: Annotated[
        str | None,
        typer.Option(
            "--contact-name", help="The name to address them to (with --email/--address)."
        ),
    ] = None,
    received: ReceivedOption = None,
    channel: ChannelOption = Channel.E_SERVICE,
    assign: AssignOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a request for official documents (offentlighetsprincipen, TF 2 kap.).

    Anyone may ask, anonymously, and need not say why: no identity number is taken. Without
    --email or --address the answer is handed over manually. The archive is searched at once
    with the search options (at least one): see `documents`."""
    body = {
        "sender": sender,
        "description": description,
        "query": build_query(types, date_from, date_to, party, text),
        "contact": build_contact(email, address or [], contact_name),
        "received": parse_received(received),
        "channel": channel.value,
        "assignee": assign,
    }
    print_registered(Kind.PUBLIC_ACCESS, call("POST", "/public-requests", body=body), as_json)


@register(app, "documents")
def documents(case: CaseArgument, as_json: JsonOption = False) -> None:
    """The documents found for a public-access request, confirmed and reviewed.

    Each document's id, type, date, title and pages, whether it is confirmed, and its review
    decision and grounds; pages and fee once the copies are made."""
    case_number = parse_case_number(case)
    public: dict[str, Any] = call("GET", f"/cases/{case_number}/documents")
    emit(as_json, public, lambda: print_documents(case_number, public))


@register(app, "show-document")
def show_document(
    case: CaseArgument, document: DocumentArgument, as_json: JsonOption = False
) -> None:
    """A document's full text from the archive, to review it for secrecy (one the case's search
    found); the reading is recorded in the case's trail."""
    number = parse_document_id(document)
    answer: dict[str, Any] = call("GET", f"/cases/{parse_case_number(case)}/documents/{number}")
    emit(as_json, answer, lambda: console().print(answer["text"], markup=False, highlight=False))


@register(app, "search-again")
def search_again(
    case: CaseArgument,
    types: TypeOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    party: PartyOption = None,
    text: TextOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search the archive again with other terms, before the documents are confirmed.

    The new search replaces the list of documents found (see `documents`)."""
    body = {"query": build_query(types, date_from, date_to, party, text)}
    print_action(act(case, SEARCH_AGAIN, body), as_json, "searching again; see `documents`")


@register(app, "confirm-documents")
def confirm_documents(
    case: CaseArgument,
    document: Annotated[
        list[str] | None,
        typer.Option("--document", help="A document the request covers (repeatable)."),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every document the search found.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Confirm which of the documents found the request covers.

    Each confirmed document is then reviewed for secrecy (`review-document`)."""
    if every == bool(document):
        fail("give either --document (repeatable) or --all")
    ids = list(dict.fromkeys(parse_document_id(text, "--document") for text in document or []))
    case_number = parse_case_number(case)
    if every:
        # Every document the search found, as listed now.
        public = call("GET", f"/cases/{case_number}/documents")
        if public["state"] != "awaiting_confirmation":
            fail(
                f"case {case_number} is {public['state']}; you can confirm the documents only "
                "while it is awaiting_confirmation"
            )
        ids = [candidate["document_id"] for candidate in public["candidates"]]
        if not ids:
            fail(f"case {case_number}: no documents were found; search again (`search-again`)")
    result = act(case_number, CONFIRM_DOCUMENTS, {"document_ids": ids})
    print_action(result, as_json, f"{len(ids)} documents confirmed for review")


@register(app, "review-document")
def review_document(
    case: CaseArgument,
    document: DocumentArgument,
    release: Annotated[
        bool, typer.Option("--release", help="Release the document as it stands.")
    ] = False,
    mask: Annotated[
        list[str] | None,
        typer.Option(
            "--mask",
            help="TEXT=GROUND, repeatable: release with TEXT masked wherever it occurs (any "
            "case, across line breaks), on GROUND, e.g. 'Storgatan 1=OSL 21:3'; with "
            "--withhold, a part of the title.",
        ),
    ] = None,
    withhold: Annotated[
        str | None,
        typer.Option("--withhold", help="Withhold the whole document on GROUND, e.g. 31:16."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Review one confirmed document for secrecy: release, mask parts or withhold it.

    Give exactly one of --release, --mask (repeatable) and --withhold. A withheld document is
    named in the answer by its title: with --withhold, --mask masks parts of the title. Masks
    find every occurrence, whatever its case or line breaks. Grounds: OSL 21:3, OSL 21:7,
    OSL 31:16, OSL 19:1, OSL 18:8 (security measures for the grid's installations), OSL 18:13
    (risk and vulnerability analyses); 'OSL' may be left out. A decision can be changed until
    the last document is reviewed; then the copies go out with the fee."""
    decisions = (release, withhold is not None, bool(mask) and withhold is None)
    if sum(decisions) != 1:
        fail(
            "give exactly one of --release, --mask (repeatable) and --withhold (with --withhold, "
            "--mask masks parts of the title)"
        )
    number = parse_document_id(document)
    masks = [parse_mask(m) for m in mask or []]
    ground = parse_ground(withhold, "--withhold").value if withhold is not None else None
    decision = "withhold" if withhold is not None else "mask" if masks else "release"
    body = {"document_id": number, "decision": decision, "masks": masks, "ground": ground}
    result = act(case, REVIEW_DOCUMENT, body)
    print_action(result, as_json, f"document {number} reviewed ({decision})")


@register(app, "preview-copies")
def preview_copies(case: CaseArgument, as_json: JsonOption = False) -> None:
    """Show exactly what the requester will receive: the letter and every copy, with the
    masked parts removed, opened from the sealed store for the person signed in.

    Then `approve CASE` sends them, or `review-document` changes a review (the copies are made
    again, to be looked at again)."""
    preview: dict[str, Any] = call("GET", f"/cases/{parse_case_number(case)}/preview")

    def human() -> None:
        for name, text in preview["files"].items():
            console().rule(name)
            console().print(text, markup=False, highlight=False)

    emit(as_json, preview, human)


@register(app, "register-appeal")
def register_appeal(
    case: CaseArgument,
    received: Annotated[
        str,
        typer.Option(
            "--received",
            help="The day the appeal reached the company (YYYY-MM-DD); it decides whether it "
            "is in time.",
        ),
    ],
    decision_received: Annotated[
        str | None,
        typer.Option(
            "--decision-received",
            help="The day the requester received the decision, if later than it was sent "
            "(a decision sent by letter); the period runs from then.",
        ),
    ] = None,
    court_received: Annotated[
        str | None,
        typer.Option(
            "--court-received",
            help="The day it reached the court, when lodged there and sent on to us: in time "
            "there, it is never dismissed (FL 45 § second paragraph).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Register an appeal against a formal decision on official documents.

    In time (by the day it reached the company), it is forwarded to the court; too late, it
    is dismissed and the requester told: a decision that only a delegate may register."""
    received_on = parse_day(received, "--received")
    if received_on > today():
        fail("--received: the appeal cannot reach the company in the future")
    decision_on = parse_day(decision_received, "--decision-received") if decision_received else None
    if decision_on and decision_on > received_on:
        fail("--decision-received: after the appeal came in")
    body = {
        "received_on": received_on.isoformat(),
        "decision_received_on": decision_on.isoformat() if decision_on else None,
        "court_received_on": parse_past_day(court_received, "--court-received"),
    }
    number = parse_case_number(case)
    result = act(number, REGISTER_APPEAL, body)
    after = call("GET", f"/cases/{number}")
    appeal = (after.get("public") or {}).get("appeal")
    if appeal is None:
        what = "appeal registered"
    elif appeal["timely"]:
        what = f"appeal in time (period ended {appeal['period_end']}): forwarded to the court"
    else:
        what = f"appeal too late (period ended {appeal['period_end']}): dismissed"
    print_action(result, as_json, what)


@register(app, "record-decision-receipt")
def record_decision_receipt(
    case: CaseArgument,
    received: Annotated[
        str, typer.Option("--received", help="The day the decision reached the requester.")
    ],
    evidence: Annotated[
        str, typer.Option("--evidence", help="How that is shown, e.g. a signed receipt.")
    ],
    as_json: JsonOption = False,
) -> None:
    """The day a formal decision sent by letter reached the requester, and how it is shown.

    Until it is recorded the appeal period has not begun, and no appeal is dismissed as late
    (FL 44 §); from it, the three weeks run."""
    day = parse_past_day(received, "--received")
    result = act(case, RECORD_DECISION_RECEIPT, {"received_on": day, "evidence": evidence})
    print_action(result, as_json, f"decision received {day}; the appeal period runs from it")


@register(app, "link")
def link(
    case: CaseArgument,
    other: Annotated[str, typer.Argument(help="The case to link it with.")],
    as_json: JsonOption = False,
) -> None:
    """Link two open cases handled together; each then names the other in `status`.

    E.g. a person's access request and their request for official documents."""
    first, second = parse_case_number(case), parse_case_number(other)
    if first == second:
        fail("a case cannot be linked with itself")
    answer = act(first, LINK, {"other": second})
    emit(as_json, answer, lambda: console().print(f"{first} and {second} are linked"))
