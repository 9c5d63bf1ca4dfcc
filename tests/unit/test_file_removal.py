"""A deletion that fails is never counted as done: an extract's disposal (GDPR art. 5(1)(e))
must not record as deleted what is still on disk.

The tests run as root, whom file modes do not stop, so the failing disk is the one thing made
up here: `os.unlink` refuses one file, as a read-only or failing file system would.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from activities.store import ExtractStore
from infra.adapters import Attachment, MailboxMessage
from infra.codec import KeyRing
from infra.outbox import OutboxMailbox

CASE = "DSR-2026-000123"


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def refuse_to_delete(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    real_unlink = os.unlink

    def unlink(path: str | os.PathLike[str], *args: object, **kwargs: object) -> None:
        if Path(path).name == name:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        real_unlink(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "unlink", unlink)


def test_an_extract_file_that_cannot_be_deleted_fails_the_deletion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ExtractStore(tmp_path, KeyRing({"k1": os.urandom(32)}, "k1"))
    for name in ("extract.html", "billing.json", "network.json"):
        store.write(store.ref(CASE, 1, name), "{}")
    kept = store.path(store.ref(CASE, 1, "billing.json"))

    refuse_to_delete(monkeypatch, "billing.json")
    with pytest.raises(OSError, match="Permission denied"):
        store.delete_case(CASE)
    assert kept.exists(), "the file the disk refused to delete is still there"
    left = files_under(tmp_path / CASE)

    monkeypatch.undo()  # the disk is back: the disposal's retry deletes the rest, and counts it
    assert store.delete_case(CASE) == len(left)
    assert not (tmp_path / CASE).exists()
    assert store.delete_case(CASE) == 0, "gone already: nothing left to count"


@pytest.mark.asyncio
async def test_a_delivered_message_that_cannot_be_deleted_fails_the_deletion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox = OutboxMailbox(tmp_path)
    await mailbox.send(
        MailboxMessage(
            message_id=f"{CASE}-answer",
            recipient="197001011234",
            subject="Ditt registerutdrag",
            body="Här är ditt registerutdrag.",
            attachments=(Attachment("extract.html", b"<p>...</p>"),),
        )
    )
    refuse_to_delete(monkeypatch, "extract.html")
    with pytest.raises(OSError):
        mailbox.delete_case(CASE)
    assert (tmp_path / f"{CASE}-answer" / "extract.html").exists()
    left = files_under(tmp_path / f"{CASE}-answer")

    monkeypatch.undo()
    assert mailbox.delete_case(CASE) == len(left)
    assert not (tmp_path / f"{CASE}-answer").exists()
