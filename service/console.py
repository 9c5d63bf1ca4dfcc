"""The web console's sign-in and sign-out: staff sign in in a browser with the organisation's
OpenID Connect provider (the authorization code flow with PKCE, authlib's client: the ID
token's signature, issuer, audience, expiry and nonce are checked), and get a session of the
service's own (service.sessions). Pages are server-rendered, in Swedish.

    GET  /              the inbox (service.desk), else on to sign-in
    GET  /logga-in      off to the provider
    GET  /auth/callback back from it: the login claim names the person, the roster their roles
    POST /logga-ut      sign-out (a form with the session's CSRF token); the provider's too
    GET  /utloggad      signed out
"""

from __future__ import annotations

import secrets
import time
import urllib.parse
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from authlib.integrations.starlette_client import OAuth
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from contract.calendar import STOCKHOLM
from contract.roles import Role
from infra.config import Settings
from service.callers import StaffMember, roster_member
from service.metering import RateLimit
from service.problems import Problem
from service.sessions import BrowserSession, SessionStore

log = structlog.get_logger("service.console")
HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)

ROLES_SV = {
    Role.HANDLER: "handläggare",
    Role.TEAM_LEAD: "teamledare",
    Role.DPO: "dataskyddsombud",
    Role.DECIDES_PUBLIC_ACCESS: "beslutsfattare, allmänna handlingar (delegation)",
    Role.DECIDES_GDPR: "beslutsfattare, dataskydd (delegation)",
}


def install(app: FastAPI, settings: Settings) -> None:
    """The console's routes, static files and session cookie on the service."""
    secure = (
        settings.session_cookie_secure
        if settings.session_cookie_secure is not None
        else settings.environment != "development"
    )
    # The cookie holds the session id and, during sign-in, the flow's state; signed with a key
    # of this process (the sessions themselves live in its memory).
    # No max_age: the cookie goes when the browser closes; the server ends the session anyway.
    # Secure, it takes the __Host- prefix: only this host, over TLS, may set it.
    app.add_middleware(
        SessionMiddleware,
        secret_key=secrets.token_urlsafe(32),
        session_cookie="__Host-dsr_session" if secure else "dsr_session",
        max_age=None,
        same_site="lax",
        https_only=secure,
    )
    app.state.sessions = SessionStore(
        lifetime_seconds=settings.session_lifetime_seconds,
        idle_seconds=settings.session_idle_seconds,
    )
    app.state.oauth = None
    if settings.oidc_console_client_secret is not None:
        oauth = OAuth()
        oauth.register(
            "provider",
            client_id=settings.oidc_console_client_id,
            client_secret=settings.oidc_console_client_secret.get_secret_value(),
            server_metadata_url=f"{settings.oidc_issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid", "code_challenge_method": "S256"},
        )
        app.state.oauth = oauth.create_client("provider")
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    settings: Settings = request.app.state.settings
    response = templates.TemplateResponse(request, template, context, status_code=status)
    origin = urllib.parse.urlsplit(settings.oidc_issuer)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        f"form-action 'self' {origin.scheme}://{origin.netloc}"
    )
    return response


def message(
    request: Request,
    status: int,
    title: str,
    text: str,
    link: tuple[str, str] | None = None,
    person: BrowserSession | None = None,
) -> Response:
    return page(
        request,
        "message.html",
        status,
        title=title,
        text=text,
        problem=status >= 400,
        link={"href": link[0], "text": link[1]} if link else None,
        person=person,
    )


def refused_page(
    request: Request, refused: Problem, person: BrowserSession | None = None
) -> Response:
    """Not in the roster (403), or the roster unreadable (503, the detail only in the log)."""
    if refused.status == 503:
        log.error("console_roster_unreadable", detail=refused.detail)
        return message(
            request,
            503,
            "Personallistan kan inte läsas",
            "Behörigheterna kan inte kontrolleras just nu. Försök igen om en stund.",
            person=person,
        )
    return message(
        request,
        403,
        "Ingen behörighet",
        "Ditt konto finns inte i personallistan, så du kan inte arbeta med ärenden här.",
        person=person,
    )


def signed_in(request: Request) -> BrowserSession | None:
    store: SessionStore = request.app.state.sessions
    return store.current(request.session.get("sid"))


async def staff(request: Request) -> tuple[BrowserSession, StaffMember] | Response:
    """The signed-in person and their roles today, or the response that says why not (off
    to sign-in; not in the roster)."""
    person = signed_in(request)
    if person is None:
        return RedirectResponse("/logga-in", status_code=303)
    try:
        member = roster_member(request.app.state.settings, person.login)
    except Problem as refused:
        return refused_page(request, refused, person)
    # The same allowance per person as at the API (429 past it, a page saying so).
    limit: RateLimit = request.app.state.rate_limit
    await limit.check(f"login:{member.login.casefold()}")
    return person, member


def forged(request: Request, person: BrowserSession) -> Response:
    return message(
        request,
        403,
        "Formuläret kunde inte skickas",
        "Kontrollkoden saknas eller stämmer inte (skyddet mot förfalskade formulär). "
        "Ladda om sidan och försök igen. Ingenting har ändrats.",
        ("/", "Till Mina ärenden"),
        person=person,
    )


def session_note(request: Request, person: BrowserSession) -> str:
    """When the session ends: at the latest at its lifetime, or after the idle time."""
    settings: Settings = request.app.state.settings
    left = settings.session_lifetime_seconds - (time.monotonic() - person.started)
    ends = (datetime.now(STOCKHOLM) + timedelta(seconds=left)).strftime("%H:%M")
    idle = (
        f"{settings.session_idle_seconds // 60} minuter"
        if settings.session_idle_seconds >= 120
        else f"{settings.session_idle_seconds} sekunder"
    )
    return f"Sessionen slutar senast {ends}, eller efter {idle} utan aktivitet."


@router.get("/logga-in")
async def sign_in(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if request.app.state.oauth is None:
        return message(
            request,
            503,
            "Inloggningen är inte igång",
            "Webbinloggningen är inte konfigurerad (DSR_OIDC_CONSOLE_CLIENT_SECRET).",
        )
    # Right after a sign-out here, the provider is asked for the password again even if its
    # own session lives on (the person said "no" to signing out there): the next person at
    # this browser is not signed in as the last.
    fresh = {"prompt": "login"} if request.session.pop("signed_out", False) else {}
    try:
        answer: Response = await request.app.state.oauth.authorize_redirect(
            request, f"{settings.console_url}/auth/callback", **fresh
        )
    except Exception:  # noqa: BLE001 - the provider unreachable or answering nonsense
        log.warning("console_sign_in_unavailable")
        return message(
            request,
            503,
            "Inloggningen går inte just nu",
            "Identitetsleverantören svarar inte. Försök igen om en stund.",
            ("/logga-in", "Försök igen"),
        )
    return answer


@router.get("/auth/callback")
async def callback(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if request.app.state.oauth is None:
        return RedirectResponse("/logga-in", status_code=303)
    oauth = request.app.state.oauth
    store: SessionStore = request.app.state.sessions
    try:
        # The ID token's signature (the provider's published keys), issuer, audience (this
        # client), expiry and nonce; authlib checks the audience only when told to.
        token = await oauth.authorize_access_token(
            request,
            claims_options={
                "iss": {"essential": True, "values": [settings.oidc_issuer]},
                "aud": {"essential": True, "values": [settings.oidc_console_client_id]},
            },
        )
    except Exception as error:  # noqa: BLE001 - denied, forged, replayed, expired, unreachable
        # Nothing kept, and nothing of what came with the answer shown back (the error text
        # of a forged callback is the forger's).
        log.info("console_sign_in_failed", error=type(error).__name__)
        store.end(request.session.get("sid"))  # nothing of a session is left half-kept
        request.session.clear()
        return message(
            request,
            400,
            "Inloggningen misslyckades",
            "Inloggningen kunde inte slutföras. Börja om.",
            ("/logga-in", "Logga in igen"),
        )
    claims = token.get("userinfo") or {}
    login = claims.get(settings.oidc_login_claim)
    store.end(request.session.get("sid"))  # a session from before this sign-in ends here
    request.session.clear()
    if not isinstance(login, str) or not login:
        return message(
            request, 403, "Ingen behörighet", "Inloggningen säger inte vem du är (login claim)."
        )
    try:
        member = roster_member(settings, login)
    except Problem as refused:
        return refused_page(request, refused)
    request.session["sid"] = store.begin(member.login, token.get("id_token"))
    return RedirectResponse("/", status_code=303)


@router.post("/logga-ut")
async def sign_out(request: Request) -> Response:
    person = signed_in(request)
    form = await request.form()
    sent = form.get("csrf")
    if person is None:
        request.session.clear()
        return RedirectResponse("/utloggad", status_code=303)
    if not person.form_token_matches(sent if isinstance(sent, str) else None):
        return forged(request, person)
    store: SessionStore = request.app.state.sessions
    store.end(request.session.get("sid"))
    request.session.clear()
    request.session["signed_out"] = True
    settings: Settings = request.app.state.settings
    target = f"{settings.console_url}/utloggad"
    oauth = request.app.state.oauth
    if oauth is not None and person.id_token:
        # The provider's session ends too: the next person at this browser signs in anew.
        try:
            metadata = await oauth.load_server_metadata()
        except Exception:  # noqa: BLE001 - the provider away: signed out here all the same
            metadata = {}
        end_session = metadata.get("end_session_endpoint")
        if end_session:
            query = urllib.parse.urlencode(
                {"id_token_hint": person.id_token, "post_logout_redirect_uri": target}
            )
            return RedirectResponse(f"{end_session}?{query}", status_code=303)
    return RedirectResponse(target, status_code=303)


@router.get("/utloggad")
async def signed_out(request: Request) -> Response:
    return message(
        request,
        200,
        "Du är utloggad",
        "Du är utloggad från ärendetjänsten.",
        ("/logga-in", "Logga in igen"),
    )
