"""YAML files read into pydantic models, with errors that name the file and the field."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def load_declaration(path: Path, model: type[M], error: type[ValueError]) -> M:
    """`path` read as `model`; any problem raises `error` with the file and the first bad
    field, never a traceback or the file's contents."""
    try:
        data = _parsed(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise error(f"{path.name}: cannot be read ({type(exc).__name__})") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise error(f"{path.name}: {_where(first['loc'])}: {first['msg']}") from None


@functools.lru_cache(maxsize=64)
def _parsed(text: str) -> Any:
    """The YAML of a declaration, parsed once per text: activities read the roster and the
    delegation register on every call (a change to the file takes effect at once), and parsing
    YAML costs far more than reading the file. Callers only validate what this returns into
    new models, never change it."""
    return yaml.safe_load(text)


def _where(loc: tuple[int | str, ...]) -> str:
    """The field's path, without the text of a bad key: a key can be whatever was typed, an
    identity number among what could be (pydantic marks such a key with "[key]")."""
    parts = [str(part) for part in loc]
    for i, part in enumerate(parts):
        if part == "[key]" and i > 0:
            parts[i - 1] = "(a key)"
    return ".".join(part for part in parts if part != "[key]")
