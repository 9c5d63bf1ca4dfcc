"""An action's form, read off the update's input model: one control per field (a choice for an
enum, boxes for a list of them, a date, a box for yes/no, text otherwise), labelled in Swedish;
and a submitted form read back into the fields the model validates. `handler` is never a
control: it is who signed in.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from starlette.datastructures import FormData

from service.desk import words


@dataclass(frozen=True)
class Control:
    name: str
    label: str
    widget: str  # select | checkboxes | date | checkbox | textarea | text
    required: bool
    choices: list[tuple[str, str]] = field(default_factory=list)
    max_length: int | None = None


# Longer than a line: reasons, notes, questions.
_TEXTAREAS = {"reason", "note", "question", "evidence"}


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The annotation without `| None`, and whether None was allowed."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return (args[0] if len(args) == 1 else annotation), True
    return annotation, False


def _max_length(info: Any) -> int | None:
    for meta in info.metadata:
        if getattr(meta, "max_length", None) is not None:
            return int(meta.max_length)
    annotation, _ = _unwrap(info.annotation)
    for meta in getattr(annotation, "__metadata__", ()):
        if getattr(meta, "max_length", None) is not None:
            return int(meta.max_length)
    return None


def controls(model: type[BaseModel], choices: dict[str, list[tuple[str, str]]]) -> list[Control]:
    """The form's controls for `model`; `choices` gives the options of a field that has them
    from the case or the roster (a new handler, the documents found)."""
    found = []
    for name, info in model.model_fields.items():
        if name in ("handler", "action_id", "for_case"):  # who signed in; the service's stamps
            continue
        annotation, optional = _unwrap(info.annotation)
        base = typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else None
        required = info.is_required() and not optional
        label = words.FIELDS.get(name, name)
        if name in choices:
            widget = "checkboxes" if base is not None else "select"
            found.append(Control(name, label, widget, required, choices[name]))
        elif isinstance(annotation, type) and issubclass(annotation, StrEnum):
            options = [(m.value, words.CHOICES.get(m, m.value)) for m in annotation]
            found.append(Control(name, label, "select", required, options))
        elif isinstance(base, type) and issubclass(base, StrEnum):
            options = [(m.value, words.CHOICES.get(m, m.value)) for m in base]
            found.append(Control(name, label, "checkboxes", False, options))
        elif annotation is date:
            found.append(Control(name, label, "date", required))
        elif annotation is bool:
            found.append(Control(name, label, "checkbox", False))
        else:
            widget = "textarea" if name in _TEXTAREAS else "text"
            found.append(Control(name, label, widget, required, max_length=_max_length(info)))
    return found


def read(form: FormData, controls: list[Control]) -> dict[str, Any]:
    """The submitted values of `controls`, as the model takes them: an empty field left out
    (its default), boxes as lists, a yes/no box as whether it was ticked."""
    values: dict[str, Any] = {}
    for control in controls:
        if control.widget == "checkboxes":
            values[control.name] = [v for v in form.getlist(control.name) if isinstance(v, str)]
        elif control.widget == "checkbox":
            values[control.name] = form.get(control.name) is not None
        else:
            value = form.get(control.name)
            if isinstance(value, str) and value.strip():
                values[control.name] = value.strip()
    return values
