"""The local OpenID Connect provider (idp/provider.mjs, Node's oidc-provider) on loopback, for
`make run`, `make demo` and the tests: the demo roster's staff are its users, and the case
service trusts it as it would the organisation's own provider.

Its keys and client secrets are made at each start and kept in memory: a token from an earlier
run is worth nothing. The demo logins are the roster's ids; each one's password is the id
followed by `-demo` (printed by `make demo`; a production provider has its own accounts).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin

import httpx

ROOT = Path(__file__).resolve().parent.parent
PROVIDER = ROOT / "idp" / "provider.mjs"
NODE_MODULES = ROOT / "idp" / "node_modules"

API_RESOURCE = "urn:dsr:api"
API_SCOPE = "api"
CONSOLE_CLIENT = "dsr-console"
CLI_CLIENT = "dsr-cli"
ESERVICE_CLIENT = "dsr-eservice"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# The line `dsr login` shows (cli/signin.py): where to go, and the code to confirm there.
DEVICE_PROMPT = re.compile(r"Open (\S+) in a browser and enter the code (\S+)")


class IdentityProviderError(RuntimeError):
    """The local provider cannot start: Node or its packages are missing, or it exited."""


def demo_password(login: str) -> str:
    return f"{login}-demo"


@dataclass
class LocalIdentityProvider:
    """A running provider. `issuer` is its address; `console_secret` and `eservice_secret` are
    the confidential clients' secrets for this run."""

    issuer: str
    console_secret: str
    eservice_secret: str
    process: subprocess.Popen[str] = field(repr=False)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _config(
    logins: list[str],
    *,
    console_redirects: list[str],
    console_secret: str,
    eservice_secret: str,
    access_token_ttl: int,
) -> dict[str, Any]:
    return {
        "users": {login: {"password": demo_password(login), "name": login} for login in logins},
        "api": {"resource": API_RESOURCE, "scope": API_SCOPE, "access_token_ttl": access_token_ttl},
        "session_ttl": 8 * 3600,
        "refresh_token_ttl": 8 * 3600,
        "clients": [
            {
                "client_id": CONSOLE_CLIENT,
                "client_name": "Ärendetjänsten",
                "client_secret": console_secret,
                "token_endpoint_auth_method": "client_secret_basic",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "redirect_uris": console_redirects,
                # The console's "signed out" page, beside each callback.
                "post_logout_redirect_uris": [
                    uri.rsplit("/", 2)[0] + "/utloggad" for uri in console_redirects
                ],
            },
            {
                # Native: a code to http://127.0.0.1/<path> is accepted on any port (RFC 8252).
                "client_id": CLI_CLIENT,
                "client_name": "dsr (kommandoraden)",
                "application_type": "native",
                "token_endpoint_auth_method": "none",
                "grant_types": [
                    "urn:ietf:params:oauth:grant-type:device_code",
                    "authorization_code",
                    "refresh_token",
                ],
                "response_types": ["code"],
                "redirect_uris": ["http://127.0.0.1/callback"],
            },
            {
                "client_id": ESERVICE_CLIENT,
                "client_name": "Kundens e-tjänst",
                "client_secret": eservice_secret,
                "token_endpoint_auth_method": "client_secret_basic",
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
            },
        ],
    }


def start_identity_provider(
    logins: list[str],
    *,
    console_redirects: list[str],
    port: int = 0,
    access_token_ttl: int = 600,
    log: IO[str] | None = None,
    timeout: float = 20.0,
) -> LocalIdentityProvider:
    """Start the provider with `logins` as its users and wait until it listens."""
    node = shutil.which("node")
    if node is None:
        raise IdentityProviderError("node is not installed: the local identity provider needs it")
    if not (NODE_MODULES / "oidc-provider").is_dir():
        raise IdentityProviderError(
            "the identity provider's packages are missing: run `make idp` (npm ci in idp/)"
        )
    console_secret = secrets.token_urlsafe(32)
    eservice_secret = secrets.token_urlsafe(32)
    config = _config(
        logins,
        console_redirects=console_redirects,
        console_secret=console_secret,
        eservice_secret=eservice_secret,
        access_token_ttl=access_token_ttl,
    )
    # The users' passwords are in the file: readable by this user only, and gone once read.
    descriptor, name = tempfile.mkstemp(prefix="dsr-idp-", suffix=".json")
    try:
        with os.fdopen(descriptor, "w") as file:
            json.dump(config, file)
        process = subprocess.Popen(
            [node, str(PROVIDER)],
            env={**os.environ, "IDP_CONFIG": name, "IDP_PORT": str(port)},
            stdout=subprocess.PIPE,
            stderr=log if log is not None else subprocess.DEVNULL,
            text=True,
        )
        assert process.stdout is not None
        line = _first_line(process, timeout)
    finally:
        Path(name).unlink(missing_ok=True)
    try:
        issuer = json.loads(line)["issuer"]
    except (ValueError, KeyError):
        process.kill()
        raise IdentityProviderError("the identity provider did not start (see its log)") from None
    return LocalIdentityProvider(issuer, console_secret, eservice_secret, process)


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The provider's first line of output (its address), or '' if it exits or hangs."""

    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            return ""
    return process.stdout.readline()


# --- a person at the provider's pages (the demo and the tests) --------------------------------


class _Forms(HTMLParser):
    """The forms of a page: id, action and the inputs with their values."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self._open = {"id": found.get("id"), "action": found.get("action") or "", "inputs": {}}
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and found.get("name"):
            self._open["inputs"][found["name"]] = found.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def submit_form(
    browser: httpx.Client, page: httpx.Response, fields: dict[str, str], form_id: str | None = None
) -> httpx.Response:
    """Fill in the page's one form (or the one with `form_id`) and send it."""
    forms = [f for f in _Forms(page.text).forms if form_id is None or f["id"] == form_id]
    if len(forms) != 1:
        raise IdentityProviderError(f"expected one form on {page.url} (HTTP {page.status_code})")
    form = forms[0]
    return browser.post(urljoin(str(page.url), form["action"]), data={**form["inputs"], **fields})


def approve_device(
    verification_uri: str, user_code: str, login: str, password: str
) -> httpx.Response:
    """What the person does in a browser for the device flow: open the page, type the code,
    confirm it, sign in. The last page says whether it worked."""
    with httpx.Client(follow_redirects=True, timeout=10) as browser:
        page = browser.get(verification_uri)
        page = submit_form(browser, page, {"user_code": user_code}, "op.deviceInputForm")
        page = submit_form(browser, page, {}, "op.deviceConfirmForm")
        return submit_form(browser, page, {"login": login, "password": password})


def command_line_sign_in(
    env: Mapping[str, str], login: str, password: str | None = None, timeout: float = 120
) -> list[str]:
    """`starter.py login` run with `env` (its DSR_SERVICE_URL and XDG_CONFIG_HOME) as
    `login`, the person's part done in the provider's pages as `approve_device` does it; the
    lines the command printed. IdentityProviderError when it does not complete."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "starter.py"), "login"],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    shown = DEVICE_PROMPT.search(first)
    if shown is None:
        _, err = process.communicate(timeout=timeout)
        said = err.strip()[-2000:] or first.strip()
        raise IdentityProviderError(f"{login} could not start signing in: {said}")
    page = approve_device(shown.group(1), shown.group(2), login, password or demo_password(login))
    if page.status_code != 200:
        process.kill()
        process.wait()
        raise IdentityProviderError(
            f"{login} could not sign in at the identity provider ({page.status_code})"
        )
    out, err = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise IdentityProviderError(f"{login} could not sign in: {err.strip()[-2000:]}")
    return [first.strip(), *out.strip().splitlines()]


def device_sign_in(issuer: str, login: str, password: str | None = None) -> str:
    """An access token for `login` by the device authorization grant (RFC 8628) of the CLI's
    client, the person's part done as `approve_device` does it."""
    with httpx.Client(timeout=10) as http:
        metadata = http.get(f"{issuer}/.well-known/openid-configuration").json()
        started = http.post(
            metadata["device_authorization_endpoint"],
            data={"client_id": CLI_CLIENT, "scope": "openid api"},
        ).json()
        signed_in = approve_device(
            started["verification_uri"],
            started["user_code"],
            login,
            password or demo_password(login),
        )
        if signed_in.status_code != 200:
            raise IdentityProviderError(f"{login} could not sign in (HTTP {signed_in.status_code})")
        for _ in range(100):
            answer = http.post(
                metadata["token_endpoint"],
                data={
                    "grant_type": DEVICE_GRANT,
                    "device_code": started["device_code"],
                    "client_id": CLI_CLIENT,
                },
            ).json()
            if "access_token" in answer:
                return str(answer["access_token"])
            if answer.get("error") not in ("authorization_pending", "slow_down"):
                raise IdentityProviderError(f"the device sign-in failed: {answer.get('error')}")
            time.sleep(0.2)
    raise IdentityProviderError("no token after the device was approved")
