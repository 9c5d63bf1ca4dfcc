"""A throwaway PostgreSQL server for the tests: `python scripts/postgres.py -- COMMAND ...`.

Makes a cluster under a temporary directory with Debian's PostgreSQL (initdb, pg_ctl), starts
it on a free loopback port, runs COMMAND with DSR_TEST_POSTGRES_URL pointing at it, then stops
it and removes the directory. As root (CI), the server runs as the `postgres` user, since
PostgreSQL refuses to run as root. Exits with COMMAND's status.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SEARCH = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


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
        subprocess.run(
            as_server_user(
                [binary("pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w"]
                + ["start"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        try:
            yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                as_server_user([binary("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                check=False,
                stdout=subprocess.DEVNULL,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.exit("usage: python scripts/postgres.py -- COMMAND ...")
    with throwaway_cluster() as url:
        print(f"PostgreSQL for the tests at {url}", flush=True)
        status = subprocess.run(args, env={**os.environ, "DSR_TEST_POSTGRES_URL": url}).returncode
    sys.exit(status)


if __name__ == "__main__":
    main()
