"""One way to connect to Temporal, for the worker, the CLI, the tests and the Replayer: the
pydantic converter, with every payload sealed by the encryption codec."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

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


class ConnectionSettingsError(ValueError):
    """The settings for reaching Temporal cannot be used; the message names the setting."""


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        runtime=runtime,
        tls=tls_config(settings),
        api_key=settings.temporal_api_key or None,
    )
