"""Points 1 and 2 of the boundary, against a running case: whoever can read a case's history
and send updates (Temporal's API, the Web UI) cannot replay an action, neither into another
case, nor as another update, nor into the same case again. Real server, real worker.

The sender holds no key: it sends the sealed payload it read as it is. It reads the answer
with the engine's key only so that the test can say why it was refused."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.converter import (
    DataConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
)

from contract.case import ReassignInput
from infra.client import data_converter
from infra.codec import EncryptionCodec
from infra.config import Settings
from tests.helpers import awaiting_identity, status_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


class SendsAsIs(PayloadCodec, WithSerializationContext):
    """Sends payloads as given (the sender has no key); opens answers with the engine's."""

    def __init__(self, opener: PayloadCodec) -> None:
        self._opener = opener

    def with_context(self, context: SerializationContext) -> SendsAsIs:
        assert isinstance(self._opener, WithSerializationContext)
        return SendsAsIs(self._opener.with_context(context))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self._opener.decode(payloads)


def sender(client: Client) -> Client:
    engine = data_converter(Settings())
    assert engine.payload_codec is not None
    converter = DataConverter(
        payload_codec=SendsAsIs(engine.payload_codec),
        failure_converter_class=engine.failure_converter_class,
    )
    return Client(client.service_client, namespace=client.namespace, data_converter=converter)


async def accepted_updates(handle: WorkflowHandle[Any, Any]) -> list[tuple[str, Payload]]:
    """The updates the case's history holds: their names and sealed inputs, as anyone with
    read access to Temporal sees them."""
    found = []
    for event in (await handle.fetch_history()).events:
        if event.HasField("workflow_execution_update_accepted_event_attributes"):
            update = event.workflow_execution_update_accepted_event_attributes.accepted_request
            found.append((update.input.name, update.input.args.payloads[0]))
    return found


async def refusal(handle: WorkflowHandle[Any, Any], update: str, payload: Payload) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(update, RawValue(payload))
    return str(failed.value.cause)


async def test_an_action_read_from_history_does_nothing_anywhere(
    client: Client, worker: Settings
) -> None:
    first = await awaiting_identity(client, worker)
    second = await awaiting_identity(client, worker, "coordination")
    await first.execute_update("reassign", ReassignInput(handler="anna", to="chef.jurist"))
    [(name, sealed)] = [u for u in await accepted_updates(first) if u[0] == "reassign"]
    assert b"chef.jurist" not in sealed.SerializeToString()
    raw = sender(client)

    # Into another case: sealed for the first, it does not open in the second.
    why = await refusal(raw.get_workflow_handle(second.id), "reassign", sealed)
    assert f"sealed for workflow of {first.id}" in why
    assert (await status_of(second)).assignee == "anna"
    assert await accepted_updates(second) == []

    # Into the same case again: the action's one-time id was taken.
    why = await refusal(raw.get_workflow_handle(first.id), "reassign", sealed)
    assert "taken already" in why

    # As another update of the same case: made for a reassignment, it is no link.
    why = await refusal(raw.get_workflow_handle(first.id), "link", sealed)
    assert "made for ReassignInput is refused as LinkCaseInput" in why
    assert [u[0] for u in await accepted_updates(first)] == ["reassign"]
    assert (await status_of(first)).assignee == "chef.jurist"


async def test_an_action_without_a_one_time_id_is_refused(client: Client, worker: Settings) -> None:
    """What a payload from before one-time ids looks like (sealed, unbound, no id): a case
    refuses it, so nothing from an old history can be sent again either."""
    handle = await awaiting_identity(client, worker)
    old = ReassignInput(handler="anna", to="chef.jurist")
    codec = data_converter(Settings()).payload_codec
    assert isinstance(codec, EncryptionCodec)
    converter = data_converter(Settings()).payload_converter
    [sealed] = await codec.encode(converter.to_payloads([old]))  # no context: unbound
    why = await refusal(sender(client).get_workflow_handle(handle.id), "reassign", sealed)
    assert "carries no action id" in why
    assert (await status_of(handle)).assignee == "anna"


async def test_an_unbound_action_made_for_another_case_does_nothing_here(
    client: Client, worker: Settings
) -> None:
    """A payload sealed before binding opens in any case (while such payloads are accepted):
    with its one-time id it would pass as new in every case but its own. The action names the
    case it was made for, and any other case refuses it."""
    elsewhere = await awaiting_identity(client, worker)
    handle = await awaiting_identity(client, worker, "coordination")
    converter = data_converter(Settings())
    assert isinstance(converter.payload_codec, EncryptionCodec)
    for made_for in (elsewhere.id, None):
        action = ReassignInput(
            handler="anna", to="chef.jurist", action_id=uuid.uuid4().hex, for_case=made_for
        )
        [sealed] = await converter.payload_codec.encode(  # no context: unbound
            converter.payload_converter.to_payloads([action])
        )
        why = await refusal(sender(client).get_workflow_handle(handle.id), "reassign", sealed)
        assert "not made for this case" in why
    assert (await status_of(handle)).assignee == "anna"
    assert await accepted_updates(handle) == []
