"""Registering data-subject requests (GDPR): `submit KIND`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.api import call
from cli.app import (
    AssignOption,
    ChannelOption,
    JsonOption,
    ReceivedOption,
    SubjectOption,
    register,
    submit_app,
)
from cli.parse import fail, parse_change, parse_received
from cli.show import print_registered
from contract.vocabulary import Channel, Kind, RestrictionGround


def submit_request(
    kind: Kind,
    *,
    subject: str,
    received: str | None,
    channel: Channel,
    assign: str | None,
    as_json: bool,
    details: dict[str, Any] | None = None,
) -> None:
    """Registered by the service as the signed-in person; it waits for the case number."""
    body = {
        "kind": kind.value,
        "subject": subject,
        "received": parse_received(received),
        "channel": channel.value,
        "assignee": assign,
        "details": details or {},
    }
    print_registered(kind, call("POST", "/requests", body=body), as_json)


DeliverElsewhereOption = Annotated[
    bool,
    typer.Option(
        "--deliver-elsewhere",
        help="The subject wants the answer somewhere else than their own digital mailbox or "
        "population-register address (another address, an e-mail, a representative): identity "
        "is proven first, and a handler hands it over.",
    ),
]


def _submit_command(kind: Kind, summary: str) -> None:
    """`submit KIND`: the kinds that need nothing beyond the subject and the intake options."""

    def submit_kind(
        subject: SubjectOption,
        received: ReceivedOption = None,
        channel: ChannelOption = Channel.E_SERVICE,
        assign: AssignOption = None,
        deliver_elsewhere: DeliverElsewhereOption = False,
        as_json: JsonOption = False,
    ) -> None:
        submit_request(
            kind,
            subject=subject,
            received=received,
            channel=channel,
            assign=assign,
            as_json=as_json,
            details={"deliver_elsewhere": deliver_elsewhere},
        )

    submit_kind.__doc__ = summary
    register(submit_app, kind.value)(submit_kind)


_submit_command(
    Kind.ACCESS,
    "A copy of one's personal data (GDPR Art. 15). No identity proof is asked when the answer "
    "goes to the subject's own digital mailbox or by letter to their population-register "
    "address: it reaches nobody else.",
)
_submit_command(
    Kind.ERASURE,
    "Erase what may be erased; keep, restricted, what the law says must stay (GDPR Art. 17).",
)
_submit_command(
    Kind.PORTABILITY,
    "One's provided and observed data as JSON and CSV, for another provider (GDPR Art. 20).",
)


@register(submit_app, "rectification")
def submit_rectification(
    subject: SubjectOption,
    change: Annotated[
        list[str],
        typer.Option(
            "--change",
            help="FIELD=NEW VALUE, repeatable. Fields: name, street, postal_code, city, email, "
            "phone.",
        ),
    ],
    evidence: Annotated[
        str | None, typer.Option("--evidence", help="What the subject showed or sent.")
    ] = None,
    restrict: Annotated[
        bool,
        typer.Option("--restrict", help="Restrict processing while accuracy is checked."),
    ] = False,
    received: ReceivedOption = None,
    channel: ChannelOption = Channel.E_SERVICE,
    assign: AssignOption = None,
    as_json: JsonOption = False,
) -> None:
    """Correct or complete personal data in every system that holds it (GDPR Art. 16)."""
    changes = [parse_change(text, evidence) for text in change]
    if len({c["field"] for c in changes}) != len(changes):
        fail("--change: each field at most once")
    submit_request(
        Kind.RECTIFICATION,
        subject=subject,
        received=received,
        channel=channel,
        assign=assign,
        as_json=as_json,
        details={"changes": changes, "restrict_while_checking": restrict},
    )


@register(submit_app, "restriction")
def submit_restriction(
    subject: SubjectOption,
    ground: Annotated[
        RestrictionGround | None,
        typer.Option(
            "--ground",
            help="Art. 18(1): a accuracy contested, b unlawful but no erasure wanted, "
            "c needed for legal claims, d objection being assessed. Left out when the request "
            "names none: the subject is asked.",
        ),
    ] = None,
    received: ReceivedOption = None,
    channel: ChannelOption = Channel.E_SERVICE,
    assign: AssignOption = None,
    as_json: JsonOption = False,
) -> None:
    """Restrict processing in every system until a handler lifts it (GDPR Art. 18).

    A request that names no ground is not assumed to be one: the subject is asked which, and
    a handler records the answer with `record-restriction-ground`."""
    submit_request(
        Kind.RESTRICTION,
        subject=subject,
        received=received,
        channel=channel,
        assign=assign,
        as_json=as_json,
        details={"restriction_ground": ground.value if ground else None},
    )


@register(submit_app, "objection")
def submit_objection(
    subject: SubjectOption,
    received: ReceivedOption = None,
    channel: ChannelOption = Channel.E_SERVICE,
    assign: AssignOption = None,
    as_json: JsonOption = False,
) -> None:
    """Object to direct marketing: applied at once, never refused (GDPR Art. 21(2)-(3))."""
    submit_request(
        Kind.OBJECTION,
        subject=subject,
        received=received,
        channel=channel,
        assign=assign,
        as_json=as_json,
    )
