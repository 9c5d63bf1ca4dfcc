"""Make the secrets docker-compose.yml hands to its containers, under deploy/secrets/.

    python3 deploy/make_secrets.py                    # make whatever is missing; never overwrites
    python3 deploy/make_secrets.py --add-payload-key  # rotation, step 1: a new key, not yet used
    python3 deploy/make_secrets.py --make-current ID  # rotation, step 2: seal with it from now on

Only the standard library, so it runs with any Python 3.11 on the host. What it makes:

- `postgres_password`: the PostgreSQL role's password (hex: safe in URLs and Temporal's config)
- `subject_reference_secret`: DSR_SUBJECT_REFERENCE_SECRET, the register's HMAC secret. It
  cannot be rotated without re-keying the register: keep it with the backups.
- `codec_tokens`: DSR_CODEC_TOKENS, a JSON list of the codec server's bearer tokens
- `payload_keys.json`: the file DSR_ENCRYPTION_KEY_FILE names, {"current": id, "keys": {...}}

The directory is made 0700 and the files 0644: compose (without swarm) bind-mounts a secret file
as it is, and the containers read it as another user (the engine as uid 10001, Temporal as uid
1000), so the directory is what keeps other users of the host out.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parent / "secrets"
PAYLOAD_KEYS = "payload_keys.json"


def new_payload_key() -> str:
    """A fresh AES-256 key as base64, the form the key file holds (infra.codec.KeyRing)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def key_id(taken: set[str]) -> str:
    """An id for a new payload key: the month it was made, with a suffix if that is taken."""
    base = datetime.now(UTC).strftime("%Y-%m")
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}.{n}"
    return candidate


def payload_key_file() -> str:
    name = key_id(set())
    return json.dumps({"current": name, "keys": {name: new_payload_key()}}, indent=2) + "\n"


MAKERS: dict[str, Callable[[], str]] = {
    "postgres_password": lambda: secrets.token_hex(32) + "\n",
    "subject_reference_secret": lambda: secrets.token_urlsafe(48) + "\n",
    "codec_tokens": lambda: json.dumps([secrets.token_urlsafe(32)]) + "\n",
    PAYLOAD_KEYS: payload_key_file,
}


def write(path: Path, text: str) -> None:
    """Write a new file, never over an existing one (a lost HMAC secret or payload key makes
    the register or the histories unreadable)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o644)


def make_missing(directory: Path) -> list[str]:
    """Make the secrets that do not exist yet; returns their names."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    made = []
    for name, make in MAKERS.items():
        if not (directory / name).exists():
            write(directory / name, make())
            made.append(name)
    return made


def _read_ring(directory: Path) -> tuple[str, dict[str, str]]:
    """The key file's current key id and its keys."""
    ring = json.loads((directory / PAYLOAD_KEYS).read_text(encoding="utf-8"))
    return str(ring["current"]), {str(k): str(v) for k, v in ring["keys"].items()}


def _replace_ring(directory: Path, current: str, keys: dict[str, str]) -> None:
    path = directory / PAYLOAD_KEYS
    replacement = path.with_name(path.name + ".new")
    replacement.unlink(missing_ok=True)
    write(replacement, json.dumps({"current": current, "keys": keys}, indent=2) + "\n")
    replacement.replace(path)


def add_payload_key(directory: Path) -> str:
    """Rotation, step 1: add a new payload key without making it current, so every process can
    open what it will seal before anything is sealed with it. Returns the new key's id."""
    current, keys = _read_ring(directory)
    name = key_id(set(keys))
    keys[name] = new_payload_key()
    _replace_ring(directory, current, keys)
    return name


def make_current(directory: Path, name: str) -> None:
    """Rotation, step 2: seal new payloads with `name`. The older keys stay: every payload and
    extract file names the key that sealed it, and only that key opens it."""
    _, keys = _read_ring(directory)
    if name not in keys:
        raise SystemExit(f"no payload key {name!r} in {directory / PAYLOAD_KEYS}")
    _replace_ring(directory, name, keys)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where the secrets are")
    rotation = parser.add_mutually_exclusive_group()
    rotation.add_argument(
        "--add-payload-key",
        action="store_true",
        help="add a new payload key, not yet current (rotation, step 1)",
    )
    rotation.add_argument(
        "--make-current", metavar="ID", help="seal with this payload key from now on (step 2)"
    )
    args = parser.parse_args(argv)
    if args.add_payload_key:
        name = add_payload_key(args.dir)
        sys.stdout.write(
            f"payload key {name} added to {args.dir / PAYLOAD_KEYS} (not current yet): restart "
            f"every engine container, then run --make-current {name}\n"
        )
        return 0
    if args.make_current:
        make_current(args.dir, args.make_current)
        sys.stdout.write(
            f"payload key {args.make_current} is current: restart every engine container; "
            "keep the older keys (see docs/deployment.md)\n"
        )
        return 0
    made = make_missing(args.dir)
    sys.stdout.write(
        (f"made {', '.join(made)} in {args.dir}\n" if made else "")
        + f"every secret exists in {args.dir}; keep a copy with the backups\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
