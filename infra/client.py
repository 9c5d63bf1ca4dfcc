"""One way to connect to Temporal, for the worker, the CLI, the tests and the Replayer: the
pydantic converter, with every payload sealed by the encryption codec."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
)
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from contract.base import HandlerAction
from infra.codec import EncryptionCodec
from infra.config import Settings
from infra.converter import NamedModelPayloadConverter


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic payloads naming their model (infra.converter), sealed with the settings' keys
    and bound to their case and place (infra.codec); failure messages and stack traces are moved
    into a sealed payload too (they can quote what failed)."""
    named = DataConverter(payload_converter_class=NamedModelPayloadConverter)
    ring = settings.key_ring()
    if ring is None:
        return named
    codec = EncryptionCodec(
        ring,
        accept_unsealed=settings.accept_unsealed_payloads,
        accept_unbound=settings.accept_unbound_payloads,
    )
    return dataclasses.replace(
        named,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS as the settings ask: False for the dev server; certificates read from their files
    (a missing or unreadable file is named in the error)."""
    if not settings.temporal_uses_tls:
        return False

    def read(path: Path | None, what: str) -> bytes | None:
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError as error:
            raise ConnectionSettingsError(
                f"{what} {path}: cannot be read ({error.strerror})"
            ) from None

    return TLSConfig(
        client_cert=read(settings.temporal_tls_cert, "DSR_TEMPORAL_TLS_CERT"),
        client_private_key=read(settings.temporal_tls_key, "DSR_TEMPORAL_TLS_KEY"),
        server_root_ca_cert=read(settings.temporal_tls_ca, "DSR_TEMPORAL_TLS_CA"),
        domain=settings.temporal_tls_server_name or None,
    )


class OneTimeActionIds(Interceptor):
    """Client interceptor: every action (contract.base.HandlerAction) this client sends as an
    update gets a fresh one-time id, unless it has one, and names the case it is sent to; the
    case refuses an id it has taken already and an action made for another case
    (workflows.guard), so a copy of the update replayed later, here or elsewhere, does
    nothing. The case service's client is where actions come from, so it sets them."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _StampActionIds(next)


class _StampActionIds(OutboundInterceptor):
    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> Any:
        args = [
            arg.model_copy(
                update={"action_id": arg.action_id or uuid.uuid4().hex, "for_case": input.id}
            )
            if isinstance(arg, HandlerAction)
            else arg
            for arg in input.args
        ]
        return await super().start_workflow_update(dataclasses.replace(input, args=args))


def interceptors() -> list[Interceptor]:
    """What every client of the engine's (the service, the tests, the benchmarks) carries."""
    return [OneTimeActionIds()]


class ConnectionSettingsError(ValueError):
    """The settings for reaching Temporal cannot be used; the message names the setting."""


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        interceptors=interceptors(),
        runtime=runtime,
        tls=tls_config(settings),
        api_key=settings.temporal_api_key.get_secret_value() or None,
    )
