"""The extract store: collected data and built extracts live here; history carries references.

Every file is sealed at rest with AES-256-GCM (the payload key ring): a file starts with a
marker and the id of the key that sealed it, and the reference it was written under is bound
to the ciphertext, so a file copied to another reference does not open. A system's rows are
streamed to a scratch file first (years of meter readings never sit in memory), then sealed
into place and the scratch removed.
"""

from __future__ import annotations

import re
from pathlib import Path

from cryptography.exceptions import InvalidTag

from infra.adapters import Attachment
from infra.codec import NONCE_BYTES, EncryptionKeyError, KeyRing
from infra.files import remove, write_atomically

# Matched in full (a trailing newline is no part of a reference), and a name starts with a
# letter or a digit: never "..", never a hidden name like the writer's own ".name.tmp".
_REF = re.compile(r"DSR-\d{4}-\d{6}/v\d+/[A-Za-z0-9][A-Za-z0-9_.-]*")
_CASE = re.compile(r"DSR-\d{4}-\d{6}")
MAGIC = b"DSR-SEALED-1\n"


class ExtractStore:
    def __init__(self, root: Path, ring: KeyRing | None = None) -> None:
        self.root = root
        self._ring = ring

    def ref(self, case_number: str, version: int, name: str) -> str:
        ref = f"{case_number}/v{version}/{name}"
        self._check(ref)
        return ref

    def path(self, ref: str) -> Path:
        """Where a file lies (sealed): to know it exists, not to read it (use `read`)."""
        self._check(ref)
        return self.root / ref

    def scratch(self, ref: str) -> Path:
        """A private place to stream a file to before `seal` takes it into the store."""
        self._check(ref)
        folder = self.root / ".scratch"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return folder / ref.replace("/", "__")

    def write(self, ref: str, content: bytes | bytearray | str) -> None:
        """Write a file of the store whole or not at all (a retried activity rewrites it).

        Large extracts (years of meter readings) pass through here: the header and the
        ciphertext are written one after the other rather than joined, so a file costs its
        plaintext and its ciphertext in memory, not more copies."""
        data = content.encode() if isinstance(content, str) else content
        target = self.path(ref)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomically(target, self._seal(ref, data), private=True)

    def seal(self, scratch: Path, ref: str) -> None:
        """Take a streamed scratch file into the store, sealed, and remove the scratch."""
        self.write(ref, scratch.read_bytes())
        scratch.unlink()

    def read(self, ref: str) -> bytes:
        data = self.path(ref).read_bytes()
        if not data.startswith(MAGIC):
            if self._ring is not None:
                raise EncryptionKeyError(f"extract store: {ref} is not sealed")
            return data
        return self._open(ref, data)

    def read_text(self, ref: str) -> str:
        return self.read(ref).decode("utf-8")

    def attachment(self, ref: str) -> Attachment:
        """A file opened to be handed to someone outside (a mailbox, the print service)."""
        return Attachment(Path(ref).name, self.read(ref))

    def delete_case(self, case_number: str) -> int:
        """Remove every file of a case; returns how many there were (0 if already gone)."""
        if not _CASE.fullmatch(case_number):
            raise ValueError(f"not a case number: {case_number!r}")
        # Scratch files a crash left behind (plaintext rows never sealed) go too.
        scratch = self.root / ".scratch"
        leftovers = [*scratch.glob(f"{case_number}__*"), *scratch.glob(f".{case_number}__*")]
        return remove([*leftovers, self.root / case_number])

    # --- sealing -------------------------------------------------------------------------

    def _seal(self, ref: str, data: bytes | bytearray) -> list[bytes]:
        if self._ring is None:
            return [bytes(data)]
        name, nonce, sealed = self._ring.seal(data, lambda key: _bound(ref, key))
        return [MAGIC + name.encode() + b"\n" + nonce, sealed]

    def _open(self, ref: str, data: bytes) -> bytes:
        if self._ring is None:
            raise EncryptionKeyError(f"extract store: {ref} is sealed and no key is configured")
        # Views, not slices: opening a large file costs its ciphertext and its plaintext only.
        end = data.find(b"\n", len(MAGIC))
        name = data[len(MAGIC) : max(end, len(MAGIC))].decode(errors="replace")
        if end < 0:
            raise EncryptionKeyError(f"extract store: {ref} is damaged or not its own")
        if name not in self._ring.keys:
            raise EncryptionKeyError(f"extract store: no key {name!r} to open {ref}")
        view = memoryview(data)
        nonce, sealed = view[end + 1 : end + 1 + NONCE_BYTES], view[end + 1 + NONCE_BYTES :]
        try:
            return self._ring.open(name, nonce, sealed, _bound(ref, name))
        except InvalidTag:
            raise EncryptionKeyError(f"extract store: {ref} is damaged or not its own") from None

    @staticmethod
    def _check(ref: str) -> None:
        if not _REF.fullmatch(ref):
            raise ValueError(f"not an extract store reference: {ref!r}")


def _bound(ref: str, key_id: str) -> bytes:
    return f"{ref}\n{key_id}".encode()
