"""What every page of the console shares: who is signed in, the CSRF check of a form sent,
the refusal shown in Swedish with the engine's own words, the framed letters, the Swedish
names of systems and document types, the link to a workflow in the Web UI.
"""

from __future__ import annotations

import functools
import html
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import structlog
from fastapi import Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from temporalio.service import RPCError

from contract.calendar import STOCKHOLM
from contract.roles import Role
from contract.vocabulary import CASE_NUMBER_PATTERN
from infra.config import Settings
from service import cases
from service.actions import BY_PATH
from service.callers import StaffMember
from service.console import forged, message, page, signed_in, staff
from service.desk import words
from service.problems import Problem
from service.sessions import BrowserSession
from systems.catalog import CatalogError, load_catalog
from systems.document_archive import ArchiveError, load_archive

log = structlog.get_logger("service.desk.kit")

M = TypeVar("M", bound=BaseModel)

# As typed in the address: checked in the route (a page saying so, not the API's problem).
CasePath = Annotated[str, Path()]
ActionPath = Annotated[str, Path()]
DocumentPath = Annotated[str, Path()]
_CASE_NUMBER = re.compile(CASE_NUMBER_PATTERN)


def document_id_of(value: str) -> int:
    """A document's id from the address, or 404."""
    if not value.isdigit() or not 1 <= int(value) <= 2**31:
        raise Problem(404, f"no document {value[:20]}: a document's id is a number")
    return int(value)


def case_number_of(value: str) -> str:
    """A case number from the address, or 404 (a page, not the API's problem)."""
    if not _CASE_NUMBER.fullmatch(value):
        raise Problem(404, f"unknown case {value[:40]}: a case number is like DSR-2026-000042")
    return value


LINK = "link"


def guarded(
    route: Callable[..., Awaitable[Response]],
) -> Callable[..., Awaitable[Response]]:
    """A page whose case service or Temporal cannot answer says so in Swedish, on a page."""

    @functools.wraps(route)
    async def answer(request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return await route(request, *args, **kwargs)
        except Answered as answered:
            return answered.response
        except cases.CaseError as error:
            return refused(request, Problem(error.status, error.message))
        except Problem as error:
            return refused(request, error)
        except RPCError as error:
            log.warning("console_temporal_unavailable", status=error.status.name)
            return message(
                request,
                503,
                "Ärendena kan inte läsas just nu",
                "Ärendemotorn (Temporal) svarar inte. Försök igen om en stund.",
                (str(request.url.path), "Försök igen"),
                person=signed_in(request),
            )

    return answer


def framed_route(
    route: Callable[..., Awaitable[Response]],
) -> Callable[..., Awaitable[Response]]:
    """A letter's frame: what goes wrong is said inside the frame (a page of the console's
    own, or the provider's sign-in, cannot be shown in one)."""

    @functools.wraps(route)
    async def answer(request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return await route(request, *args, **kwargs)
        except Answered:
            said = "Sessionen har gått ut eller saknas. Ladda om sidan."
            status = 401
        except (Problem, cases.CaseError) as error:
            said = "Brevet kan inte visas: " + (
                error.detail if isinstance(error, Problem) else error.message
            )
            status = error.status
        except RPCError:
            said, status = "Ärendemotorn svarar inte. Ladda om sidan om en stund.", 503
        return framed(f'<!DOCTYPE html><html lang="sv"><p>{html.escape(said)}</p></html>', status)

    return answer


def framed(text: str, status: int = 200) -> Response:
    """A letter the engine wrote, shown as it is inside a page of the console: a sandbox (no
    script, no requests of its own), framed only by this service's pages."""
    return Response(
        text,
        status_code=status,
        media_type="text/html; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Options": "SAMEORIGIN",
            "Content-Security-Policy": (
                "sandbox; default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"
            ),
        },
    )


class Answered(Exception):  # noqa: N818 - not an error: the page to answer with instead
    """Raised where a page is answered otherwise: sign-in first, not in the roster, a form
    without the session's CSRF token."""

    def __init__(self, response: Response) -> None:
        super().__init__("answered")
        self.response = response


async def signed_in_staff(request: Request) -> tuple[BrowserSession, StaffMember]:
    """The signed-in person and their roles today; otherwise off to sign-in, or the page
    saying they are not in the roster (Answered)."""
    who = await staff(request)
    if isinstance(who, Response):
        raise Answered(who)
    return who


async def posted(request: Request, person: BrowserSession) -> FormData:
    """A form sent by the signed-in person, with the session's CSRF token; a form without it
    (sent from elsewhere) changes nothing and gets the page saying so (Answered)."""
    form = await request.form()
    sent = form.get("csrf")
    if not person.form_token_matches(sent if isinstance(sent, str) else None):
        raise Answered(forged(request, person))
    return form


def refused(request: Request, error: Problem) -> Response:
    """The engine's or the service's refusal, in its own words, under a Swedish heading."""
    person = signed_in(request)
    titles = {
        403: "Åtgärden är inte tillåten",
        404: "Finns inte",
        409: "Åtgärden avvisades av ärendet",
        410: "Finns inte längre",
        422: "Uppgifterna kunde inte tas emot",
        429: "För många förfrågningar",
        503: "Tjänsten kan inte svara just nu",
    }
    return page(
        request,
        "message.html",
        error.status,
        title=titles.get(error.status, "Det gick inte"),
        # A refusal changes nothing; an answer that did not come may still be applied.
        text="Ingenting har ändrats. Svaret var:"
        if error.status < 500
        else "Det är inte säkert att ingenting har ändrats: det som skickades kan genomföras "
        "när ärendemotorn svarar. Titta på ärendet innan du försöker igen. Svaret var:",
        said=error.detail,
        problem=True,
        link={"href": "/", "text": "Till Mina ärenden"},
        person=person,
    )


def choice(value: str | None, allowed: dict[str, Any] | frozenset[str], default: str) -> str:
    return value if value is not None and value in allowed else default


def handlers(member: StaffMember) -> list[str]:
    return [n for n in member.names if Role.HANDLER in member.staff.get(n.casefold(), [])]


def local(at: datetime | None) -> str:
    return at.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M") if at else "–"


@functools.cache
def labels() -> dict[str, dict[str, str]]:
    """The systems' and the archive's document types' Swedish names, from their declarations
    (read once a process: they change with a deployment); the engine's names where they
    cannot be read."""
    try:
        systems = {name: decl.title for name, decl in load_catalog().systems.items()}
    except CatalogError:
        systems = {}
    try:
        types = load_archive().document_types
    except ArchiveError:
        types = {}
    # The places an access answer also searches, read only (systems.places).
    systems.update(words.PLACES_SEARCHED)
    return {"systems": systems, "types": dict(types)}


def web_ui(settings: Settings, case_number: str) -> str:
    namespace = urllib.parse.quote(settings.temporal_namespace, safe="")
    return f"{settings.ui_url.rstrip('/')}/namespaces/{namespace}/workflows/{case_number}"


def done(request: Request, case_number: str, what: str) -> Response:
    """Back to the case, which says once what was done (kept in the session, not the
    address: a link cannot make the page claim something was done)."""
    request.session["klart"] = what
    return RedirectResponse(f"/arenden/{case_number}", status_code=303)


def done_text(path: str | None) -> str | None:
    """The confirmation after an action: its name, if it is one."""
    if path == LINK:
        return words.ACTIONS["link"][0]
    if path == "registrera":
        return "Begäran är registrerad"
    action = BY_PATH.get(path or "")
    return words.ACTIONS[action.update][0] if action else None


def invalid(error: ValidationError) -> str:
    """A form's invalid fields, each as its label and the model's reason."""
    return "; ".join(
        f"{words.FIELDS.get(str(e['loc'][0]), e['loc'][0]) if e['loc'] else 'formuläret'}: "
        f"{str(e['msg']).removeprefix('Value error, ')}"
        for e in error.errors()
    )
