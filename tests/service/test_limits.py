"""Per-caller rate limits, the body limit and the metrics, on the running service."""

from __future__ import annotations

import httpx
import pytest
from temporalio.client import Client

from infra.config import Settings
from infra.idp import (
    CLI_CLIENT,
    LocalIdentityProvider,
    demo_password,
    start_identity_provider,
    submit_form,
)
from tests.oidc import device_login
from tests.serving import RunningService, running_service
from tests.support.api import problem


@pytest.mark.asyncio(loop_scope="session")
async def test_a_caller_past_the_rate_limit_waits_and_others_do_not(
    client: Client, worker: Settings, idp: LocalIdentityProvider
) -> None:
    strict = worker.model_copy(update={"service_rate_limit": "5/minute"})
    async with running_service(client, strict, idp) as service:
        anna = service.api(await device_login(idp, "anna"))
        bo = service.api(await device_login(idp, "bo"))
        async with anna, bo:
            for _ in range(5):
                assert (await anna.get("/me")).status_code == 200
            refused = await anna.get("/me")
            assert "too many calls" in problem(refused, 429)
            assert int(refused.headers["retry-after"]) >= 1
            # Another person has a count of their own.
            assert (await bo.get("/me")).status_code == 200


@pytest.mark.asyncio(loop_scope="session")
async def test_metrics_count_and_time_calls_by_route_without_case_numbers(
    service: RunningService,
) -> None:
    async with service.api(await device_login(service.idp, "anna")) as anna:
        assert (await anna.get("/cases/DSR-2020-999998")).status_code == 404
        assert (await anna.get("/me")).status_code == 200
    async with httpx.AsyncClient() as http:
        scraped = await http.get(f"{service.url}/metrics")
    assert scraped.status_code == 200
    text = scraped.text
    route = "/api/v1/cases/{case_number}"
    assert f'dsr_service_requests_total{{method="GET",route="{route}",status="404"}} 1.0' in text
    assert 'dsr_service_request_duration_seconds_count{method="GET",route="/api/v1/me"}' in text
    assert "DSR-2020-999998" not in text


def test_sign_in_is_rate_limited_per_login() -> None:
    """Five wrong passwords in a row, and even the right one is refused for a while; another
    login is not."""
    provider = start_identity_provider(["anna", "bo"], console_redirects=[])
    try:
        with httpx.Client(timeout=10) as http:
            metadata = http.get(f"{provider.issuer}/.well-known/openid-configuration").json()

            def login_page() -> tuple[httpx.Client, httpx.Response]:
                started = http.post(
                    metadata["device_authorization_endpoint"],
                    data={"client_id": CLI_CLIENT, "scope": "openid api"},
                ).json()
                browser = httpx.Client(follow_redirects=True, timeout=10)
                page = browser.get(started["verification_uri"])
                page = submit_form(
                    browser, page, {"user_code": started["user_code"]}, "op.deviceInputForm"
                )
                return browser, submit_form(browser, page, {}, "op.deviceConfirmForm")

            browser, page = login_page()
            try:
                for _ in range(5):
                    page = submit_form(browser, page, {"login": "anna", "password": "fel"})
                    assert page.status_code == 401 and "Fel användarnamn" in page.text
                page = submit_form(
                    browser, page, {"login": "anna", "password": demo_password("anna")}
                )
                assert page.status_code == 429 and "För många" in page.text
                page = submit_form(browser, page, {"login": "bo", "password": demo_password("bo")})
                assert page.status_code == 200, page.text[:300]
            finally:
                browser.close()
    finally:
        provider.stop()
