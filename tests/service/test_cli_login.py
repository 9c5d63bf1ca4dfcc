"""`dsr login` by the device flow against the running service and the local provider, the
token kept for the user alone, renewed when it expires, and removed by `dsr logout`."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest

from cli import signin
from tests.helpers import Cli
from tests.serving import RunningService, cli_login

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_login_keeps_a_token_for_the_user_alone_and_logout_removes_it(
    service: RunningService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = Cli(service.url, tmp_path)
    code, _, err = await cli.run("whoami")
    assert code == 1 and "not signed in" in err and "dsr login" in err
    said = await cli_login(cli, "anna")
    assert "Signed in to" in said and "anna" in said and "handler" in said
    [cached] = list((tmp_path / "dsr").iterdir())
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "dsr").stat().st_mode) == 0o700
    code, out, err = await cli.run("whoami", "--json")
    assert code == 0, err
    assert json.loads(out) == {"login": "anna", "roles": ["handler"]}

    # An expired access token is renewed with the refresh token, and kept again.
    record = json.loads(cached.read_text())
    record["expires_at"] = 0
    cached.write_text(json.dumps(record))
    code, out, err = await cli.run("whoami", "--json")
    assert code == 0, err
    renewed = json.loads(cached.read_text())
    assert renewed["access_token"] != record["access_token"] and renewed["expires_at"] > 0
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600

    # Commands at once, the token expired: one renews it, the others use what it got (the
    # provider rotates refresh tokens: a second renewal with the same one would be refused,
    # and the provider would revoke the sign-in as replayed).
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    expired = {**json.loads(cached.read_text()), "expires_at": 0}
    cached.write_text(json.dumps(expired))
    tokens = await asyncio.gather(
        *(asyncio.to_thread(signin.access_token, service.url) for _ in range(6))
    )
    assert len(set(tokens)) == 1 and tokens[0] != expired["access_token"]
    code, _, err = await cli.run("whoami")
    assert code == 0, err

    code, out, _ = await cli.run("logout")
    assert code == 0 and "Signed out" in out
    assert not cached.exists()
    code, _, err = await cli.run("whoami")
    assert code == 1 and "not signed in" in err
