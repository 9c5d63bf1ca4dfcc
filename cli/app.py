"""The command line's app and what every command shares: the options, the error handling, and
an action on a case as a row of the action table (contract.handling).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any

import typer

from cli import signin
from cli.api import ApiError, call
from cli.parse import UserError, parse_case_number
from cli.show import errors
from contract import handling
from contract.vocabulary import Channel

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]
CaseArgument = Annotated[str, typer.Argument(help="Case number, e.g. DSR-2026-000042.")]
DocumentArgument = Annotated[str, typer.Argument(help="Document id, as `documents` lists it.")]

ReceivedOption = Annotated[
    str | None,
    typer.Option("--received", help="Date (2026-03-05) or instant with zone; default now."),
]
ChannelOption = Annotated[Channel, typer.Option("--channel", help="How the request came in.")]
AssignOption = Annotated[
    str | None, typer.Option("--assign", help="Assign the new case to this handler.")
]
SubjectOption = Annotated[
    str, typer.Option("--subject", help="Personnummer or samordningsnummer (10 or 12 digits).")
]
AnswerReceivedOption = Annotated[
    str | None,
    typer.Option("--received", help="The day the answer arrived (YYYY-MM-DD); default today."),
]

app = typer.Typer(
    help="Handle data-subject requests (GDPR) and requests for official documents "
    "(offentlighetsprincipen) through the case service, as the person signed in with "
    "`dsr login`: register, verify, review, decide, follow up.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help: drawing it with rich takes longer than all the rest of a start.
    rich_markup_mode=None,
)
submit_app = typer.Typer(
    help="Register a data-subject request (GDPR); for official documents see request-documents.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(submit_app, name="submit")
audit_app = typer.Typer(
    help="The case's tamper-evident trail: verify its hash chain, export evidence.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(audit_app, name="audit")


def command(func: Callable[..., None]) -> Callable[..., None]:
    """Turn every expected failure into one line on stderr and exit code 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except (UserError, ApiError, signin.SignInError) as error:
            errors().print(f"error: {error}", markup=False, highlight=False)
            raise typer.Exit(1) from None
        except (KeyError, TypeError, ValueError):
            # Not the case service's answer (a proxy's page, another program on the port).
            errors().print(
                f"error: the case service at {signin.service_url()} answered something that "
                "is not its API"
            )
            raise typer.Exit(1) from None

    wrapper.__doc__ = reflowed(func.__doc__)
    return wrapper


def register(group: typer.Typer, name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """`group`'s command `name`: failures as one line (`command`), and the docstring's first
    paragraph, whole, in the list of commands."""

    def add(func: Callable[..., None]) -> Callable[..., None]:
        wrapped = command(func)
        summary = (wrapped.__doc__ or "").split("\n\n")[0]
        group.command(name, short_help=summary)(wrapped)
        return wrapped

    return add


def reflowed(doc: str | None) -> str | None:
    """Help text without the docstring's line breaks, so --help wraps it to the terminal: the
    command list shows the first paragraph, a command's --help all of them."""
    if doc is None:
        return None
    return "\n\n".join(" ".join(part.split()) for part in inspect.cleandoc(doc).split("\n\n"))


def act(case: str, action: handling.Action, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A handler action on a case (a row of the action table), as the signed-in person."""
    answer: dict[str, Any] = call(
        "POST", f"/cases/{parse_case_number(case)}/{action.path}", body=body or {}
    )
    return answer
