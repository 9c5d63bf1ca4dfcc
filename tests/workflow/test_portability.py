"""Portability (Art. 20): provided and observed data, JSON and CSV, delivered digitally."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from temporalio.client import Client

from contract.actions import ApproveReleaseInput
from contract.case import CaseResult, CaseState, DeliveryMethod, IdentityBasis, Outcome
from contract.vocabulary import Kind
from demo.people import DEMO_SUBJECTS
from demo.systems import SeedManifest
from infra.config import Settings
from systems.catalog import load_catalog
from tests.helpers import record_history, submit, wait_for_state

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_portable_data_as_json_and_csv_in_the_digital_mailbox(
    client: Client, worker: Settings, seeded: SeedManifest
) -> None:
    tolvan = DEMO_SUBJECTS["tolvan"]
    submitted = await submit(client, worker, tolvan, Kind.PORTABILITY, bankid=True)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    await handle.execute_update("approve_release", ApproveReleaseInput(handler="anna"))
    result = await handle.result()
    assert result.outcome is Outcome.DELIVERED and result.delivery is not None
    assert result.delivery.method is DeliveryMethod.DIGITAL_MAILBOX
    await record_history(handle, "portability")

    delivered = Path(result.delivery.location)
    payload = json.loads((delivered / "portability.json").read_text())
    catalog = load_catalog()
    portable = {
        f"{system.name}.{name}"
        for system in catalog.systems.values()
        for name, table in system.tables.items()
        if table.portable
    }
    expected = {
        f"{system}.{table}": len(keys)
        for system in catalog.names()
        for table, keys in seeded.rows_of(tolvan, system).items()
        if keys and f"{system}.{table}" in portable
    }
    assert {name: len(rows) for name, rows in payload["tables"].items()} == expected
    assert "network.meter_readings" in expected, "observed data (meter readings) is portable"
    assert "billing.credit_checks" not in payload["tables"], "bought from the credit agency"

    with zipfile.ZipFile(delivered / "portability-csv.zip") as bundle:
        assert sorted(n.removesuffix(".csv") for n in bundle.namelist()) == sorted(expected)
        readings = list(
            csv.DictReader(io.StringIO(bundle.read("network.meter_readings.csv").decode()))
        )
    assert len(readings) == expected["network.meter_readings"]
    assert "kwh" in readings[0] or any("kwh" in column for column in readings[0])
    # The cover names where the data came from and says why the archive and the case register
    # are not in it, instead of claiming every system.
    cover = (delivered / "portability.html").read_text()
    for title in ("Kund- och faktureringssystemet", "Nätsystemet (elnät och stadsnät)"):
        assert title in cover
    assert "artikel 20.1" in cover and "ärenderegistret" in cover


async def test_portability_needs_no_proof_when_it_goes_to_the_subjects_own_mailbox(
    client: Client, worker: Settings
) -> None:
    submitted = await submit(client, worker, DEMO_SUBJECTS["joint_a"], Kind.PORTABILITY)
    handle = client.get_workflow_handle(submitted.case_number, result_type=CaseResult)
    review = await wait_for_state(handle, CaseState.AWAITING_REVIEW)
    assert review.identity is None and review.identity_basis is IdentityBasis.DIGITAL_MAILBOX
    await handle.terminate("test over")
