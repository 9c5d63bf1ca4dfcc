"""`dsr login` by the device flow against the running service and the local provider, the
token kept for the user alone, renewed when it expires, and removed by `dsr logout`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import sys
from pathlib import Path

import pytest

from dsr.config import PROJECT_ROOT
from dsr.idp import approve_device, demo_password
from tests.service.conftest import RunningService

pytestmark = pytest.mark.asyncio(loop_scope="session")

CODE_LINE = re.compile(r"Open (\S+) in a browser and enter the code (\S+)")


def cli_env(service: RunningService, home: Path) -> dict[str, str]:
    return {**os.environ, "DSR_SERVICE_URL": service.url, "XDG_CONFIG_HOME": str(home)}


async def dsr(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROJECT_ROOT / "starter.py"),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def login(env: dict[str, str], login: str) -> str:
    """Run `dsr login`, and do the person's part in the browser when it shows the code."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROJECT_ROOT / "starter.py"),
        "login",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    shown = CODE_LINE.search(line)
    assert shown, line
    page = await asyncio.to_thread(
        approve_device, shown.group(1), shown.group(2), login, demo_password(login)
    )
    assert page.status_code == 200
    rest, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return line + rest.decode()


async def test_login_keeps_a_token_for_the_user_alone_and_logout_removes_it(
    service: RunningService, tmp_path: Path
) -> None:
    env = cli_env(service, tmp_path)
    code, _, err = await dsr(env, "whoami")
    assert code == 1 and "not signed in" in err and "dsr login" in err
    said = await login(env, "anna")
    assert "Signed in to" in said and "anna" in said and "handler" in said
    [cached] = list((tmp_path / "dsr").iterdir())
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "dsr").stat().st_mode) == 0o700
    code, out, err = await dsr(env, "whoami", "--json")
    assert code == 0, err
    assert json.loads(out) == {"login": "anna", "roles": ["handler"]}

    # An expired access token is renewed with the refresh token, and kept again.
    record = json.loads(cached.read_text())
    record["expires_at"] = 0
    cached.write_text(json.dumps(record))
    code, out, err = await dsr(env, "whoami", "--json")
    assert code == 0, err
    renewed = json.loads(cached.read_text())
    assert renewed["access_token"] != record["access_token"] and renewed["expires_at"] > 0
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600

    code, out, _ = await dsr(env, "logout")
    assert code == 0 and "Signed out" in out
    assert not cached.exists()
    code, _, err = await dsr(env, "whoami")
    assert code == 1 and "not signed in" in err
