"""Signing in from the command line (`dsr login`): the OAuth 2.0 device authorization grant
(RFC 8628) with the identity provider the case service names, and the tokens cached for this
user, per service, in their config directory (`$XDG_CONFIG_HOME/dsr`, else `~/.config/dsr`),
readable by them alone (mode 0600). An access token that has expired is renewed with the
refresh token; `dsr logout` revokes it at the provider and removes the file.

Standard library only: the command line starts fast and imports nothing of the engine.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

DEFAULT_SERVICE_URL = "http://127.0.0.1:8300"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# Renew a little before the provider's expiry: a call must not arrive with a dead token.
RENEW_MARGIN_SECONDS = 30


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Neither the service nor the provider's endpoints redirect these calls: a 3xx is refused,
    so a bearer token (which urllib would copy to the new address) or a refresh token goes
    nowhere but where it was meant to."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(_NoRedirects)


class SignInError(Exception):
    """Signing in failed or is needed; the message is one line for the person."""


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def service_url() -> str:
    """The case service (DSR_SERVICE_URL): https, or plain http on this machine only."""
    url = os.environ.get("DSR_SERVICE_URL", DEFAULT_SERVICE_URL).rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SignInError("DSR_SERVICE_URL: not an http(s) address")
    if parts.scheme != "https" and parts.hostname not in LOOPBACK:
        raise SignInError(
            "DSR_SERVICE_URL: a case service elsewhere than on this machine must be https"
        )
    return url


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dsr"


def token_path(service: str) -> Path:
    """One file per service, so that signing in to a test service keeps the real one's."""
    digest = hashlib.sha256(service.encode()).hexdigest()[:16]
    return config_dir() / f"token-{digest}.json"


class Unreachable(Exception):
    """No answer at all (refused, timed out, no such host): the reason, for the person."""


def exchange(request: urllib.request.Request, timeout: float) -> tuple[int, bytes]:
    """Send one request, redirects not followed: the status and the body, whatever the
    status."""
    try:
        with OPENER.open(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise Unreachable(str(getattr(error, "reason", error))) from None


def request_json(
    method: str,
    url: str,
    *,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 15.0,
) -> tuple[int, dict[str, Any]]:
    """One HTTP call; the status and the JSON object answered (empty if none)."""
    body = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if body is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    request.add_header("Accept", "application/json")
    try:
        status, raw = exchange(request, timeout)
    except Unreachable as reason:
        raise SignInError(f"cannot reach {_origin(url)} ({reason})") from None
    try:
        answer = json.loads(raw) if raw else {}
    except ValueError:
        answer = {}
    return status, answer if isinstance(answer, dict) else {}


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _save(path: Path, record: dict[str, Any]) -> None:
    """Written readable by this user only, whatever the umask, replacing any older file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    # A fresh file of this process's own (mkstemp: O_EXCL, mode 0600), then put in place.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".token-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w") as file:
            json.dump(record, file)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _load(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def login(
    service: str,
    *,
    show: Callable[[str], None],
    wait: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Sign in by the device flow; `show` tells the person where to go and which code to
    confirm. Returns the cached record (without its tokens)."""
    status, info = request_json("GET", f"{service}/api/v1/sign-in")
    if status != 200 or "issuer" not in info:
        raise SignInError(f"the case service at {service} does not say how to sign in")
    issuer = str(info["issuer"]).rstrip("/")
    expected = os.environ.get("DSR_OIDC_ISSUER", "").rstrip("/")
    if expected and issuer != expected:
        # A service that sends people to sign in elsewhere than the organisation's provider.
        raise SignInError(
            f"the case service at {service} names the identity provider {issuer}, not "
            f"DSR_OIDC_ISSUER ({expected}); not signing in"
        )
    status, metadata = request_json("GET", f"{issuer}/.well-known/openid-configuration")
    if status != 200 or str(metadata.get("issuer", "")).rstrip("/") != issuer:
        raise SignInError(f"the identity provider at {issuer} does not describe itself")
    if "device_authorization_endpoint" not in metadata:
        raise SignInError(f"the identity provider at {issuer} offers no device sign-in")
    client_id, scope = str(info["client_id"]), str(info["scope"])
    status, started = request_json(
        "POST",
        metadata["device_authorization_endpoint"],
        form={"client_id": client_id, "scope": scope},
    )
    if status != 200 or "device_code" not in started:
        raise SignInError(f"the identity provider refused the sign-in: {_error(started)}")
    show(
        f"Open {started['verification_uri']} in a browser and enter the code "
        f"{started['user_code']} (or open {started.get('verification_uri_complete', '-')}) "
        f"to sign in to the case service at {service}"
    )
    interval = float(started.get("interval", 5))
    deadline = time.monotonic() + float(started.get("expires_in", 600))
    while time.monotonic() < deadline:
        wait(interval)
        status, answer = request_json(
            "POST",
            metadata["token_endpoint"],
            form={
                "grant_type": DEVICE_GRANT,
                "device_code": started["device_code"],
                "client_id": client_id,
            },
        )
        error = answer.get("error")
        if status == 200 and "access_token" in answer:
            record = {
                "service": service,
                "issuer": issuer,
                "client_id": client_id,
                "token_endpoint": metadata["token_endpoint"],
                "revocation_endpoint": metadata.get("revocation_endpoint"),
                **_tokens(answer),
            }
            _save(token_path(service), record)
            return {k: v for k, v in record.items() if not k.endswith("_token")}
        if error == "slow_down":
            interval += 5
        elif error != "authorization_pending":
            raise SignInError(f"the sign-in did not complete: {_error(answer)}")
    raise SignInError("the sign-in was not confirmed in time; run dsr login again")


def _tokens(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "access_token": answer["access_token"],
        "refresh_token": answer.get("refresh_token"),
        "expires_at": int(time.time()) + int(answer.get("expires_in", 300)),
    }


def _error(answer: dict[str, Any]) -> str:
    return str(answer.get("error_description") or answer.get("error") or "no answer")


def access_token(service: str) -> str:
    """The cached access token, renewed with the refresh token when it has expired."""
    path = token_path(service)
    record = _load(path)
    if record is None or "access_token" not in record:
        raise SignInError(f"not signed in to {service}: run dsr login")
    if _fresh(record):
        return str(record["access_token"])
    # One renewal at a time: the provider rotates refresh tokens, and a second command that
    # sent the one just used would be refused (and the sign-in revoked as replayed).
    with _renewing(path):
        record = _load(path)
        if record is None or "access_token" not in record:
            raise SignInError(f"not signed in to {service}: run dsr login")
        if _fresh(record):
            return str(record["access_token"])  # another command renewed it meanwhile
        return _renew(path, record)


def _fresh(record: dict[str, Any]) -> bool:
    return int(record.get("expires_at", 0)) - RENEW_MARGIN_SECONDS > time.time()


@contextlib.contextmanager
def _renewing(path: Path) -> Iterator[None]:
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _renew(path: Path, record: dict[str, Any]) -> str:
    if not record.get("refresh_token"):
        raise SignInError("the sign-in has expired: run dsr login")
    status, answer = request_json(
        "POST",
        record["token_endpoint"],
        form={
            "grant_type": "refresh_token",
            "refresh_token": record["refresh_token"],
            "client_id": record["client_id"],
        },
    )
    if status != 200 or "access_token" not in answer:
        raise SignInError("the sign-in has expired: run dsr login")
    renewed = {**record, **_tokens(answer)}
    renewed["refresh_token"] = answer.get("refresh_token") or record["refresh_token"]
    _save(path, renewed)
    return str(renewed["access_token"])


def logout(service: str) -> bool:
    """Revoke the refresh token (if the provider can) and remove the cached tokens. False if
    there was no sign-in to remove."""
    path = token_path(service)
    record = _load(path)
    if record is None:
        path.unlink(missing_ok=True)
        return False
    endpoint = record.get("revocation_endpoint")
    if endpoint and record.get("refresh_token"):
        try:
            request_json(
                "POST",
                endpoint,
                form={
                    "token": record["refresh_token"],
                    "token_type_hint": "refresh_token",
                    "client_id": record["client_id"],
                },
            )
        except SignInError:
            pass  # the provider is away: the file goes anyway, the token expires by itself
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".lock").unlink(missing_ok=True)
    return True
