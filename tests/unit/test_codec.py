"""The payload codec: AES-256-GCM, the key id in each sealed payload, rotation, and keys from
settings or a key file."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from infra.codec import (
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    EncryptionKeyError,
    KeyRing,
    new_key,
    refused_reason,
)
from infra.config import Settings

SECRET = b'{"subject_id": "191212121212", "name": "Tolvan Tolvansson"}'


def plain(data: bytes = SECRET) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def ring(current: str, *names: str) -> KeyRing:
    return KeyRing({name: name.encode().ljust(32, b"-") for name in names}, current)


async def test_a_sealed_payload_holds_nothing_of_the_original_and_opens_again() -> None:
    codec = EncryptionCodec(ring("2026-11", "2026-11"))
    [sealed] = await codec.encode([plain()])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == b"2026-11"
    assert b"191212121212" not in sealed.SerializeToString()
    assert b"Tolvan" not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [plain()]
    # Two seals of the same payload differ (a fresh nonce each time).
    [again] = await codec.encode([plain()])
    assert again.data != sealed.data


async def test_keys_rotate_new_payloads_use_the_current_key_old_ones_still_open() -> None:
    [old] = await EncryptionCodec(ring("k1", "k1")).encode([plain()])
    rotated = EncryptionCodec(ring("k2", "k1", "k2"))
    [new] = await rotated.encode([plain()])
    assert new.metadata[KEY_ID] == b"k2"
    assert await rotated.decode([old, new]) == [plain(), plain()]
    # Once k1 is removed, what it sealed cannot be opened: said plainly.
    with pytest.raises(EncryptionKeyError, match="no key 'k1'"):
        await EncryptionCodec(ring("k2", "k2")).decode([old])


async def test_a_tampered_payload_or_a_swapped_key_id_is_refused() -> None:
    codec = EncryptionCodec(ring("k2", "k1", "k2"))
    [sealed] = await codec.encode([plain()])
    flipped = bytearray(sealed.data)
    flipped[-1] ^= 1
    tampered = Payload(metadata=dict(sealed.metadata), data=bytes(flipped))
    # Refused, not raised: converting the refusal fails with the reason (infra.converter), so an
    # update carrying it is rejected instead of failing the case's workflow task.
    [opened] = await codec.decode([tampered])
    assert "damaged" in (refused_reason(opened) or "")
    # The key id is bound to the ciphertext: relabelling a payload does not pass.
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"k1"}, data=sealed.data)
    [opened] = await codec.decode([relabelled])
    assert "damaged" in (refused_reason(opened) or "")


async def test_payloads_recorded_before_encryption_pass_through_until_switched_off() -> None:
    codec = EncryptionCodec(ring("k1", "k1"))
    assert await codec.decode([plain()]) == [plain()]
    strict = EncryptionCodec(ring("k1", "k1"), accept_unsealed=False)
    [refused] = await strict.decode([plain()])
    assert refused_reason(refused) == "encryption: an unsealed payload is refused"
    [sealed] = await strict.encode([plain()])
    assert await strict.decode([sealed]) == [plain()]


def test_bad_keys_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(EncryptionKeyError, match="not base64"):
        KeyRing.from_text({"k1": "not base64!"}, "k1")
    with pytest.raises(EncryptionKeyError, match="must be 32 bytes"):
        KeyRing.from_text({"k1": base64.b64encode(b"short").decode()}, "k1")
    with pytest.raises(EncryptionKeyError, match="current key 'k2' is not among"):
        KeyRing.from_text({"k1": new_key()}, "k2")
    broken = tmp_path / "keys.json"
    broken.write_text("{not json")
    with pytest.raises(EncryptionKeyError, match="keys.json cannot be read"):
        KeyRing.from_file(broken)


async def test_keys_come_from_a_key_file_which_wins_over_the_environment(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps({"current": "2026-12", "keys": {"2026-12": new_key()}}))
    settings = Settings(encryption_key_file=key_file)
    ring = settings.key_ring()
    assert ring is not None and ring.current == "2026-12"
    assert Settings(payload_encryption=False).key_ring() is None
