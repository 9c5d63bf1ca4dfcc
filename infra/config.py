"""Settings: one object from the environment (prefix DSR_), defaults for the embedded stack.

Its size (about 470 lines) is earned: `Settings` is the one list of every DSR_ variable, each
with its default, its meaning and its check, and the checks that hold across them (production
fails closed). Split into several classes, a reader would search several files for one
variable, and a cross-check would sit apart from the fields it reads."""

from __future__ import annotations

import base64
import re
import urllib.parse
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError as SourceError

from contract.roles import Role
from infra.codec import KeyRing

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT_SECRET = "development-only-subject-reference-secret"  # noqa: S105 - refused in production
# The embedded stack's payload key (public, like the secret above): refused in production.
DEVELOPMENT_KEY_ID = "development"
DEVELOPMENT_KEY = base64.b64encode(b"development-only-payload-key-32b").decode()
DEVELOPMENT_CODEC_TOKEN = "development-only-codec-token"  # noqa: S105 - refused in production
DEVELOPMENT_ISSUER = "http://127.0.0.1:8301"  # the embedded sign-in (`make run`)
# Secrets the engine's operator chooses (the register's HMAC secret, the codec's tokens, the
# console's client secret) are at least this long in production: 256 bits of a random text.
MIN_SECRET_BYTES = 32
# The demo adapters, which write files under var_dir: refused in production, where the
# organisation's own adapters plug in by import path ("package.module:factory").
DEMO_ADAPTERS = {
    "eid_provider": "fake",
    "digital_mailbox": "outbox",
    "letter_service": "print-folder",
    "recipient_channel": "outbox",
}


class SettingsError(ValueError):
    """Settings that cannot start a process: each line names a setting, never its value."""


def _env_name(field: str) -> str:
    return f"DSR_{field.upper()}"


def describe(error: ValidationError) -> str:
    """A validation error as lines naming the setting and what is wrong, without the value
    (pydantic's own text echoes the input: a malformed secret would be printed in clear)."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        message = str(problem["msg"]).removeprefix("Value error, ")
        place = [str(part) for part in problem["loc"]]
        if place:
            name = _env_name(place[0]) + "".join(f"[{part}]" for part in place[1:])
            lines.append(f"{name}: {message}")
        else:
            lines.append(message)
    return "\n".join(lines)


SYSTEM_NAMES = ("billing", "network", "marketing", "disclosure")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DSR_", env_nested_delimiter="__", extra="ignore")

    # Production unless stated: a process started with nothing set refuses the public
    # development secrets instead of running with them. `make run`, `make test` and the
    # benchmarks state development.
    environment: Literal["development", "production"] = "production"
    var_dir: Path = PROJECT_ROOT / "var"

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "dsr"
    # A production cluster: TLS, with a client certificate and key for mutual TLS and the CA
    # of the cluster's certificate where it is not a public one (files in PEM); or an API key
    # (Temporal Cloud), which implies TLS. Off for the embedded dev server.
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    temporal_tls_server_name: str = ""
    temporal_api_key: SecretStr = SecretStr("")

    # The worker: a health endpoint (GET /healthz, /readyz); empty: none. How many activities
    # and workflow tasks one worker runs at once, and how long a stopping worker (SIGTERM) lets
    # running activities finish before it cancels them and hands them back to the cluster.
    worker_health_address: str = "127.0.0.1:8235"
    worker_max_concurrent_activities: int = Field(default=50, ge=1, le=10_000)
    worker_max_concurrent_workflow_tasks: int = Field(default=50, ge=2, le=10_000)
    worker_shutdown_grace_seconds: float = Field(default=30.0, ge=0, le=3600)
    ui_url: str = "http://127.0.0.1:8233"

    # The case service (python -m service): the one door for staff and the customer e-service.
    service_address: str = "127.0.0.1:8300"
    # Calls per signed-in person or client (limits' notation, a moving window): more get 429.
    service_rate_limit: str = "600/minute"
    # Larger request bodies are refused (413) before they are read.
    service_max_body_bytes: int = Field(default=256 * 1024, ge=1024, le=64 * 1024 * 1024)
    # Sign-in: the organisation's OpenID Connect provider (Entra ID, Keycloak, any), found by
    # discovery from its issuer; `make run` starts a local one and sets this. Access tokens
    # must be for `oidc_audience`; `oidc_login_claim` carries the login the staff roster
    # knows (e.g. preferred_username, or upn in Entra ID).
    oidc_issuer: str = DEVELOPMENT_ISSUER
    oidc_audience: str = "urn:dsr:api"
    oidc_login_claim: str = "preferred_username"
    # The public client the CLI signs in with (device authorization grant), and the scopes it
    # asks for (in Entra ID, e.g. "api://<app>/.default offline_access").
    oidc_cli_client_id: str = "dsr-cli"
    oidc_cli_scope: str = "openid api"
    # The web console's sign-in: the confidential client of the authorization code flow (with
    # PKCE), and the address people reach the service at (the provider sends them back to
    # CONSOLE_URL/auth/callback). Without a secret the console's sign-in is off (503).
    oidc_console_client_id: str = "dsr-console"
    oidc_console_client_secret: SecretStr | None = None
    console_url: str = "http://127.0.0.1:8300"
    # A browser session ends this long after sign-in, or after this long without a request;
    # its cookie is HttpOnly, SameSite=Lax, and Secure outside development (or as set here).
    session_lifetime_seconds: int = Field(default=8 * 3600, ge=60, le=7 * 86_400)
    session_idle_seconds: int = Field(default=30 * 60, ge=1, le=86_400)
    session_cookie_secure: bool | None = None
    # The customer e-service's clients (client credentials): the only callers of its door.
    eservice_client_ids: list[str] = Field(default_factory=lambda: ["dsr-eservice"])
    # An e-ID proof older than this is refused: the person signs again.
    eid_proof_max_age_seconds: int = Field(default=600, ge=30, le=86_400)

    # Empty means "SQLite under var_dir"; set a full SQLAlchemy async URL to use another database.
    register_url: str = ""
    # Per connected system, e.g. DSR_SYSTEM_URLS='{"billing": "postgresql+asyncpg://..."}'.
    system_urls: dict[str, str] = Field(default_factory=dict)
    # The document archive for public-access requests; default SQLite under var/systems/.
    document_archive_url: str = ""

    # The case register keeps only HMAC(secret, identity number), never the number itself.
    subject_reference_secret: SecretStr = SecretStr(DEVELOPMENT_SECRET)

    # Payload encryption (AES-256-GCM): what Temporal stores of every case is sealed with the
    # current key; every listed key still opens what it sealed (rotation). Keys are base64 of
    # 32 bytes, by id, here or in a JSON key file ({"current": id, "keys": {id: key}}), which
    # wins. Switching encryption off is for the test that proves it matters, never production.
    payload_encryption: bool = True
    encryption_keys: dict[str, SecretStr] = Field(
        default_factory=lambda: {DEVELOPMENT_KEY_ID: SecretStr(DEVELOPMENT_KEY)}
    )
    encryption_key_id: str = DEVELOPMENT_KEY_ID
    encryption_key_file: Path | None = None
    # Whether workers accept payloads nobody sealed (from before encryption): in development
    # only (the default there); production refuses them, so nobody without a key can feed a
    # worker an update of their own.
    accept_unsealed_payloads: bool = False
    # Whether workers accept sealed payloads that are not bound to a case and place (sealed
    # before binding). Switch off once no case from before binding runs: then a payload read
    # from one case's history cannot be fed to another.
    accept_unbound_payloads: bool = True
    # The codec server (for the Web UI and `temporal workflow show --codec-endpoint`): where it
    # listens and the bearer tokens it accepts (one per supervisor or per SSO proxy).
    codec_address: str = "127.0.0.1:8234"
    # A closed case's files (collected rows, extract, copies) are deleted from the extract
    # store this many days after it closed, by a durable timer; the deletion is in the trail.
    extract_retention_days: int = Field(default=30, ge=0)
    codec_tokens: list[SecretStr] = Field(
        default_factory=lambda: [SecretStr(DEVELOPMENT_CODEC_TOKEN)]
    )
    # A person signed in to the Web UI has the codec server decode with their own access token
    # (the UI passes it on), for these roster roles only: those who see personal data in cases.
    codec_reader_roles: list[Role] = Field(default_factory=lambda: [Role.HANDLER, Role.TEAM_LEAD])

    # Named in every answer (Art. 13-15): who is responsible and how to reach the DPO.
    controller_name: str = "Stadsnät och Elnät i Exempelstad AB"
    controller_contact: str = "kundservice@exempelstad-energi.example, 010-000 00 00"
    dpo_contact: str = "dataskyddsombud@exempelstad.example"

    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"

    # The e-ID provider, the digital mailbox, the print service (letters) and the channel to
    # the recipients of customer data (Art. 19 notices) are outside the engine. The demo's
    # adapters ("fake", "outbox", "print-folder") write files under var_dir and are refused in
    # production; the organisation's own plug in by import path, "package.module:factory", a
    # callable given these settings that returns the adapter (infra/adapters.py: the interfaces).
    eid_provider: str = DEMO_ADAPTERS["eid_provider"]
    digital_mailbox: str = DEMO_ADAPTERS["digital_mailbox"]
    letter_service: str = DEMO_ADAPTERS["letter_service"]
    recipient_channel: str = DEMO_ADAPTERS["recipient_channel"]
    # The outbox mailbox's people without a digital mailbox (identity numbers, 12 digits).
    outbox_without_mailbox: frozenset[str] = frozenset()

    # The escalation ladder (DOMAIN.md defaults): a reminder to the assignee this many days
    # before the deadline, escalation to the team lead (and the DPO told) this many days
    # before; at the deadline the case is overdue. Per kind, e.g.
    # DSR_ESCALATION_DAYS='{"erasure": [15, 5]}'; kinds not named use `default`.
    escalation_days: dict[str, tuple[int, int]] = Field(
        default_factory=lambda: {"default": (10, 3)}
    )
    # The clock stops while the company waits for identity proof it asked for, if it asked
    # within this many working days of receipt (Art. 12(6), EDPB 01/2022); None: never stops.
    pause_if_asked_within_working_days: int | None = 3
    # Who releases an access extract: "review": a handler approves every release;
    # "automatic": an extract for a subject who proved their identity with e-ID at intake and
    # has no protected identity goes out without review (every other case is reviewed).
    release_policy: Literal["review", "automatic"] = "review"
    # A connected system that does not answer is retried with backoff for as long as it takes;
    # when a case has waited this long for one, its assignee (or the team lead) is told which.
    system_wait_notice_seconds: int = Field(default=3600, ge=1, le=7 * 86400)

    # Notices to staff (reminders, escalations, refusals): "outbox" writes files under
    # var/outbox/staff; "smtp" sends e-mail. An assignee's address is `assignee_email` with
    # {handler} filled in; team lead and DPO have their own addresses.
    staff_channel: Literal["outbox", "smtp"] = "outbox"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_sender: str = "dsr-engine@exempelstad-energi.example"
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    # Copies and decisions to requesters of official documents who gave an e-mail address:
    # "smtp" over the same mail server, "outbox" under var/outbox/email.
    requester_email_channel: Literal["outbox", "smtp"] = "outbox"
    assignee_email: str = "{handler}@exempelstad-energi.example"
    team_lead_email: str = "teamledare-kundservice@exempelstad-energi.example"
    dpo_email: str = "dataskyddsombud@exempelstad.example"
    # The worker serves Prometheus metrics at http://<this>/metrics; empty: no metrics.
    metrics_address: str = "127.0.0.1:9464"
    metrics_interval_seconds: float = 30.0

    # The archive function, which takes disposal decisions (gallringsbeslut).
    archivist_email: str = "arkivet@exempelstad-energi.example"

    # Public access (offentlighetsprincipen). "Skyndsamt": the ladder runs in working days of
    # Lag 1930:173 from receipt: escalated when no decision is made within the first number,
    # overdue (escalated again) after the second.
    public_access_escalation_working_days: tuple[int, int] = (1, 3)
    # Copies: the first pages are free; then a fee for the first paid page that covers it and
    # the free ones before, plus a fee per further page (Avgiftsförordningen 16 § as a model).
    copy_fee_free_pages: int = Field(default=9, ge=0)
    copy_fee_first_paid_page_sek: int = Field(default=50, ge=0)
    copy_fee_per_further_page_sek: int = Field(default=2, ge=0)
    # After a refusal, the requester may ask for a formal, appealable decision within this
    # many days; then the case closes.
    formal_decision_request_days: int = Field(default=30, ge=1)
    # The appeal period from the day the decision was received, and how long the case stays
    # open after it for appeals registered late (a late one is dismissed).
    appeal_weeks: int = Field(default=3, ge=1)
    late_appeal_days: int = Field(default=14, ge=0)
    court_of_appeal: str = "Kammarrätten i Stockholm"
    # A formal decision sent by letter waits this long for its day of receipt to be shown
    # (FL 44 §); then the case closes with the decision sent but not final.
    decision_receipt_wait_days: int = Field(default=90, ge=1)
    # Who may take a formal refusal decision (delegationsordning): a YAML file, handler id ->
    # point and the matters it covers.
    delegation_register: Path = PROJECT_ROOT / "config" / "delegations.yaml"
    # Who works cases and in which roles (handler, team lead, DPO): a YAML file.
    roster: Path = PROJECT_ROOT / "config" / "roster.yaml"
    # The document management plan (dokumenthanteringsplan): the disposal decisions
    # (gallringsbeslut) under which records may be destroyed; erasure goes no further.
    document_plan: Path = PROJECT_ROOT / "config" / "document_plan.yaml"
    # The recipients register (mottagarregister): who receives customer data, and where an
    # Art. 19 notice reaches them.
    recipients_register: Path = PROJECT_ROOT / "config" / "recipients.yaml"
    # The month the financial year starts (Bokföringslagen 3 kap.): accounting records are kept
    # to the end of the seventh year after the calendar year in which it ended (7 kap. 2 §).
    financial_year_start_month: int = Field(default=1, ge=1, le=12)

    @model_validator(mode="after")
    def _public_access_ladder_in_order(self) -> Settings:
        first, second = self.public_access_escalation_working_days
        if not 1 <= first < second:
            raise ValueError(
                "DSR_PUBLIC_ACCESS_ESCALATION_WORKING_DAYS: two working days, the first at "
                "least 1 and before the second, e.g. [1, 3]"
            )
        return self

    @model_validator(mode="after")
    def _tls_whole(self) -> Settings:
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError(
                "DSR_TEMPORAL_TLS_CERT and DSR_TEMPORAL_TLS_KEY go together (mutual TLS needs "
                "the client certificate and its key)"
            )
        return self

    @property
    def temporal_uses_tls(self) -> bool:
        return bool(
            self.temporal_tls
            or self.temporal_api_key.get_secret_value()
            or self.temporal_tls_cert
            or self.temporal_tls_ca
            or self.temporal_tls_server_name
        )

    @model_validator(mode="before")
    @classmethod
    def _unsealed_accepted_in_development(cls, data: object) -> object:
        """In development unsealed payloads are accepted unless said otherwise (the embedded
        stack's older histories); the field's own default, for production, is no."""
        if isinstance(data, dict) and "accept_unsealed_payloads" not in data:
            if data.get("environment") == "development":
                data = {**data, "accept_unsealed_payloads": True}
        return data

    @model_validator(mode="after")
    def _keys_open(self) -> Settings:
        """The payload keys are read here, so a bad one stops every process at its start with
        the setting named (the error says which key id, never the key)."""
        try:
            self.key_ring()
        except ValueError as error:
            source = (
                "DSR_ENCRYPTION_KEY_FILE" if self.encryption_key_file else "DSR_ENCRYPTION_KEYS"
            )
            raise ValueError(f"{source}: {error}") from None
        return self

    @model_validator(mode="after")
    def _adapters_named(self) -> Settings:
        for field, demo in DEMO_ADAPTERS.items():
            spec = getattr(self, field)
            module, _, factory = spec.partition(":")
            if spec != demo and not (module and factory):
                raise ValueError(
                    f"{_env_name(field)}: {demo!r} (the demo's) or an import path, "
                    "'package.module:factory'"
                )
        return self

    @model_validator(mode="after")
    def _fail_closed_in_production(self) -> Settings:
        """Production refuses what only development may use: the public defaults, short
        secrets, unsealed payloads and the demo adapters. Each message names the setting and
        never its value."""
        if self.environment != "production":
            return self
        problems = []
        secret = self.subject_reference_secret.get_secret_value()
        if secret == DEVELOPMENT_SECRET:
            problems.append("DSR_SUBJECT_REFERENCE_SECRET must be set (the default is public)")
        elif len(secret.encode()) < MIN_SECRET_BYTES:
            problems.append(f"DSR_SUBJECT_REFERENCE_SECRET: at least {MIN_SECRET_BYTES} bytes")
        tokens = [token.get_secret_value() for token in self.codec_tokens]
        if DEVELOPMENT_CODEC_TOKEN in tokens:
            problems.append("DSR_CODEC_TOKENS must be set (the default is public)")
        elif any(len(token.encode()) < MIN_SECRET_BYTES for token in tokens):
            problems.append(f"DSR_CODEC_TOKENS: each token at least {MIN_SECRET_BYTES} bytes")
        console_secret = self.oidc_console_client_secret
        if console_secret is not None and (
            len(console_secret.get_secret_value().encode()) < MIN_SECRET_BYTES
        ):
            problems.append(f"DSR_OIDC_CONSOLE_CLIENT_SECRET: at least {MIN_SECRET_BYTES} bytes")
        if not self.payload_encryption:
            problems.append("DSR_PAYLOAD_ENCRYPTION cannot be off")
        if self.accept_unsealed_payloads:
            problems.append(
                "DSR_ACCEPT_UNSEALED_PAYLOADS cannot be on: anyone who reaches Temporal could "
                "send a worker an update of their own"
            )
        if self.session_cookie_secure is False:
            problems.append("DSR_SESSION_COOKIE_SECURE cannot be off")
        console = urllib.parse.urlsplit(self.console_url)
        if console.scheme != "https" and console.hostname not in ("127.0.0.1", "localhost"):
            problems.append("DSR_CONSOLE_URL must be https: the session cookie is Secure")
        if self.oidc_issuer == DEVELOPMENT_ISSUER:
            problems.append("DSR_OIDC_ISSUER must be set (the default is the embedded sign-in)")
        for field, demo in DEMO_ADAPTERS.items():
            if getattr(self, field) == demo:
                problems.append(
                    f"{_env_name(field)}: the demo adapter {demo!r} writes files under "
                    "var_dir; name the organisation's ('package.module:factory')"
                )
        for field in ("staff_channel", "requester_email_channel"):
            if getattr(self, field) == "outbox":
                problems.append(f"{_env_name(field)}: the demo outbox; use 'smtp'")
        if self.payload_encryption:
            ring = self.key_ring()
            if ring is not None and DEVELOPMENT_KEY.encode() in {
                base64.b64encode(key) for key in ring.keys.values()
            }:
                problems.append(
                    "the development payload key is public: set DSR_ENCRYPTION_KEY_FILE (or "
                    "DSR_ENCRYPTION_KEYS and DSR_ENCRYPTION_KEY_ID)"
                )
        if problems:
            raise ValueError("in production:\n  " + "\n  ".join(problems))
        return self

    def key_ring(self) -> KeyRing | None:
        """The payload keys, or None when encryption is off. Raises on a bad key."""
        if not self.payload_encryption:
            return None
        if self.encryption_key_file is not None:
            return KeyRing.from_file(self.encryption_key_file)
        return KeyRing.from_text(
            {name: key.get_secret_value() for name, key in self.encryption_keys.items()},
            self.encryption_key_id,
        )

    def ladder(self, kind: str) -> tuple[int, int]:
        """(reminder, escalation) days before the deadline for a kind of case."""
        return self.escalation_days.get(kind) or self.escalation_days.get("default") or (10, 3)

    @property
    def service_url(self) -> str:
        return f"http://{self.service_address}"

    @property
    def codec_url(self) -> str:
        return f"http://{self.codec_address}"

    @property
    def ui_origins(self) -> list[str]:
        """The Web UI's origin as typed in a browser: by address and, locally, by name."""
        origin = self.ui_url.rstrip("/")
        return [origin, origin.replace("127.0.0.1", "localhost")]

    @property
    def extract_dir(self) -> Path:
        return self.var_dir / "extracts"

    @property
    def eid_dir(self) -> Path:
        return self.var_dir / "eid"

    @property
    def outbox_dir(self) -> Path:
        return self.var_dir / "outbox"

    @property
    def register_database_url(self) -> str:
        return self.register_url or f"sqlite+aiosqlite:///{self.var_dir / 'register.db'}"

    def system_url(self, name: str) -> str:
        return self.system_urls.get(name) or (
            f"sqlite+aiosqlite:///{self.var_dir / 'systems' / f'{name}.db'}"
        )

    @property
    def archive_url(self) -> str:
        """The document archive (official documents, offentlighetsprincipen)."""
        return self.document_archive_url or (
            f"sqlite+aiosqlite:///{self.var_dir / 'systems' / 'archive.db'}"
        )

    def all_system_urls(self) -> dict[str, str]:
        return {name: self.system_url(name) for name in SYSTEM_NAMES}

    @property
    def reference_secret(self) -> str:
        """The register's HMAC secret, for the code that computes subject references."""
        return self.subject_reference_secret.get_secret_value()

    @property
    def codec_token_values(self) -> list[str]:
        return [token.get_secret_value() for token in self.codec_tokens]


def load_settings(**values: object) -> Settings:
    """Settings from the environment (and `values`), or a SettingsError whose lines name each
    setting that is wrong and never print what it holds."""
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe(error)) from None
    except SourceError as error:  # not JSON where JSON is needed
        field = re.search(r'field "(\w+)"', str(error))
        name = _env_name(field.group(1)) if field else "a DSR_ setting"
        raise SettingsError(f"{name}: not valid JSON") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
