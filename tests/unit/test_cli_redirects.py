"""The command line sends its bearer token to the case service it signed in to, and nowhere
else: not along a redirect, not to a plain-http service on another machine."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cli import signin
from infra.config import PROJECT_ROOT


@pytest.fixture
def two_hosts() -> Iterator[tuple[str, list[str]]]:
    """A "service" that redirects every call to a second server, which notes what
    Authorization headers reach it."""
    seen: list[str] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    other = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    target = f"http://localhost:{other.server_address[1]}/steal"

    class Redirecting(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    service = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    for server in (other, service):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{service.server_address[1]}", seen
    finally:
        for server in (other, service):
            server.shutdown()


def dsr(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "starter.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_a_redirect_is_refused_and_the_token_goes_nowhere(
    two_hosts: tuple[str, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = two_hosts
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    cache = signin.token_path(url)
    cache.parent.mkdir(parents=True)
    cache.write_text(json.dumps({"access_token": "SECRET", "expires_at": time.time() + 600}))
    env = {"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(tmp_path), "DSR_SERVICE_URL": url}
    done = dsr(env, "whoami")
    assert done.returncode == 1 and "redirect" in done.stderr and "SECRET" not in done.stderr
    assert seen == []


def test_a_service_on_another_machine_must_be_https(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "XDG_CONFIG_HOME": str(tmp_path),
        "DSR_SERVICE_URL": "http://cases.example.org",
    }
    done = dsr(env, "login")
    assert done.returncode == 1 and "must be https" in done.stderr
