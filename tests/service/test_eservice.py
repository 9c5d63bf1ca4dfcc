"""The customer e-service's door: a BankID-signed request is registered only when the e-ID
provider confirms the proof; its status tells nothing personal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from contract.subject import subject_reference
from demo.people import DEMO_SUBJECTS
from infra.db import Case, create_engine, sessionmaker
from infra.outbox import FakeEidProvider
from tests.oidc import device_login, eservice_token
from tests.serving import RunningService
from tests.support.api import problem

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def signed(service: RunningService, subject: str) -> dict[str, Any]:
    """The person signs in the e-service; this is the completed order it got back."""
    provider = FakeEidProvider(service.settings.eid_dir)
    return await provider.completion_data(provider.sign(subject))


async def registered_cases(service: RunningService, subject: str) -> list[str]:
    """The subject's cases in the register (the reference is keyed by this test's secret)."""
    engine = create_engine(service.settings.register_database_url)
    try:
        async with sessionmaker(engine)() as session:
            reference = subject_reference(subject, service.settings.reference_secret)
            found = await session.scalars(
                sa.select(Case.case_number).where(Case.subject_ref == reference)
            )
            return list(found)
    finally:
        await engine.dispose()


async def test_a_signed_request_is_registered_and_its_status_is_impersonal(
    service: RunningService,
) -> None:
    subject = DEMO_SUBJECTS["tolvan"]
    proof = await signed(service, subject)
    async with service.api(await eservice_token(service.idp)) as door:
        answer = await door.post("/eservice/requests", json={"kind": "access", "eid": proof})
        assert answer.status_code == 201, answer.text
        receipt = answer.json()
        assert receipt["reference"] == f"eservice-{proof['orderRef']}"
        status = await door.get(f"/eservice/requests/{receipt['reference']}")
        assert status.status_code == 200, status.text
        # The same proof again: an order is good for one request.
        replayed = await door.post("/eservice/requests", json={"kind": "erasure", "eid": proof})
        assert "already used" in problem(replayed, 409)
        unknown = await door.get("/eservice/requests/eservice-no-such-order")
        problem(unknown, 404)
    body = status.json()
    assert set(body) == {"reference", "state", "due_by", "closed", "reason_code"}
    assert body["due_by"] == receipt["deadline"] and body["closed"] is False
    assert subject not in status.text and subject[2:] not in status.text
    async with service.api(await device_login(service.idp, "anna")) as anna:
        case = (await anna.get(f"/cases/{receipt['case_number']}")).json()
    assert case["identity"]["method"] == "bankid"
    assert await registered_cases(service, subject) == [receipt["case_number"]]


async def test_a_forged_or_expired_proof_registers_nothing(service: RunningService) -> None:
    proof = await signed(service, DEMO_SUBJECTS["tolvan"])
    someone_else = json.loads(json.dumps(proof))
    someone_else["completionData"]["user"]["personalNumber"] = DEMO_SUBJECTS["joint_a"]
    altered = json.loads(json.dumps(proof))
    altered["completionData"]["signature"] = altered["completionData"]["signature"][::-1]
    never = json.loads(json.dumps(proof))
    never["orderRef"] = "fake-0000000000000000"
    old = await signed(service, DEMO_SUBJECTS["joint_b"])
    record = service.settings.eid_dir / f"{old['orderRef']}.json"
    stored = json.loads(record.read_text())
    stored["completed_at"] = (datetime.now(UTC) - timedelta(minutes=20)).isoformat()
    record.write_text(json.dumps(stored))
    async with service.api(await eservice_token(service.idp)) as door:
        for forged, says in (
            (someone_else, "does not match"),
            (altered, "does not match"),
            (never, "does not know"),
            (old, "expired"),
        ):
            refused = await door.post("/eservice/requests", json={"kind": "erasure", "eid": forged})
            assert says in problem(refused, 422)
            gone = await door.get(f"/eservice/requests/eservice-{forged['orderRef']}")
            problem(gone, 404)
    for subject in ("tolvan", "joint_a", "joint_b"):
        assert await registered_cases(service, DEMO_SUBJECTS[subject]) == []


async def test_only_the_eservice_client_uses_its_door(service: RunningService) -> None:
    proof = await signed(service, DEMO_SUBJECTS["tolvan"])
    async with service.api(await device_login(service.idp, "anna")) as anna:
        refused = await anna.post("/eservice/requests", json={"kind": "access", "eid": proof})
        assert "e-service" in problem(refused, 403)
    async with service.api() as nobody:
        problem(await nobody.post("/eservice/requests", json={"kind": "access", "eid": proof}), 401)
    assert await registered_cases(service, DEMO_SUBJECTS["tolvan"]) == []
