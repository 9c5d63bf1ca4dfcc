"""The case service's API against the running service, the local identity provider and a
worker: who acts is who signed in, roles are checked, four eyes hold, errors are problem
details, and nothing changes when a call is refused."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from contract.case import CaseState
from demo.people import DEMO_SUBJECTS
from infra.config import Settings
from infra.idp import start_identity_provider
from service.actions import ACTIONS
from tests.oidc import device_login, eservice_token
from tests.serving import RunningService, running_service
from tests.support.api import problem, state_of, wait_for

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def register(api: httpx.AsyncClient, kind: str, subject: str) -> str:
    response = await api.post("/requests", json={"kind": kind, "subject": subject})
    assert response.status_code == 201, response.text
    return str(response.json()["case_number"])


async def test_a_handler_signs_in_and_acts_as_themselves(service: RunningService) -> None:
    token = await device_login(service.idp, "anna")
    async with service.api(token) as anna:
        me = (await anna.get("/me")).json()
        assert me == {"login": "anna", "roles": ["handler"]}
        case = await register(anna, "erasure", DEMO_SUBJECTS["tolvan"])
        await wait_for(anna, case, CaseState.AWAITING_IDENTITY)
        # A body naming another handler is refused, and the case is as it was.
        forged = await anna.post(
            f"/cases/{case}/verify-identity", json={"method": "id_checked", "handler": "cecilia"}
        )
        assert "someone else" in problem(forged, 403) and "anna is signed in" in forged.text
        # What the body named is never repeated (an identity number typed there, say).
        typed = await anna.post(
            f"/cases/{case}/verify-identity",
            json={"method": "id_checked", "handler": DEMO_SUBJECTS["tolvan"]},
        )
        assert problem(typed, 403) and DEMO_SUBJECTS["tolvan"] not in typed.text
        assert (await state_of(anna, case))["state"] == CaseState.AWAITING_IDENTITY.value
        done = await anna.post(f"/cases/{case}/verify-identity", json={"method": "id_checked"})
        assert done.status_code == 200, done.text
        status = await wait_for(anna, case, CaseState.AWAITING_DECISION)
    # The trail names the signed-in person as the one who verified.
    verified = [step for step in status["steps"] if step["action"].startswith("identity:")]
    assert [step["actor"] for step in verified] == ["anna"]
    assert status["identity"]["verified_by"] == "anna"


async def test_four_eyes_one_login_cannot_prepare_and_approve(service: RunningService) -> None:
    first = service.api(await device_login(service.idp, "bo"))
    second = service.api(await device_login(service.idp, "cecilia"))
    async with first as bo, second as cecilia:
        case = await register(bo, "erasure", DEMO_SUBJECTS["joint_a"])
        await wait_for(bo, case, CaseState.AWAITING_IDENTITY)
        verified = await bo.post(f"/cases/{case}/verify-identity", json={"method": "id_checked"})
        assert verified.status_code == 200, verified.text
        await wait_for(bo, case, CaseState.AWAITING_DECISION)
        prepared = await bo.post(f"/cases/{case}/prepare-erasure-plan", json={})
        assert prepared.status_code == 200, prepared.text
        await wait_for(bo, case, CaseState.AWAITING_APPROVAL)
        # bo is a team lead and may approve plans, but not one he prepared himself.
        own = await bo.post(f"/cases/{case}/approve-erasure-plan", json={})
        assert "four eyes" in problem(own, 409)
        assert (await state_of(bo, case))["state"] == CaseState.AWAITING_APPROVAL.value
        approved = await cecilia.post(f"/cases/{case}/approve-erasure-plan", json={})
        assert approved.status_code == 200, approved.text
        steps = (await state_of(cecilia, case))["steps"]
    actors = {step["action"]: step["actor"] for step in steps}
    assert actors["prepare_erasure_plan"] == "bo"
    assert actors["approve_erasure_plan"] == "cecilia"


async def test_a_role_the_person_lacks_is_named_in_the_refusal(service: RunningService) -> None:
    async with service.api(await device_login(service.idp, "anna")) as anna:
        case = await register(anna, "erasure", DEMO_SUBJECTS["coordination"])
        refused = await anna.post(f"/cases/{case}/approve-erasure-plan", json={})
        assert "takes a team lead" in problem(refused, 403)
    async with service.api(await device_login(service.idp, "dataskyddsombud")) as dpo:
        assert (await dpo.get(f"/cases/{case}")).status_code == 200
        told = await dpo.post(f"/cases/{case}/verify-identity", json={"method": "id_checked"})
        assert "data protection officer" in problem(told, 403)


async def test_no_token_or_a_bad_one_is_401_and_changes_nothing(service: RunningService) -> None:
    async with service.api() as nobody:
        missing = await nobody.get("/cases")
        assert "bearer" in problem(missing, 401)
        assert missing.headers["www-authenticate"].startswith("Bearer")
        submitted = await nobody.post("/requests", json={"kind": "access", "subject": "x"})
        problem(submitted, 401)
    token = await device_login(service.idp, "anna")
    header, payload, signature = token.split(".")
    # The same claims, but someone else's login: the signature no longer fits.
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["preferred_username"] = "cecilia"
    altered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    not_an_object = base64.urlsafe_b64encode(b'["alg"]').rstrip(b"=").decode()
    for forged in (
        f"{header}.{altered}.{signature}",
        "not-a-token",
        f"{header}.{payload}.",
        f"{not_an_object}.{payload}.{signature}",
    ):
        async with service.api(forged) as mallory:
            problem(await mallory.get("/me"), 401)


async def test_the_eservice_client_is_no_staff_member(service: RunningService) -> None:
    async with service.api(await eservice_token(service.idp)) as eservice:
        refused = await eservice.get("/cases")
        assert "acts for no person" in problem(refused, 403)


async def test_unknown_cases_and_bad_input_are_clear(service: RunningService) -> None:
    async with service.api(await device_login(service.idp, "anna")) as anna:
        unknown = await anna.get("/cases/DSR-2020-999999")
        assert problem(unknown, 404) == "unknown case DSR-2020-999999"
        malformed = await anna.get("/cases/not-a-case")
        problem(malformed, 422)
        bad_subject = await anna.post(
            "/requests", json={"kind": "access", "subject": "19121212-1213"}
        )
        assert problem(bad_subject, 422).startswith("subject:")
        wrong_state = await anna.post(
            "/cases/DSR-2020-999999/extend", json={"reason": "Omfattande begäran"}
        )
        problem(wrong_state, 404)
        oversized = await anna.post(
            "/requests",
            content=b"{" + b" " * 300_000 + b"}",
            headers={"content-type": "application/json"},
        )
        problem(oversized, 413)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b" " * 10_000

        # Sent without a length (chunked): refused once what arrived passes the limit.
        streamed = await anna.post(
            "/requests", content=chunks(), headers={"content-type": "application/json"}
        )
        assert "larger than" in problem(streamed, 413)
        listed = await anna.get("/cases", params={"open": "true", "kind": "access"})
        assert listed.status_code == 200 and isinstance(listed.json()["cases"], list)


async def test_reading_an_extract_is_evidence_in_the_trail(service: RunningService) -> None:
    async with service.api(await device_login(service.idp, "anna")) as anna:
        case = await register(anna, "access", DEMO_SUBJECTS["marketing_only"])
        await wait_for(anna, case, CaseState.AWAITING_REVIEW)
        before = (await anna.get(f"/cases/{case}/audit/export")).json()
        assert not [e for e in before["events"] if e["action"] == "read:extract"]
        letter = await anna.get(f"/cases/{case}/extract")
        assert letter.status_code == 200 and "<html" in letter.text.lower()
        assert letter.headers["cache-control"] == "no-store"
        again = await anna.get(f"/cases/{case}/extract")  # a refresh of the same view
        assert again.status_code == 200
        exported = (await anna.get(f"/cases/{case}/audit/export")).json()
    reads = [e for e in exported["events"] if e["action"] == "read:extract"]
    assert [(e["actor"], e["detail"]) for e in reads] == [("anna", {"note": "html"})]
    assert reads[0]["hash"] is not None  # inside the chain
    assert exported["verification"]["intact"] is True
    assert any(e["action"] == "read:case" and e["actor"] == "anna" for e in exported["events"])
    async with service.api(await device_login(service.idp, "dataskyddsombud")) as dpo:
        refused = await dpo.get(f"/cases/{case}/extract")
        assert "read a subject's extract" in problem(refused, 403)
        trail = (await dpo.get(f"/cases/{case}/audit/export")).json()
    # The refused read left nothing; the DPO's export itself is no read of personal data.
    assert not [
        e
        for e in trail["events"]
        if e["actor"] == "dataskyddsombud" and e["action"] == "read:extract"
    ]
    assert (await anna_verified(service, case))["intact"] is True


async def anna_verified(service: RunningService, case: str) -> dict[str, Any]:
    async with service.api(await device_login(service.idp, "anna")) as anna:
        result: dict[str, Any] = (await anna.get(f"/cases/{case}/audit")).json()
    return result


async def test_the_openapi_document_names_every_action(service: RunningService) -> None:
    async with service.api() as anyone:
        document = (await anyone.get("/openapi.json")).json()
    paths = document["paths"]
    for action in ACTIONS:
        route = paths[f"/api/v1/cases/{{case_number}}/{action.path}"]["post"]
        body = route["requestBody"]["content"]["application/json"]["schema"]
        assert body, action.path
    assert "/api/v1/eservice/requests" in paths and "/api/v1/cases/{case_number}/extract" in paths


async def test_a_look_alike_login_is_nobody_in_the_roster(client: Client, worker: Settings) -> None:
    """'regiſtrator.ek' (a long s) folds to 'registrator.ek'; the provider keeps them apart, so
    the service must too."""
    provider = start_identity_provider(["regiſtrator.ek"], console_redirects=[])
    try:
        async with running_service(client, worker, provider) as service:
            async with service.api(await device_login(provider, "regiſtrator.ek")) as someone:
                refused = await someone.get("/me")
        assert "not ASCII" in problem(refused, 403)
    finally:
        provider.stop()
