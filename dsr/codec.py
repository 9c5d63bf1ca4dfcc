"""Payload encryption: every workflow input, result, update, query answer and failure the
engine sends to Temporal is sealed with AES-256-GCM before it leaves the process.

Temporal stores payloads in its database and shows them to everyone with Web UI access; with
this codec it stores ciphertext, and only holders of a key (the worker, the CLI, the codec
server for the UI) can read it. Each payload names the key that sealed it, so keys rotate: new
payloads use the current key, and every listed key still opens older ones.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_NONCE = 12
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


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over each whole payload (its metadata and data), with the key id both in
    the sealed payload's metadata and bound to the ciphertext, so a payload cannot be passed
    off as sealed by another key. Payloads that are not sealed pass through decoding when
    `accept_unsealed` (histories recorded before encryption, cases started before it); once
    none is left, refusing them stops anyone with access to Temporal but without a key from
    sending the workers an update or signal of their own making."""

    def __init__(self, ring: KeyRing, *, accept_unsealed: bool = True) -> None:
        self._ring = ring
        self._accept_unsealed = accept_unsealed
        self._ciphers = {name: AESGCM(key) for name, key in ring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._seal(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decode(payload) for payload in payloads]

    def _decode(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") == ENCODING:
            return self._open(payload)
        if not self._accept_unsealed:
            raise EncryptionKeyError("encryption: an unsealed payload is refused")
        return payload

    def _seal(self, payload: Payload) -> Payload:
        name = self._ring.current
        nonce = os.urandom(_NONCE)
        sealed = self._ciphers[name].encrypt(nonce, payload.SerializeToString(), name.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: name.encode()}, data=nonce + sealed)

    def _open(self, payload: Payload) -> Payload:
        name = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(name)
        if cipher is None:
            raise EncryptionKeyError(
                f"encryption: no key {name!r} to open a payload (rotated out?)"
            )
        try:
            plain = cipher.decrypt(payload.data[:_NONCE], payload.data[_NONCE:], name.encode())
        except InvalidTag:
            raise EncryptionKeyError(
                f"encryption: a payload sealed with key {name!r} is damaged"
            ) from None
        return Payload.FromString(plain)
