"""The payload converter: pydantic's JSON, with each model's kind named inside the payload.

The codec binds a sealed payload to its namespace, case and place (infra.codec), but the SDK's
context does not say which update or query of a case a payload is for, and pydantic takes any
JSON whose fields fit: an approval of a release validates as an approval of an erasure plan.
So a model's payload carries its class name, and the classes it derives from, in its metadata;
the codec seals that metadata with the data, so nobody without a key can change it. Decoding
into a model refuses a payload made for another model. Payloads written before this carry no
name and decode as before (histories keep replaying).

A refusal is an ApplicationError of type PayloadRefused, so that an update carrying such a
payload is rejected (the SDK passes it on rather than failing the workflow task).

A model renamed while cases are running would refuse the payloads written under its old name:
keep the old name in `payload_names` (a class attribute) for as long as such cases live.
"""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
    JSONPlainPayloadConverter,
)
from temporalio.exceptions import ApplicationError

from infra.codec import REFUSED, refused_reason

MODEL = "dsr-model"
_SEPARATOR = ","


def refused(reason: str) -> ApplicationError:
    """A payload refused: as an update's input it rejects the update (nothing reaches
    history); as an activity's input it fails the activity, not to be retried."""
    return ApplicationError(reason, type="PayloadRefused", non_retryable=True)


class RefusedPayloadConverter(EncodingPayloadConverter):
    """The codec's refused payloads (infra.codec.REFUSED): converting one fails with why."""

    @property
    def encoding(self) -> str:
        return REFUSED.decode()

    def to_payload(self, value: Any) -> Payload | None:
        return None  # never made here: only the codec makes them

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        raise refused(refused_reason(payload) or "encryption: a payload was refused")


def _names(cls: type[BaseModel]) -> list[str]:
    """The class and the models it derives from, nearest first (pydantic's own left out)."""
    names: list[str] = []
    for klass in cls.__mro__:
        if klass is BaseModel or not (isinstance(klass, type) and issubclass(klass, BaseModel)):
            continue
        names.append(klass.__name__)
        names.extend(getattr(klass, "payload_names", ()))
    return names


def _hinted_models(type_hint: Any) -> list[type[BaseModel]]:
    """The models a type hint asks for: the class itself, or the members of a union."""
    if isinstance(type_hint, type) and issubclass(type_hint, BaseModel):
        return [type_hint]
    if get_origin(type_hint) in (Union, types.UnionType):
        return [model for arg in get_args(type_hint) for model in _hinted_models(arg)]
    return []


class NamedModelJSONConverter(PydanticJSONPlainPayloadConverter):
    """pydantic's JSON payloads; a model's name goes with it and is checked on the way back."""

    def to_payload(self, value: Any) -> Payload | None:
        payload = super().to_payload(value)
        if payload is not None and isinstance(value, BaseModel):
            payload.metadata[MODEL] = _SEPARATOR.join(_names(type(value))).encode()
        return payload

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        named = payload.metadata.get(MODEL)
        wanted = _hinted_models(type_hint)
        if named is not None and wanted:
            made_for = named.decode(errors="replace").split(_SEPARATOR)
            if not any(model.__name__ in made_for for model in wanted):
                raise refused(
                    f"a payload made for {made_for[0]} is refused as "
                    f"{' or '.join(model.__name__ for model in wanted)}"
                )
        return super().from_payload(payload, type_hint)


class NamedModelPayloadConverter(CompositePayloadConverter):
    """The SDK's default converters, with JSON handled by NamedModelJSONConverter."""

    def __init__(self) -> None:
        json_converter = NamedModelJSONConverter()
        super().__init__(
            *(
                json_converter if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            ),
            RefusedPayloadConverter(),
        )
