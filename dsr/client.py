"""One way to connect to Temporal, for the worker, the CLI, the tests and the Replayer: the
pydantic converter, with every payload sealed by the encryption codec."""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime

from dsr.codec import EncryptionCodec
from dsr.config import Settings


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic payloads, sealed with the settings' keys; failure messages and stack traces
    are moved into a sealed payload too (they can quote what failed)."""
    ring = settings.key_ring()
    if ring is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(ring, accept_unsealed=settings.accept_unsealed_payloads),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        runtime=runtime,
    )
