"""Who is calling: bearer access tokens from the organisation's OpenID Connect provider.

The provider is found by discovery from the configured issuer (OpenID Connect Discovery 1.0
§ 4.3: the document must name the same issuer). A token is accepted only if its signature is
made by a key the provider publishes (its JWKS, read again when a token names a key not seen
before: keys rotate), it was issued by that issuer, for this service's audience, and has not
expired (RFC 9068 § 4). The login comes from one claim named in the settings; the staff roster
maps it to roles. A token with no login claim is a client's own (client credentials): the
customer e-service, known by its client id.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

# Asymmetric algorithms only: a shared-secret (HS256) token could be forged by anyone who has
# the secret, and "none" by anyone at all.
ALGORITHMS = ["ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"]
# A token naming an unknown key makes the JWKS be read again, at most this often.
JWKS_REFRESH_SECONDS = 30.0
# Clock skew allowed between the provider and this service.
LEEWAY_SECONDS = 5
# A bearer token larger than this is refused unread.
MAX_TOKEN_BYTES = 16_384


class AuthenticationError(Exception):
    """The token is missing, malformed, forged, expired or not for this service (401)."""


class ProviderUnavailable(Exception):
    """The identity provider cannot be reached or describes itself wrongly (503)."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. `login` is a person's (staff); None for a client acting on
    its own behalf (the e-service), which `client_id` names."""

    login: str | None
    client_id: str | None
    subject: str
    expires_at: int

    @property
    def is_person(self) -> bool:
        return self.login is not None


class TokenVerifier:
    def __init__(self, *, issuer: str, audience: str, login_claim: str, http: httpx.AsyncClient):
        # Verbatim: some providers' issuers end in "/" (Entra ID v1, Auth0), and `iss` is
        # compared with it exactly (OpenID Connect Discovery 1.0 § 4.3).
        self.issuer = issuer
        self.audience = audience
        self.login_claim = login_claim
        self._http = http
        self.metadata: dict[str, Any] = {}
        self._keys: KeySet | None = None
        self._keys_read_at = 0.0
        # One discovery or key refresh at a time, however many calls arrive at once.
        self._reading = asyncio.Lock()

    async def discover(self) -> dict[str, Any]:
        """Read the provider's metadata and keys; the issuer it states must be the one set."""
        url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
        document = await self._get_json(url)
        if document.get("issuer") != self.issuer:
            raise ProviderUnavailable(
                f"the identity provider at {self.issuer} names another issuer "
                f"({document.get('issuer')!r}) in its discovery document"
            )
        if "jwks_uri" not in document:
            raise ProviderUnavailable("the identity provider publishes no jwks_uri")
        self.metadata = document
        await self._read_keys()
        return document

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url, timeout=10.0)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnavailable(
                f"the identity provider cannot be read at {url}: {type(error).__name__}"
            ) from None
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"the identity provider sent no JSON object at {url}")
        return document

    async def _read_keys(self) -> None:
        # The attempt counts even when it fails: a provider that is down is not asked again
        # for every call naming an unknown key.
        self._keys_read_at = time.monotonic()
        document = await self._get_json(self.metadata["jwks_uri"])
        try:
            self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as error:
            raise ProviderUnavailable(
                f"the identity provider's keys are unusable: {error}"
            ) from None
        self._keys_read_at = time.monotonic()

    async def verify(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_BYTES:
            raise AuthenticationError("the access token is too large")
        try:
            headers = extract_compact(token.encode()).headers()
            kid = headers.get("kid") if isinstance(headers, dict) else None
            if not isinstance(headers, dict):
                raise ValueError("no header object")
        except Exception:  # noqa: BLE001 - whatever is wrong with it, it is no token
            raise AuthenticationError("the access token is not a signed JWT") from None
        async with self._reading:
            if not self.metadata or self._keys is None:
                await self.discover()
            stale = time.monotonic() - self._keys_read_at > JWKS_REFRESH_SECONDS
            if not self._knows(kid) and stale:
                await self._read_keys()
        if not self._knows(kid):
            raise AuthenticationError(
                "the access token is signed with a key the provider does not publish"
            )
        assert self._keys is not None
        try:
            decoded = jwt.decode(token, self._keys, algorithms=ALGORITHMS)
            jwt.JWTClaimsRegistry(
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.audience},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(decoded.claims)
        except ExpiredTokenError:
            raise AuthenticationError("the access token has expired; sign in again") from None
        except (JoseError, ValueError) as error:
            raise AuthenticationError(
                f"the access token is not valid here ({_why(error)})"
            ) from None
        claims = decoded.claims
        login = claims.get(self.login_claim)
        client_id = claims.get("client_id") or claims.get("azp") or claims.get("appid")
        return Principal(
            login=str(login) if login else None,
            client_id=str(client_id) if client_id else None,
            subject=str(claims["sub"]),
            expires_at=int(claims["exp"]),
        )

    def _knows(self, kid: object) -> bool:
        if self._keys is None:
            return False
        if kid is None:
            return len(self._keys.keys) == 1
        return any(key.kid == kid for key in self._keys.keys)


def _why(error: Exception) -> str:
    """A short reason without the token's content."""
    description = getattr(error, "description", "") or getattr(error, "error", "")
    return str(description or type(error).__name__)
