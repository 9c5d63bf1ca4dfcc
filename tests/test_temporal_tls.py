"""Reaching a production Temporal over mutual TLS with the settings' certificates, as the
engine's processes do: the worker and the case service (the handlers' CLI talks only to the
service). The dev server speaks plain gRPC, so the test puts a TLS-terminating proxy in front
of it that demands a client certificate signed by the test's own CA."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from demo.people import DEMO_SUBJECTS
from infra.client import ConnectionSettingsError, connect, tls_config
from infra.config import PROJECT_ROOT, Settings
from infra.idp import LocalIdentityProvider
from tests.helpers import engine_env, free_port
from tests.serving import Desk, RunningService, SignIns

pytestmark = pytest.mark.asyncio(loop_scope="session")
SERVER_NAME = "temporal.exempelstad.test"


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _issue(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    dns: str | None = None,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if dns is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(dns), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA of the test's own, a server certificate for SERVER_NAME and a client certificate."""
    where = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca = _issue("Test CA", ca_key, ca_name, ca_key, ca=True)
    files = Pki(
        ca=where / "ca.pem",
        server_cert=where / "server.pem",
        server_key=where / "server.key",
        client_cert=where / "client.pem",
        client_key=where / "client.key",
    )
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for cert_path, key_path, name, dns in (
        (files.server_cert, files.server_key, SERVER_NAME, SERVER_NAME),
        (files.client_cert, files.client_key, "dsr-worker", None),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        _write_key(key_path, key)
        cert = _issue(name, key, ca_name, ca_key, dns=dns)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files


@pytest_asyncio.fixture(loop_scope="session")
async def tls_front(pki: Pki, client: Client) -> AsyncIterator[str]:
    """host:port of a proxy that speaks mutual TLS outside and plain gRPC to the dev server."""
    upstream_host, upstream_port = client.service_client.config.target_host.rsplit(":", 1)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
    context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(upstream_host, int(upstream_port))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    port = free_port()
    server = await asyncio.start_server(serve, "127.0.0.1", port, ssl=context)
    yield f"127.0.0.1:{port}"
    server.close()


def tls_settings(settings: Settings, pki: Pki, address: str, *, with_client_cert: bool) -> Settings:
    update: dict[str, object] = {
        "temporal_address": address,
        "temporal_tls_ca": pki.ca,
        "temporal_tls_server_name": SERVER_NAME,
    }
    if with_client_cert:
        update |= {"temporal_tls_cert": pki.client_cert, "temporal_tls_key": pki.client_key}
    return Settings.model_validate(settings.model_dump() | update)


async def test_the_engine_reaches_temporal_over_mutual_tls(
    settings: Settings, pki: Pki, tls_front: str
) -> None:
    secured = await connect(tls_settings(settings, pki, tls_front, with_client_cert=True))
    info = await secured.workflow_service.get_system_info(GetSystemInfoRequest())
    assert info.server_version

    # Without a client certificate the cluster does not let the engine in.
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(
            connect(tls_settings(settings, pki, tls_front, with_client_cert=False)), 30
        )


def tls_env(client: Client, settings: Settings, pki: Pki, address: str) -> dict[str, str]:
    """An engine process's environment for `settings`, reaching Temporal at `address` over
    mutual TLS."""
    return {
        **engine_env(client, settings),
        "DSR_TEMPORAL_ADDRESS": address,
        "DSR_TEMPORAL_TLS_CERT": str(pki.client_cert),
        "DSR_TEMPORAL_TLS_KEY": str(pki.client_key),
        "DSR_TEMPORAL_TLS_CA": str(pki.ca),
        "DSR_TEMPORAL_TLS_SERVER_NAME": SERVER_NAME,
    }


@contextlib.asynccontextmanager
async def service_process(
    env: dict[str, str], log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m service` with `env`, its output in `log`; killed afterwards if it still
    runs."""
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "service",
            env=env,
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()


async def ready(url: str, process: asyncio.subprocess.Process) -> None:
    """Until the service's /readyz answers 200: it has Temporal's health from its client."""
    async with httpx.AsyncClient(timeout=5) as http:
        for _ in range(200):
            assert process.returncode is None, "the service exited (see its log)"
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError("the service never became ready")


async def test_the_case_service_reaches_temporal_over_mutual_tls(
    client: Client,
    worker: Settings,
    pki: Pki,
    tls_front: str,
    idp: LocalIdentityProvider,
    tmp_path: Path,
) -> None:
    # The service as deployed (`python -m service`), its client made from the TLS settings;
    # the worker is on the dev server's plain port, behind the same proxy.
    port = free_port()
    env = tls_env(client, worker, pki, tls_front) | {
        "DSR_SERVICE_ADDRESS": f"127.0.0.1:{port}",
        "DSR_OIDC_ISSUER": idp.issuer,
    }
    async with service_process(env, tmp_path / "service.log") as process:
        url = f"http://127.0.0.1:{port}"
        await ready(url, process)
        settings = worker.model_copy(update={"oidc_issuer": idp.issuer})
        desk = Desk(RunningService(url, settings, idp), SignIns(tmp_path / "sign-ins", port))
        cli = await desk.login("anna")
        # A request registered, run by the worker, and its status read: all over TLS.
        submitted = await cli.json("submit", "access", "--subject", DEMO_SUBJECTS["tolvan"])
        case = submitted["case_number"]
        await cli.wait_for(case, "awaiting_review")
        listed = await cli.json("list", "--open")
        assert case in [row["case_number"] for row in listed["cases"]]


async def test_a_missing_key_file_is_named_and_nothing_starts(
    client: Client, settings: Settings, pki: Pki, tls_front: str, tmp_path: Path
) -> None:
    env = tls_env(client, settings, pki, tls_front) | {
        "DSR_TEMPORAL_TLS_KEY": str(pki.client_key.with_name("missing.key")),
        "DSR_METRICS_ADDRESS": "",
        "DSR_WORKER_HEALTH_ADDRESS": "",
    }
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROJECT_ROOT / "worker.py"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(worker.communicate(), 60)
    assert worker.returncode == 1
    said = err.decode()
    assert (
        "worker not started: DSR_TEMPORAL_TLS_KEY" in said and "missing.key: cannot be read" in said
    )
    assert "Traceback" not in said

    env["DSR_SERVICE_ADDRESS"] = f"127.0.0.1:{free_port()}"
    log = tmp_path / "service.log"
    async with service_process(env, log) as service:
        await asyncio.wait_for(service.wait(), 60)
    assert service.returncode == 1
    said = log.read_text()
    assert "service not started: DSR_TEMPORAL_TLS_KEY" in said
    assert "missing.key: cannot be read" in said and "Traceback" not in said


async def test_a_certificate_without_its_key_is_refused() -> None:
    with pytest.raises(ValueError, match="go together"):
        Settings(temporal_tls_cert=Path("client.pem"))
    with pytest.raises(ConnectionSettingsError):
        tls_config(Settings(temporal_tls_ca=Path("/nonexistent/ca.pem")))


async def test_a_server_name_alone_means_tls_with_that_name() -> None:
    # Naming the certificate to expect only makes sense over TLS: it is never sent in plain.
    assert tls_config(Settings()) is False
    config = tls_config(Settings(temporal_tls_server_name=SERVER_NAME))
    assert not isinstance(config, bool)
    assert config.domain == SERVER_NAME and config.client_cert is None
