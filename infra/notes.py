"""A note in the register's trail, sealed: what a handler wrote as a reason (an extension's
justification, a refusal's grounds, what a withdrawal said) is personal text, and the register
is a database a DBA reads, so it holds the note only as AES-256-GCM ciphertext under the
payload key ring, like every other store of the engine.

The seal is bound to its case and its step in the trail (the associated data), so a note moved
to another row does not open there. It names the key that sealed it, so keys rotate. The audit
chain hashes the row as stored: sealing changes nothing about verification, and a row written
in the clear before this change stays as it was and still verifies.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidTag

from infra.codec import NONCE_BYTES, EncryptionKeyError, KeyRing

PREFIX = "dsr-sealed-note:v1:"


def _bound(case_number: str, step: int, key_id: str) -> bytes:
    return f"register-note\n{case_number}\n{step}\n{key_id}".encode()


def seal_note(ring: KeyRing | None, case_number: str, step: int, text: str) -> str:
    """The note as the register stores it: sealed, or as it is when encryption is off
    (development without keys; production refuses that, infra.config)."""
    if ring is None:
        return text
    key_id, nonce, sealed = ring.seal(
        text.encode("utf-8"), lambda key: _bound(case_number, step, key)
    )
    return f"{PREFIX}{key_id}:{base64.b64encode(nonce + sealed).decode()}"


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def open_note(ring: KeyRing | None, case_number: str, step: int, stored: str) -> str:
    """The note as written. A note from before sealing comes back as it is; one that does not
    open (no key, another row's note, damaged) raises EncryptionKeyError."""
    if not is_sealed(stored):
        return stored
    key_id, _, body = stored[len(PREFIX) :].partition(":")
    if ring is None or key_id not in ring.keys:
        raise EncryptionKeyError(f"register: no key {key_id!r} to open a note of {case_number}")
    try:
        data = base64.b64decode(body, validate=True)
        plain = ring.open(
            key_id, data[:NONCE_BYTES], data[NONCE_BYTES:], _bound(case_number, step, key_id)
        )
    except (binascii.Error, ValueError, InvalidTag):
        raise EncryptionKeyError(
            f"register: the note at step {step} of {case_number} is damaged or not its own"
        ) from None
    return plain.decode("utf-8")
