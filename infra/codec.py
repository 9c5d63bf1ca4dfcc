"""Payload encryption: every workflow input, result, update, query answer and failure the
engine sends to Temporal is sealed with AES-256-GCM before it leaves the process.

Temporal stores payloads in its database and shows them to everyone with Web UI access; with
this codec it stores ciphertext, and only holders of a key (the worker, the CLI, the codec
server for the UI) can read it. Each payload names the key that sealed it, so keys rotate: new
payloads use the current key, and every listed key still opens older ones.

Each payload is also bound to where it belongs (the associated data of AES-GCM): the namespace,
the workflow it is an input or output of, and its place there, the workflow itself or one
activity by type. The SDK says where a payload goes or comes from (its serialization context);
a payload sealed for one case or activity does not open in another, even with the right key.
Which update or query a workflow payload is for is bound one level in: the payload converter
(infra.converter) names the payload's model inside the seal, and the update's validator refuses a
payload made for another. Payloads sealed before binding open while `accept_unbound` allows.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
# Where a sealed payload belongs, in its (unsealed) metadata: namespace, workflow id and place,
# joined by BINDING_SEPARATOR. It names no person (a case number, an activity's type); the
# codec server reads it to open a payload without a context and to record which case it showed.
BINDING = "encryption-binding"
BINDING_SEPARATOR = "\x1f"
_BOUND_AAD = b"dsr-payload/bound\x00"
NONCE_BYTES = 12
TAG_BYTES = 16
_KEY_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


class EncryptionKeyError(ValueError):
    """A key that is missing, malformed, or does not open a payload."""


@dataclass(frozen=True)
class KeyRing:
    """Named 256-bit keys and the one new payloads are sealed with."""

    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise EncryptionKeyError(
                f"encryption: the current key {self.current!r} is not among the keys"
            )
        for name, key in self.keys.items():
            if not _KEY_NAME.fullmatch(name):
                raise EncryptionKeyError(
                    "encryption: a key id is 1-64 letters, digits, '.', '_' or '-'"
                )
            if len(key) != 32:
                raise EncryptionKeyError(f"encryption: key {name!r} must be 32 bytes (256 bits)")

    @cached_property
    def _ciphers(self) -> dict[str, AESGCM]:
        return {name: AESGCM(key) for name, key in self.keys.items()}

    def seal(
        self, data: bytes | bytearray | memoryview, associated: Callable[[str], bytes]
    ) -> tuple[str, bytes, bytes]:
        """The one seal of every store (payloads, the extract store, the register's notes):
        AES-256-GCM under the current key with a fresh random nonce, bound to
        `associated(key id)`. Returns the key id, the nonce and the ciphertext with its tag;
        each store frames them its own way."""
        name = self.current
        nonce = os.urandom(NONCE_BYTES)
        return name, nonce, self._ciphers[name].encrypt(nonce, data, associated(name))

    def open(
        self,
        key_id: str,
        nonce: bytes | memoryview,
        sealed: bytes | memoryview,
        associated: bytes,
    ) -> bytes:
        """What `seal` sealed. KeyError when the ring holds no such key, InvalidTag when the
        ciphertext is damaged or bound to other associated data."""
        return self._ciphers[key_id].decrypt(nonce, sealed, associated)

    @classmethod
    def from_text(cls, keys: Mapping[str, str], current: str) -> KeyRing:
        """Keys as base64 text (how settings and key files hold them)."""
        decoded: dict[str, bytes] = {}
        for name, text in keys.items():
            try:
                decoded[name] = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise EncryptionKeyError(f"encryption: key {name!r} is not base64") from None
        return cls(decoded, current)

    @classmethod
    def from_file(cls, path: Path) -> KeyRing:
        """A JSON key file: {"current": "2026-11", "keys": {"2026-11": "<base64>", ...}}."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls.from_text(dict(data["keys"]), str(data["current"]))
        except (OSError, ValueError, KeyError, TypeError) as error:
            if isinstance(error, EncryptionKeyError):
                raise
            raise EncryptionKeyError(
                f"encryption: the key file {path.name} cannot be read ({type(error).__name__})"
            ) from None


def new_key() -> str:
    """A fresh random 256-bit key, as base64, for a key file or the environment."""
    return base64.b64encode(os.urandom(32)).decode()


_BINDING_IN_JSON = re.compile(rf'"{BINDING}"\s*:\s*"([A-Za-z0-9+/=]+)"')


def history_place(history_json: str) -> tuple[str, str] | None:
    """The namespace and workflow id a history's payloads are bound to, read from the first
    sealed payload's binding in its JSON (`temporal workflow show --output json`, or the
    SDK's `to_json`); None for a history sealed before binding. A replay must give both to the
    Replayer: its payloads open only there."""
    found = _BINDING_IN_JSON.search(history_json)
    if found is None:
        return None
    parts = base64.b64decode(found.group(1)).decode(errors="replace").split(BINDING_SEPARATOR)
    return (parts[0], parts[1]) if len(parts) >= 2 else None


def binding(context: SerializationContext | None) -> str | None:
    """Where a payload in `context` belongs; None where the SDK gives no context."""
    if isinstance(context, WorkflowSerializationContext):
        parts = [context.namespace, context.workflow_id, "workflow"]
    elif isinstance(context, ActivitySerializationContext):
        # Whether it runs as a local activity is left out: it may change by a patch.
        parts = [
            context.namespace,
            context.workflow_id or "",
            f"activity:{context.activity_type or ''}",
        ]
    else:
        return None
    return BINDING_SEPARATOR.join(parts)


def bound_case(binding_text: str) -> str:
    """The workflow id a binding names (the case number, or the case's follow-up)."""
    parts = binding_text.split(BINDING_SEPARATOR)
    return parts[1] if len(parts) == 3 else ""


class PayloadRefused(EncryptionKeyError):
    """A payload that does not open here: unsealed where sealing is required, damaged, or
    sealed for another case or place."""


# What decoding gives for a refused payload: no converter of the SDK's takes it, and the
# engine's (infra.converter) fails with the reason carried in its data.
REFUSED = b"binary/refused"


def refusal(reason: str) -> Payload:
    return Payload(metadata={"encoding": REFUSED}, data=reason.encode())


def refused_reason(payload: Payload) -> str | None:
    """Why decoding refused `payload`, or None if it opened."""
    if payload.metadata.get("encoding") != REFUSED:
        return None
    return payload.data.decode(errors="replace")


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    """AES-256-GCM over each whole payload (its metadata and data), with the key id both in
    the sealed payload's metadata and bound to the ciphertext, so a payload cannot be passed
    off as sealed by another key. Payloads that are not sealed pass through decoding when
    `accept_unsealed` (histories recorded before encryption, cases started before it); once
    none is left, refusing them stops anyone with access to Temporal but without a key from
    sending the workers an update or signal of their own making.

    With a serialization context (`with_context`, which the SDK calls for each payload it
    converts) a payload is sealed bound to it and opens only in the same one. Without one (the
    codec server, `temporal workflow show`) a bound payload opens as bound to the place its
    metadata names, which the tag proves. Payloads sealed before binding (no binding in their
    metadata) open in any context while `accept_unbound`: histories and cases from before."""

    def __init__(
        self,
        ring: KeyRing,
        *,
        accept_unsealed: bool = True,
        accept_unbound: bool = True,
        _context: str | None = None,
    ) -> None:
        self._ring = ring
        self._accept_unsealed = accept_unsealed
        self._accept_unbound = accept_unbound
        self._binding = _context

    def with_context(self, context: SerializationContext) -> EncryptionCodec:
        place = binding(context)
        if place == self._binding:
            return self
        bound = EncryptionCodec.__new__(EncryptionCodec)
        bound.__dict__.update(self.__dict__)
        bound._binding = place
        return bound

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._seal(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decode(payload) for payload in payloads]

    def _decode(self, payload: Payload) -> Payload:
        """The payload opened; one refused (unsealed, damaged, bound elsewhere) becomes a
        REFUSED payload whose conversion fails with the reason: an update carrying it is
        rejected before its validator, and nothing of it reaches history. Raising here instead
        would fail the whole workflow task, and the case would stand still while it is retried.
        A payload whose key is missing still raises: the task is retried once the key is back."""
        try:
            if payload.metadata.get("encoding") == ENCODING:
                return self._open(payload)
            if not self._accept_unsealed:
                raise PayloadRefused("encryption: an unsealed payload is refused")
            return payload
        except PayloadRefused as refused:
            return refusal(str(refused))

    def _seal(self, payload: Payload) -> Payload:
        binding = self._binding
        name, nonce, sealed = self._ring.seal(
            payload.SerializeToString(),
            lambda key: key.encode() if binding is None else _bound_aad(key, binding),
        )
        metadata = {"encoding": ENCODING, KEY_ID: name.encode()}
        if binding is not None:
            metadata[BINDING] = binding.encode()
        return Payload(metadata=metadata, data=nonce + sealed)

    def _open(self, payload: Payload) -> Payload:
        name = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        known = name in self._ring.keys
        if not known and not _KEY_NAME.fullmatch(name):
            # No key was ever named so: made up, not rotated out.
            raise PayloadRefused("encryption: a payload names no key this engine could hold")
        if not known:
            raise EncryptionKeyError(
                f"encryption: no key {name!r} to open a payload (rotated out?)"
            )
        claimed = payload.metadata.get(BINDING)
        if claimed is None:
            if not self._accept_unbound:
                raise PayloadRefused(
                    "encryption: a payload sealed before payloads were bound to their case is "
                    "refused"
                )
            aad = name.encode()
        else:
            place = claimed.decode(errors="replace")
            if self._binding is not None and place != self._binding:
                raise PayloadRefused(
                    f"encryption: a payload sealed for {_described(place)} is refused in "
                    f"{_described(self._binding)}"
                )
            aad = _bound_aad(name, place)
        if len(payload.data) < NONCE_BYTES + TAG_BYTES:  # a nonce and a tag at the least
            raise PayloadRefused("encryption: a sealed payload is too short to be one")
        try:
            plain = self._ring.open(
                name, payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], aad
            )
        except InvalidTag:
            raise PayloadRefused(
                f"encryption: a payload sealed with key {name!r} is damaged, or not sealed for "
                "where it was sent"
            ) from None
        return Payload.FromString(plain)


def _bound_aad(key_name: str, place: str) -> bytes:
    return _BOUND_AAD + key_name.encode() + b"\x00" + place.encode()


def _described(place: str) -> str:
    parts = place.split(BINDING_SEPARATOR)
    if len(parts) != 3:
        return "another place"
    namespace, workflow_id, where = parts
    return f"{where} of {workflow_id or 'no workflow'} in namespace {namespace}"
