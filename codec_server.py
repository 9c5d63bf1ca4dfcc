"""The codec server: settings -> logging -> the encryption codec -> HTTP on DSR_CODEC_ADDRESS.

The Web UI and `temporal workflow show --codec-endpoint ... --codec-auth "Bearer <token>"` use
it to read what the engine sealed; see infra/codec_http.py. A person's access token (a Web UI
with sign-in passes it on) is checked here as the case service checks it, against the same
identity provider, and the person's roles come from the staff roster; each decoded case is
recorded in its trail (`read:payloads`, who and when).
"""

from __future__ import annotations

from datetime import datetime

import httpx
import structlog
from aiohttp import web

from activities.register import RegisterActivities
from contract.calendar import STOCKHOLM
from contract.roles import DESCRIBED
from infra.codec import EncryptionCodec
from infra.codec_http import Record, Refused, create_app
from infra.config import Settings, SettingsError, get_settings
from infra.db import create_engine, sessionmaker
from infra.logging import configure_logging
from infra.roster import NotOnRoster, RosterError, staff_on
from service.auth import AuthenticationError, ProviderUnavailable, TokenVerifier

log = structlog.get_logger("codec_server")


class PeopleWhoRead:
    """A person's access token, verified, and their roles today by the roster and the
    delegation register: decoding is for `settings.codec_reader_roles` only."""

    def __init__(self, settings: Settings, verifier: TokenVerifier) -> None:
        self._settings = settings
        self._verifier = verifier

    async def login(self, token: str) -> str:
        try:
            who = await self._verifier.verify(token)
        except AuthenticationError as error:
            raise Refused(401, str(error)) from None
        except ProviderUnavailable as error:
            raise Refused(503, str(error)) from None
        if who.login is None:
            raise Refused(403, "the token is not a person's sign-in the staff roster holds")
        try:
            today = staff_on(
                self._settings.roster,
                self._settings.delegation_register,
                datetime.now(STOCKHOLM).date(),
            )
            entry = today.member(who.login)
        except RosterError as error:
            raise Refused(503, f"the staff roster cannot be read: {error}") from None
        except NotOnRoster as error:
            raise Refused(403, str(error)) from None
        allowed = self._settings.codec_reader_roles
        if not set(today.roles_of(entry)) & set(allowed):
            named = " or ".join(DESCRIBED[role] for role in allowed)
            raise Refused(
                403, f"{entry} may not read case data here: that takes {named} (staff roster)"
            )
        return entry


def recorder(register: RegisterActivities) -> Record:
    async def record(who: str, cases: list[str]) -> None:
        for case in cases:
            try:
                await register.record_read(case, who, "read:payloads", None)
            except LookupError:
                continue  # a workflow that is no case in the register (the engine's own)

    return record


async def build(settings: Settings) -> web.Application:
    ring = settings.key_ring()
    if ring is None:
        raise SystemExit("payload encryption is off: there is nothing for a codec server to do")
    http = httpx.AsyncClient()
    verifier = TokenVerifier(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience,
        login_claim=settings.oidc_login_claim,
        http=http,
    )
    engine = create_engine(settings.register_database_url)
    register = RegisterActivities(sessionmaker(engine), secret=settings.reference_secret, ring=ring)
    development = settings.environment == "development"
    app = create_app(
        # Payloads sealed before binding name no case: once they are not accepted, every
        # decoding is of a known case's payloads.
        EncryptionCodec(ring, accept_unbound=settings.accept_unbound_payloads),
        tokens=settings.codec_token_values,
        origins=settings.ui_origins,
        path_tokens=development,
        readers=PeopleWhoRead(settings, verifier),
        record=recorder(register),
        encoding=development,
    )

    async def close(_: web.Application) -> None:
        await http.aclose()
        await engine.dispose()

    app.on_cleanup.append(close)
    return app


def main() -> None:
    try:
        settings = get_settings()
    except SettingsError as error:
        raise SystemExit(f"codec server not started: {error}") from None
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    host, port = settings.codec_address.rsplit(":", 1)
    log.info("codec server started", address=settings.codec_url)
    web.run_app(build(settings), host=host, port=int(port), print=None, access_log=None)


if __name__ == "__main__":
    main()
