"""The Dockerfile as BuildKit's own parser reads it (no Docker engine needed): its instructions
and the image's settings, for the compose and the security tests."""

from __future__ import annotations

from pathlib import Path

import dockerfile

DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"


def instructions(name: str) -> list[dockerfile.Command]:
    """The Dockerfile's instructions of one kind, as BuildKit's parser reads them."""
    return [cmd for cmd in dockerfile.parse_file(str(DOCKERFILE)) if cmd.cmd == name.upper()]


def dockerfile_environment() -> dict[str, str]:
    """The image's own DSR_* settings (its ENV instructions)."""
    env: dict[str, str] = {}
    for command in instructions("ENV"):
        pairs = dict(zip(command.value[::2], command.value[1::2], strict=True))
        env.update({key: value for key, value in pairs.items() if key.startswith("DSR_")})
    return env
