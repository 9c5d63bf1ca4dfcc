"""Browser sessions of the web console.

A person signs in with the organisation's provider (the authorization code flow with PKCE,
service.console); the service then keeps a session of its own, here, on the server: who, when
it began, when it was last used, and the form token that every state-changing form must carry
back (CSRF). The browser holds only a random session id, in a cookie the service signs
(Starlette's SessionMiddleware: HttpOnly, SameSite=Lax, Secure outside development). Signing
out ends the session here, so a copied cookie is worth nothing after it; so does the session's
lifetime (DSR_SESSION_LIFETIME_SECONDS) and a pause longer than its idle timeout
(DSR_SESSION_IDLE_SECONDS).

The store is the process's memory: one service process (as compose runs it). Several behind a
load balancer would need a shared store; a restart signs everyone out.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class BrowserSession:
    login: str
    started: float
    last_seen: float
    # The ID token, for the provider's sign-out (id_token_hint); it names only the login.
    id_token: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def form_token_matches(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf.encode())


class SessionStore:
    """Sessions by id, each ended by its lifetime, its idle timeout or sign-out."""

    def __init__(
        self,
        *,
        lifetime_seconds: float,
        idle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lifetime = lifetime_seconds
        self.idle = idle_seconds
        self.clock = clock
        self._sessions: dict[str, BrowserSession] = {}

    def begin(self, login: str, id_token: str | None) -> str:
        self._forget_ended()
        now = self.clock()
        session_id = secrets.token_urlsafe(32)
        self._sessions[session_id] = BrowserSession(login, now, now, id_token)
        return session_id

    def current(self, session_id: str | None) -> BrowserSession | None:
        """The live session with this id, its use noted; None if there is none (any more)."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self.clock()
        if self._ended(session, now):
            del self._sessions[session_id]
            return None
        session.last_seen = now
        return session

    def end(self, session_id: str | None) -> BrowserSession | None:
        return self._sessions.pop(session_id, None) if session_id else None

    def _ended(self, session: BrowserSession, now: float) -> bool:
        return now - session.started > self.lifetime or now - session.last_seen > self.idle

    def _forget_ended(self) -> None:
        now = self.clock()
        for session_id in [k for k, s in self._sessions.items() if self._ended(s, now)]:
            del self._sessions[session_id]
