"""Point 1 of the boundary: a sealed payload opens only in the case and place it was sealed
for, and a model's payload only as that model. The codec and converter as the SDK drives them
(its serialization contexts), without a server; tests/security/test_replayed_actions.py sends
such payloads to running cases."""

from __future__ import annotations

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import ActivitySerializationContext, WorkflowSerializationContext
from temporalio.exceptions import ApplicationError

from contract.actions import ApproveErasurePlanInput, ApproveReleaseInput
from contract.public_access import FormalDecisionInput
from infra.codec import BINDING, EncryptionCodec, KeyRing, bound_case, refused_reason
from infra.converter import NamedModelPayloadConverter

SECRET = b'{"subject_id": "191212121212"}'


def ring(current: str, *names: str) -> KeyRing:
    return KeyRing({name: name.encode().ljust(32, b"-") for name in names}, current)


def case(workflow_id: str, namespace: str = "default") -> WorkflowSerializationContext:
    return WorkflowSerializationContext(namespace=namespace, workflow_id=workflow_id)


def activity(workflow_id: str, activity_type: str) -> ActivitySerializationContext:
    return ActivitySerializationContext(
        namespace="default",
        activity_id="1",
        activity_type=activity_type,
        activity_task_queue="dsr",
        workflow_id=workflow_id,
        workflow_type="AccessRequestWorkflow",
        is_local=False,
    )


def plain() -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=SECRET)


async def test_a_payload_opens_in_its_own_case_and_place_only() -> None:
    codec = EncryptionCodec(ring("k1", "k1"))
    [sealed] = await codec.with_context(case("DSR-2026-000001")).encode([plain()])
    assert await codec.with_context(case("DSR-2026-000001")).decode([sealed]) == [plain()]
    elsewhere = [
        case("DSR-2026-000002"),  # another case
        case("DSR-2026-000001", namespace="other"),  # the same number in another namespace
        activity("DSR-2026-000001", "collect"),  # an activity of the same case
    ]
    for context in elsewhere:
        [opened] = await codec.with_context(context).decode([sealed])
        assert refused_reason(opened) is not None, context
        assert SECRET not in opened.data
    [refused] = await codec.with_context(case("DSR-2026-000002")).decode([sealed])
    assert "sealed for workflow of DSR-2026-000001" in (refused_reason(refused) or "")


async def test_an_activity_payload_opens_for_that_activity_only() -> None:
    codec = EncryptionCodec(ring("k1", "k1"))
    [sealed] = await codec.with_context(activity("DSR-2026-000001", "collect")).encode([plain()])
    opened = await codec.with_context(activity("DSR-2026-000001", "collect")).decode([sealed])
    assert opened == [plain()]
    for context in (activity("DSR-2026-000001", "erase"), activity("DSR-2026-000002", "collect")):
        [other] = await codec.with_context(context).decode([sealed])
        assert refused_reason(other) is not None


async def test_relabelling_the_binding_does_not_pass() -> None:
    """The binding in the metadata is a claim the tag checks: changing it to the case it is
    sent to breaks the seal."""
    codec = EncryptionCodec(ring("k1", "k1"))
    [sealed] = await codec.with_context(case("DSR-2026-000001")).encode([plain()])
    other = codec.with_context(case("DSR-2026-000002"))
    [target] = await other.encode([plain()])
    relabelled = Payload(
        metadata={**sealed.metadata, BINDING: target.metadata[BINDING]}, data=sealed.data
    )
    [opened] = await other.decode([relabelled])
    assert "damaged" in (refused_reason(opened) or "")


async def test_keys_still_rotate_and_the_codec_server_opens_bound_payloads() -> None:
    [old] = await EncryptionCodec(ring("k1", "k1")).with_context(case("C-1")).encode([plain()])
    rotated = EncryptionCodec(ring("k2", "k1", "k2"))
    [new] = await rotated.with_context(case("C-1")).encode([plain()])
    assert await rotated.with_context(case("C-1")).decode([old, new]) == [plain(), plain()]
    # Without a context (the codec server, `temporal workflow show`) a bound payload opens as
    # bound to what its metadata names, which the tag proves; the case is named for the trail.
    assert await rotated.decode([old, new]) == [plain(), plain()]
    assert bound_case(new.metadata[BINDING].decode()) == "C-1"


async def test_payloads_sealed_before_binding_open_until_switched_off() -> None:
    """Histories and running cases from before binding keep working; once none is left,
    `accept_unbound=False` refuses them, so nothing from an old history can be fed to a case."""
    [legacy] = await EncryptionCodec(ring("k1", "k1")).encode([plain()])  # no context
    assert BINDING not in legacy.metadata
    lenient = EncryptionCodec(ring("k1", "k1")).with_context(case("C-1"))
    assert await lenient.decode([legacy]) == [plain()]
    strict = EncryptionCodec(ring("k1", "k1"), accept_unbound=False).with_context(case("C-1"))
    [refused] = await strict.decode([legacy])
    assert "before payloads were bound" in (refused_reason(refused) or "")


def test_an_approval_of_a_release_is_not_an_approval_of_anything_else() -> None:
    """The review's probe: an ApproveReleaseInput validated as ApproveErasurePlanInput and as
    FormalDecisionInput (the same fields). Its payload names its model inside the seal now."""
    converter = NamedModelPayloadConverter()
    [payload] = converter.to_payloads([ApproveReleaseInput(handler="anna")])
    assert converter.from_payloads([payload], [ApproveReleaseInput]) == [
        ApproveReleaseInput(handler="anna")
    ]
    for other in (ApproveErasurePlanInput, FormalDecisionInput):
        with pytest.raises(ApplicationError, match="made for ApproveReleaseInput is refused"):
            converter.from_payloads([payload], [other])


def test_a_refused_payload_converts_to_an_error_naming_why() -> None:
    converter = NamedModelPayloadConverter()
    payload = Payload(metadata={"encoding": b"binary/refused"}, data=b"encryption: why")
    with pytest.raises(ApplicationError, match="encryption: why") as raised:
        converter.from_payloads([payload], [ApproveReleaseInput])
    assert raised.value.type == "PayloadRefused"
