"""Point 4 of the boundary: settings that fail closed. A process started with nothing set is in
production and refuses the public development secrets, short secrets, unsealed payloads and the
demo adapters; a start-up error names the setting and never prints what it holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra import plugins
from infra.codec import new_key
from infra.config import (
    DEVELOPMENT_CODEC_TOKEN,
    DEVELOPMENT_ISSUER,
    DEVELOPMENT_SECRET,
    PROJECT_ROOT,
    SettingsError,
    load_settings,
)
from tests.support.docker import dockerfile_environment

SECRET = "a-secret-of-forty-characters-xxxxxxxxxx"
TOKEN = "a-codec-token-of-forty-characters-xxxxxx"
ADAPTER = "tests.security.adapters:{}"


def production(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    """Settings a production deployment could start with; `changes` break one part."""
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps({"current": "p1", "keys": {"p1": new_key()}}))
    return {
        "environment": "production",
        "subject_reference_secret": SECRET,
        "codec_tokens": [TOKEN],
        "encryption_key_file": key_file,
        "oidc_issuer": "https://login.exempelstad.example/realms/dsr",
        "eid_provider": ADAPTER.format("eid_provider"),
        "digital_mailbox": ADAPTER.format("digital_mailbox"),
        "letter_service": ADAPTER.format("letter_service"),
        "recipient_channel": ADAPTER.format("recipient_channel"),
        "staff_channel": "smtp",
        "requester_email_channel": "smtp",
        **changes,
    }


def without_dsr(**env: str) -> dict[str, str]:
    kept = {key: value for key, value in os.environ.items() if not key.startswith("DSR_")}
    return {**kept, **env}


def start(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *command],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


ENTRY_POINTS = [["worker.py"], ["codec_server.py"], ["-m", "service"]]


@pytest.mark.parametrize("command", ENTRY_POINTS, ids=lambda c: c[-1])
def test_nothing_set_is_production_and_refuses_the_public_defaults(command: list[str]) -> None:
    done = start(command, without_dsr())
    assert done.returncode != 0
    assert "not started" in done.stderr
    assert "in production" in done.stderr
    assert "DSR_SUBJECT_REFERENCE_SECRET must be set" in done.stderr
    assert "development payload key is public" in done.stderr
    assert "Traceback" not in done.stderr  # one message, no stack


# (variable, value, what must not be printed)
MALFORMED = [
    ("DSR_CODEC_TOKENS", '"just-one-token-not-a-list-9f8e7d6c5b4a"', "9f8e7d6c5b4a"),
    ("DSR_ENCRYPTION_KEYS", '["key-material-in-a-list-0a1b2c3d4e5f"]', "0a1b2c3d4e5f"),
    ("DSR_ENCRYPTION_KEYS", '{"k1": "not-base64-key-material-!!5e6f7a8b"}', "5e6f7a8b"),
]


@pytest.mark.parametrize(("variable", "value", "secret"), MALFORMED)
@pytest.mark.parametrize("command", ENTRY_POINTS, ids=lambda c: c[-1])
def test_a_malformed_secret_is_named_and_never_echoed(
    command: list[str], variable: str, value: str, secret: str
) -> None:
    done = start(command, without_dsr(DSR_ENVIRONMENT="development", **{variable: value}))
    assert done.returncode != 0
    assert "not started" in done.stderr
    assert variable in done.stderr
    assert secret not in done.stderr and secret not in done.stdout
    assert "Traceback" not in done.stderr


def test_json_that_does_not_parse_is_named_and_never_echoed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DSR_CODEC_TOKENS", "[unquoted-token-value-0123456789")
    with pytest.raises(SettingsError) as refused:
        load_settings(environment="development")
    assert str(refused.value) == "DSR_CODEC_TOKENS: not valid JSON"


def test_a_production_deployment_starts(tmp_path: Path) -> None:
    settings = load_settings(**production(tmp_path))
    assert settings.accept_unsealed_payloads is False
    assert settings.reference_secret == SECRET


REFUSED = {
    "short reference secret": (
        {"subject_reference_secret": "x" * 31},
        "DSR_SUBJECT_REFERENCE_SECRET",
    ),
    "development reference secret": (
        {"subject_reference_secret": DEVELOPMENT_SECRET},
        "DSR_SUBJECT_REFERENCE_SECRET must be set",
    ),
    "short codec token": ({"codec_tokens": [TOKEN, "y" * 20]}, "DSR_CODEC_TOKENS"),
    "development codec token": (
        {"codec_tokens": [DEVELOPMENT_CODEC_TOKEN]},
        "DSR_CODEC_TOKENS must be set",
    ),
    "short console secret": (
        {"oidc_console_client_secret": "z" * 16},
        "DSR_OIDC_CONSOLE_CLIENT_SECRET",
    ),
    "development payload key": (
        {"encryption_key_file": None},
        "development payload key is public",
    ),
    "embedded sign-in": ({"oidc_issuer": DEVELOPMENT_ISSUER}, "DSR_OIDC_ISSUER"),
    "unsealed payloads": ({"accept_unsealed_payloads": True}, "DSR_ACCEPT_UNSEALED_PAYLOADS"),
    "encryption off": ({"payload_encryption": False}, "DSR_PAYLOAD_ENCRYPTION"),
    "fake e-ID": ({"eid_provider": "fake"}, "DSR_EID_PROVIDER"),
    "outbox mailbox": ({"digital_mailbox": "outbox"}, "DSR_DIGITAL_MAILBOX"),
    "print folder": ({"letter_service": "print-folder"}, "DSR_LETTER_SERVICE"),
    "outbox recipients": ({"recipient_channel": "outbox"}, "DSR_RECIPIENT_CHANNEL"),
    "outbox staff": ({"staff_channel": "outbox"}, "DSR_STAFF_CHANNEL"),
    "outbox e-mail": ({"requester_email_channel": "outbox"}, "DSR_REQUESTER_EMAIL_CHANNEL"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_production_refuses(case: str, tmp_path: Path) -> None:
    changes, named = REFUSED[case]
    with pytest.raises(SettingsError) as refused:
        load_settings(**production(tmp_path, **changes))
    assert named in str(refused.value)
    for field, value in changes.items():
        if "secret" in field or "token" in field:  # a refused secret is never printed
            for text in value if isinstance(value, list) else [value]:
                assert text not in str(refused.value)


def test_the_image_runs_as_production() -> None:
    assert dockerfile_environment()["DSR_ENVIRONMENT"] == "production"


def test_secrets_never_show_in_the_settings_text(tmp_path: Path) -> None:
    settings = load_settings(
        **production(
            tmp_path,
            oidc_console_client_secret="c" * 40,
            smtp_password="smtp-password-value",
            temporal_api_key="temporal-api-key-value",
            encryption_key_file=None,
            encryption_keys={"p1": (key := new_key())},
            encryption_key_id="p1",
        )
    )
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    for secret in (SECRET, TOKEN, "c" * 40, "smtp-password-value", "temporal-api-key-value", key):
        assert secret not in shown


def test_an_adapter_is_plugged_by_import_path(tmp_path: Path) -> None:
    settings = load_settings(**production(tmp_path))
    provider = plugins.eid_provider(settings)
    assert type(provider).__module__ == "tests.security.adapters"
    broken = settings.model_copy(update={"digital_mailbox": "tests.security.adapters:missing"})
    with pytest.raises(plugins.AdapterError, match="DSR_DIGITAL_MAILBOX"):
        plugins.digital_mailbox(broken)


def test_an_adapter_is_named_or_refused() -> None:
    with pytest.raises(SettingsError, match="DSR_LETTER_SERVICE"):
        load_settings(environment="development", letter_service="a-printer")
