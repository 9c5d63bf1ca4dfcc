"""A throwaway PostgreSQL server for the tests: `python scripts/postgres.py -- COMMAND ...`.

Makes a cluster under a temporary directory with Debian's PostgreSQL (initdb, pg_ctl), starts
it on a free loopback port, runs COMMAND with DSR_TEST_POSTGRES_URL pointing at it, then stops
it and removes the directory. As root (CI), the server runs as the `postgres` user, since
PostgreSQL refuses to run as root. Exits with COMMAND's status.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _major(directory: Path) -> int:
    name = directory.parent.name
    return int(name) if name.isdigit() else 0


# The newest installed major version first (17 before 9).
SEARCH = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_major, reverse=True)


def binary(name: str) -> str:
    for directory in SEARCH:
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if found is None:
        sys.exit(f"{name} not found: install PostgreSQL (apt-get install postgresql)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """A running server; yields its SQLAlchemy URL (superuser `postgres`, trust on loopback)."""
    root = Path(tempfile.mkdtemp(prefix="dsr-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    pg_ctl = [binary("pg_ctl"), "-D", str(data)]
    try:
        subprocess.run(
            as_server_user(
                [binary("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        started = subprocess.run(
            as_server_user([*pg_ctl, "-o", options, "-l", str(root / "log"), "-w", "-t", "180"])
            + ["start"],
            stdout=subprocess.DEVNULL,
        )
        if started.returncode != 0:
            log = root / "log"
            sys.exit(
                "PostgreSQL did not start:\n"
                + (log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)")
            )
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        # Also after a failed or interrupted start: a server that is up is stopped.
        if (data / "postmaster.pid").exists():
            subprocess.run(
                as_server_user([*pg_ctl, "-m", "fast", "-w", "-t", "60", "stop"]),
                check=False,
                stdout=subprocess.DEVNULL,
            )
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.exit("usage: python scripts/postgres.py -- COMMAND ...")
    # A CI runner's SIGTERM still stops the server and removes its directory.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with throwaway_cluster() as url:
        print(f"PostgreSQL for the tests at {url}", flush=True)
        status = subprocess.run(args, env={**os.environ, "DSR_TEST_POSTGRES_URL": url}).returncode
    sys.exit(status)


if __name__ == "__main__":
    main()
