"""The public-access activities against the seeded document archive: the masks a reviewer
gives are checked against the title and text, and removed from both in what is sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.public_access import PublicAccessActivities
from activities.store import ExtractStore
from contract.public_access import (
    CheckMasksInput,
    LocateDocumentsInput,
    Mask,
    PrepareCopiesInput,
    ReviewDocumentInput,
)
from contract.public_request import DocumentQuery
from contract.vocabulary import ReviewDecision, SecrecyGround
from demo.archive import PROTECTED_ADDRESS
from infra.config import Settings
from infra.db import create_engine
from infra.outbox import OutboxEmail, PrintFolderLetters
from systems.document_archive import load_archive

pytestmark = pytest.mark.asyncio(loop_scope="session")
CASE = "DSR-2026-000001"


@pytest.fixture
def activities(tmp_path: Path, archive: tuple[str, dict[str, list[int]]]) -> PublicAccessActivities:
    settings = Settings(var_dir=tmp_path, document_archive_url=archive[0])
    return PublicAccessActivities(
        create_engine(archive[0], own_database=False),
        load_archive(),
        ExtractStore(settings.extract_dir, settings.key_ring()),
        OutboxEmail(settings.outbox_dir / "email"),
        PrintFolderLetters(settings.outbox_dir / "letters"),
        settings,
    )


async def test_a_mask_may_name_a_part_of_the_title_and_the_copy_and_letter_lose_it(
    activities: PublicAccessActivities, tmp_path: Path
) -> None:
    env = ActivityEnvironment()
    found = await env.run(
        activities.locate_documents,
        LocateDocumentsInput(case_number=CASE, query=DocumentQuery(text="elmätare")),
    )
    document = found.documents[0]
    masks = [
        # In the title, in the text and signed in capitals at the end: three times.
        Mask(text="Sanna Ek", ground=SecrecyGround.PROTECTED_IDENTITY),
        # In the text only, over a line break.
        Mask(text=PROTECTED_ADDRESS, ground=SecrecyGround.PROTECTED_IDENTITY),
        Mask(text="Gläntans väg 7", ground=SecrecyGround.PROTECTED_IDENTITY),  # nowhere
    ]
    check = await env.run(
        activities.check_masks,
        CheckMasksInput(
            case_number=CASE, document_id=document.document_id, title=document.title, masks=masks
        ),
    )
    assert check.found == [3, 1, 0]

    review = ReviewDocumentInput(
        handler="anna",
        document_id=document.document_id,
        decision=ReviewDecision.MASK,
        masks=masks[:2],
    )
    copies = await env.run(
        activities.prepare_copies,
        PrepareCopiesInput(case_number=CASE, documents=[document], reviews=[review]),
    )
    settings = Settings(var_dir=tmp_path)
    store = ExtractStore(settings.extract_dir, settings.key_ring())
    copy = store.read_text(copies.copy_refs[0])
    letter = store.read_text(copies.letter_ref)
    # Sealed at rest: the file itself holds nothing readable.
    assert "begär att elmätaren".encode() not in store.path(copies.copy_refs[0]).read_bytes()
    for text in (copy, letter):
        assert "sanna" not in text.lower()
        assert "[maskerat enligt OSL 21:3]" in text
    assert "gläntans" not in copy.lower() and "753 20" not in copy
    assert "inom 30 dagar" in letter  # how long a formal decision may be asked for


async def test_an_unknown_document_is_a_clear_business_error(
    activities: PublicAccessActivities,
) -> None:
    with pytest.raises(ApplicationError, match="document 99999 is not in the archive") as error:
        await ActivityEnvironment().run(
            activities.check_masks,
            CheckMasksInput(case_number=CASE, document_id=99999, title="x", masks=[]),
        )
    assert error.value.non_retryable
