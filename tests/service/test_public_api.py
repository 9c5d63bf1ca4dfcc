"""A request for official documents through the API, end to end: intake, the documents found,
a document read for its secrecy review (recorded), the review, the copies previewed (recorded)
and released."""

from __future__ import annotations

import pytest

from contract.case import CaseState
from demo.archive import PROTECTED_ADDRESS
from tests.oidc import device_login
from tests.serving import RunningService
from tests.support.api import problem, wait_for

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_documents_are_found_read_reviewed_previewed_and_released(
    service: RunningService,
) -> None:
    async with service.api(await device_login(service.idp, "anna")) as anna:
        opened = await anna.post(
            "/public-requests",
            json={
                "description": "Skrivelser om flytt av elmätare",
                "query": {"types": ["correspondence"], "text": "elmätare"},
                "contact": {"email": "begaran@example.org"},
            },
        )
        assert opened.status_code == 201, opened.text
        case = opened.json()["case_number"]
        await wait_for(anna, case, CaseState.AWAITING_CONFIRMATION)
        found = (await anna.get(f"/cases/{case}/documents")).json()
        assert found["sender"] == "anonymous" and found["candidates"]
        first = found["candidates"][0]["document_id"]
        elsewhere = await anna.get(f"/cases/{case}/documents/99999")
        assert "not among the documents found" in problem(elsewhere, 404)
        text = (await anna.get(f"/cases/{case}/documents/{first}")).json()["text"]
        assert "Sanna Ek" in text
        second = found["candidates"][1]["document_id"]
        assert (await anna.get(f"/cases/{case}/documents/{second}")).status_code == 200
        assert (await anna.get(f"/cases/{case}/documents/{first}")).status_code == 200
        confirmed = await anna.post(
            f"/cases/{case}/confirm-documents", json={"document_ids": [first]}
        )
        assert confirmed.status_code == 200, confirmed.text
        await wait_for(anna, case, CaseState.SECRECY_REVIEW)
        masks = [
            {"text": "Sanna Ek", "ground": "OSL 21:3"},
            {"text": PROTECTED_ADDRESS, "ground": "OSL 21:3"},
        ]
        reviewed = await anna.post(
            f"/cases/{case}/review-document",
            json={"document_id": first, "decision": "mask", "masks": masks},
        )
        assert reviewed.status_code == 200, reviewed.text
        await wait_for(anna, case, CaseState.AWAITING_REVIEW)
        files = (await anna.get(f"/cases/{case}/preview")).json()["files"]
        copy = next(text for name, text in files.items() if name.startswith("handling-"))
        assert "Sanna Ek" not in copy and "[maskerat enligt OSL 21:3]" in copy
        released = await anna.post(f"/cases/{case}/approve-release", json={})
        assert released.status_code == 200, released.text
        await wait_for(anna, case, CaseState.AWAITING_DECISION_REQUEST)
        trail = (await anna.get(f"/cases/{case}/audit/export")).json()
    reads = {
        (e["action"], (e["detail"] or {}).get("note"))
        for e in trail["events"]
        if e["actor"] == "anna" and e["action"].startswith("read:")
    }
    assert ("read:document", str(first)) in reads and ("read:copies", None) in reads
    # Each document read is its own row; reading the first again soon after adds none.
    documents = [
        (e["detail"] or {}).get("note")
        for e in trail["events"]
        if e["actor"] == "anna" and e["action"] == "read:document"
    ]
    assert documents == [str(first), str(second)]


async def test_a_public_only_read_on_a_gdpr_case_is_refused(service: RunningService) -> None:
    async with service.api(await device_login(service.idp, "anna")) as anna:
        registered = await anna.post(
            "/requests", json={"kind": "objection", "subject": "191212121212"}
        )
        case = registered.json()["case_number"]
        refused = await anna.get(f"/cases/{case}/documents")
        assert "not a public-access request" in problem(refused, 409)
        no_follow_up = await anna.get(f"/cases/{case}/retention")
        assert "no retention follow-up" in problem(no_follow_up, 404)
