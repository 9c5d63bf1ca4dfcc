"""The embedded stack: Temporal dev server (Web UI, SQLite under var/), demo systems, worker,
the local identity provider and the case service.

python scripts/stack.py run    # stays up in the foreground until Ctrl-C (make run)
python scripts/stack.py demo   # starts it, drives demo cases through the CLI, stops (make demo)

The demo's people sign in as a handler does, once each: `python starter.py login` (the device
flow; the demo types their password into the identity provider's page), their sign-in kept in
a config directory of their own under var/sign-ins/. Every CLI command then runs as one of
them, with nothing of the engine in its environment: only the case service's address and
where the sign-in is kept. Requests signed with BankID come in through the e-service's door of
the service, as the customer e-service sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cli.signin import DEFAULT_SERVICE_URL  # noqa: E402
from contract import search  # noqa: E402
from contract.case import CaseState  # noqa: E402
from contract.roles import Role  # noqa: E402
from contract.vocabulary import Kind  # noqa: E402
from demo.archive import PROTECTED_ADDRESS, seed_archive  # noqa: E402
from demo.people import DEMO_SUBJECTS, FILLER_SUBJECTS  # noqa: E402
from demo.systems import seed_demo_systems  # noqa: E402
from infra.binaries import temporal_binary  # noqa: E402
from infra.config import Settings, get_settings  # noqa: E402
from infra.idp import (  # noqa: E402
    ESERVICE_CLIENT,
    IdentityProviderError,
    LocalIdentityProvider,
    command_line_sign_in,
    demo_password,
    device_sign_in,
    start_identity_provider,
)
from infra.outbox import FakeEidProvider  # noqa: E402
from infra.roster import holding, load_roster  # noqa: E402
from service.steps import WAITING, step_for  # noqa: E402


def port_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, *, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if time.monotonic() > deadline:
            sys.exit(f"{what} did not come up on {host}:{port} within {timeout:.0f} s")
        time.sleep(0.3)


@contextlib.contextmanager
def running_stack(settings: Settings) -> Iterator[Stack]:
    """The stack up until the block ends; what it yields signs people in and acts as them."""
    host, port = settings.temporal_address.rsplit(":", 1)
    if port_open(host, int(port)):
        sys.exit(
            f"something already listens on {settings.temporal_address}: is `make run` up? "
            "Stop it first (Ctrl-C in its terminal)."
        )
    log_dir = settings.var_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    ui_port = settings.ui_url.rsplit(":", 1)[1].strip("/")
    codec_host, codec_port = settings.codec_address.rsplit(":", 1)
    # The UI cannot send a bearer token without an identity provider: in development its codec
    # endpoint carries one in the path (the codec server refuses that in production).
    codec_flags = (
        ["--ui-codec-endpoint", f"{settings.codec_url}/t/{settings.codec_token_values[0]}"]
        if settings.payload_encryption
        else []
    )
    server = subprocess.Popen(
        [
            temporal_binary(),
            "server",
            "start-dev",
            "--ip",
            host,
            "--port",
            port,
            "--ui-port",
            ui_port,
            "--db-filename",
            str(settings.var_dir / "temporal.db"),
            "--namespace",
            settings.temporal_namespace,
            "--log-level",
            "warn",
            *search.cli_flags(),
            *codec_flags,
        ],
        stdout=open(log_dir / "temporal.log", "ab"),  # noqa: SIM115 - lives as long as the server
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker: subprocess.Popen[bytes] | None = None
    codec: subprocess.Popen[bytes] | None = None
    service: subprocess.Popen[bytes] | None = None
    idp: LocalIdentityProvider | None = None
    try:
        wait_for_port(host, int(port), what="the Temporal dev server")
        wait_for_port(host, int(ui_port), what="the Temporal Web UI")
        seed_if_missing(settings)
        # As an operator does before starting workers of a new version.
        subprocess.run([sys.executable, "-m", "infra.migrate", "upgrade"], check=True)
        worker = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")],
            stdout=open(log_dir / "worker.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            env={**os.environ, "DSR_LOG_FORMAT": "json"},
            start_new_session=True,
        )
        if settings.payload_encryption:
            if port_open(codec_host, int(codec_port)):
                sys.exit(f"something already listens on {settings.codec_address} (codec server)")
            codec = subprocess.Popen(
                [sys.executable, str(ROOT / "codec_server.py")],
                stdout=open(log_dir / "codec_server.log", "ab"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
                env={**os.environ, "DSR_LOG_FORMAT": "json"},
                start_new_session=True,
            )
            wait_for_port(codec_host, int(codec_port), what="the codec server")
        idp = local_identity_provider(settings, log_dir)
        service_host, service_port = settings.service_address.rsplit(":", 1)
        if port_open(service_host, int(service_port)):
            sys.exit(f"something already listens on {settings.service_address} (case service)")
        service = subprocess.Popen(
            [sys.executable, "-m", "service"],
            cwd=ROOT,
            stdout=open(log_dir / "service.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "DSR_LOG_FORMAT": "json",
                "DSR_OIDC_ISSUER": idp.issuer,
                # The console's sign-in: the local provider's secret for it, made at its start.
                "DSR_OIDC_CONSOLE_CLIENT_SECRET": idp.console_secret,
                "DSR_CONSOLE_URL": settings.service_url,
            },
            start_new_session=True,
        )
        wait_for_port(service_host, int(service_port), what="the case service")
        time.sleep(1.0)
        if worker.poll() is not None:
            sys.exit(f"the worker stopped at start; see {log_dir / 'worker.log'}")
        yield Stack(settings, idp)
    finally:
        if idp is not None:
            idp.stop()
        for process in (service, codec, worker, server):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (service, codec, worker, server):
            if process is not None:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


def local_identity_provider(settings: Settings, log_dir: Path) -> LocalIdentityProvider:
    """The local OpenID Connect provider at the configured issuer's port, the roster's staff
    as its users."""
    port = int(settings.oidc_issuer.rstrip("/").rsplit(":", 1)[1])
    if port_open("127.0.0.1", port):
        sys.exit(f"something already listens on {settings.oidc_issuer} (identity provider)")
    try:
        return start_identity_provider(
            demo_logins(settings),
            console_redirects=[f"{settings.service_url}/auth/callback"],
            port=port,
            log=open(log_dir / "idp.log", "a"),  # noqa: SIM115 - lives as long as the provider
        )
    except IdentityProviderError as error:
        sys.exit(str(error))


def demo_logins(settings: Settings) -> list[str]:
    return list(load_roster(settings.roster).staff)


def print_sign_in(settings: Settings) -> None:
    """Where the web console and the API are, how a person signs in, and the demo logins."""
    print(
        f"Web console: {settings.service_url}/ (sign in in a browser with a demo login below); "
        f"the API at {settings.service_url}/api/v1 (described in "
        f"{settings.service_url}/api/v1/openapi.json); sign-in at {settings.oidc_issuer}",
        flush=True,
    )
    prefix = (
        ""
        if settings.service_url == DEFAULT_SERVICE_URL
        else f"DSR_SERVICE_URL={settings.service_url} "
    )
    print(
        f"At the command line, sign in first: {prefix}python starter.py login (open the page it "
        "shows, enter the code, sign in with a demo login); every command then acts as you.",
        flush=True,
    )
    logins = ", ".join(f"{login} / {demo_password(login)}" for login in demo_logins(settings))
    print(f"Demo logins (login / password): {logins}", flush=True)


# --- people at the command line, and the customer e-service ---------------------------------

STARTER = ROOT / "starter.py"


@dataclass(frozen=True)
class Person:
    """Someone at the command line in front of the stack's case service: `starter.py` as they
    run it, with their sign-in (kept under `home`) and nothing of the engine in its
    environment."""

    login: str
    service_url: str
    home: Path

    @property
    def env(self) -> dict[str, str]:
        kept = {key: value for key, value in os.environ.items() if not key.startswith("DSR_")}
        return {**kept, "DSR_SERVICE_URL": self.service_url, "XDG_CONFIG_HOME": str(self.home)}

    def sign_in(self) -> list[str]:
        """`python starter.py login`, and the person's part in the identity provider's page
        (the demo types their password); the lines the command printed."""
        try:
            return command_line_sign_in(self.env, self.login)
        except IdentityProviderError as error:
            sys.exit(str(error))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(STARTER), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def quiet(self, *args: str) -> dict[str, Any]:
        """A CLI command as this person, whose JSON answer is returned and not shown."""
        done = self.run(*args, "--json")
        if done.returncode != 0:
            sys.exit(f"{self.login}: starter.py {args[0]} failed: {done.stderr.strip()}")
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    def cli(self, *args: str) -> dict[str, Any]:
        """Run one CLI command as this person, show it, and return its JSON answer."""
        print(f"{self.login}$ python starter.py {shlex.join(args)}", flush=True)
        answer = self.quiet(*args)
        print(f"  {json.dumps(answer, ensure_ascii=False)[:300]}", flush=True)
        return answer

    def wait_for(self, case_number: str, states: set[str], timeout: float = 60.0) -> dict[str, Any]:
        """The case's status once it is in one of `states` (`status` as this person)."""
        deadline = time.monotonic() + timeout
        while True:
            done = self.run("status", case_number, "--json")
            if done.returncode == 0:
                current: dict[str, Any] = json.loads(done.stdout)
                if current["state"] in states:
                    return current
            if time.monotonic() > deadline:
                sys.exit(f"{case_number} did not reach {sorted(states)} within {timeout:.0f} s")
            time.sleep(0.5)


@dataclass
class Stack:
    """The running stack: its settings, its identity provider, and the people signed in to its
    case service (each once in the stack's life: the provider's keys are made at each start,
    so an earlier run's sign-in is worth nothing)."""

    settings: Settings
    idp: LocalIdentityProvider
    people: dict[str, Person] = field(default_factory=dict)

    def person(self, login: str) -> Person:
        """`login` at the command line, signed in (the first time by `starter.py login`)."""
        if login not in self.people:
            self.sign_in(login)
        return self.people[login]

    def sign_in(self, *logins: str) -> None:
        """Sign these people in side by side (each waits out the provider's polling interval),
        each in a config directory of their own under var/sign-ins/."""
        new = [
            Person(login, self.settings.service_url, self.settings.var_dir / "sign-ins" / login)
            for login in dict.fromkeys(logins)
            if login not in self.people
        ]
        if not new:
            return
        with ThreadPoolExecutor(max_workers=len(new)) as pool:
            said = list(pool.map(Person.sign_in, new))
        for person, lines in zip(new, said, strict=True):
            print(f"{person.login}$ python starter.py login", flush=True)
            for line in lines:
                print(f"  {line}", flush=True)
            self.people[person.login] = person

    def eservice_token(self) -> str:
        """The customer e-service's access token (OAuth 2.0 client credentials)."""
        with httpx.Client(timeout=10) as http:
            issuer = self.idp.issuer
            metadata = http.get(f"{issuer}/.well-known/openid-configuration").json()
            answer = http.post(
                metadata["token_endpoint"],
                data={"grant_type": "client_credentials", "scope": "api"},
                auth=(ESERVICE_CLIENT, self.idp.eservice_secret),
            )
        if answer.status_code != 200:
            sys.exit(f"the e-service could not sign in: {answer.status_code} {answer.text[:200]}")
        return str(answer.json()["access_token"])

    def eservice_submit(
        self, kind: str, subject: str, details: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A request the person signed with BankID in the customer e-service, sent to the case
        service's e-service door with BankID's answer for the completed order as its proof
        (the service checks it with the e-ID provider); shown, and its receipt returned."""
        provider = FakeEidProvider(self.settings.eid_dir)
        proof = asyncio.run(provider.completion_data(provider.sign(subject)))
        url = f"{self.settings.service_url}/api/v1/eservice/requests"
        body = {"kind": kind, "details": details or {}, "eid": proof}
        shown = {"kind": kind, "details": details or {}, "eid": "<BankID: completed order>"}
        print(f"e-service$ POST {url} {json.dumps(shown, ensure_ascii=False)}", flush=True)
        headers = {"Authorization": f"Bearer {self.eservice_token()}"}
        answer = httpx.post(url, json=body, headers=headers, timeout=90)
        if answer.status_code != 201:
            sys.exit(
                f"the e-service's request was refused: {answer.status_code} {answer.text[:300]}"
            )
        receipt: dict[str, Any] = answer.json()
        print(f"  {json.dumps(receipt, ensure_ascii=False)}", flush=True)
        return receipt


def seed_if_missing(settings: Settings) -> None:
    """Seed the demo systems once, and again whenever the demo schema or data changed."""
    marker = settings.var_dir / "systems" / ".seeded"
    sources = sorted((ROOT / "demo").glob("*.py")) + [ROOT / "systems" / "document_archive.py"]
    version = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()
    if marker.exists() and marker.read_text().strip() == version:
        return
    print(
        "Seeding the demo systems (billing, network, marketing, disclosure log, document "
        "archive) ...",
        flush=True,
    )
    asyncio.run(seed_demo_systems(settings.all_system_urls()))
    asyncio.run(seed_archive(settings.archive_url))
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(version + "\n")


# --- the demo ---------------------------------------------------------------------------------

# What is done in each waiting state to take a demo case to its end: service/steps.py's table
# (the load benchmark follows it too), at the command line. Each step is the command of its
# action (the CLI names approve_release `approve`), the body's fields as options.
CLI_COMMANDS = {"approve_release": "approve"}


def demo_step(kind: str, state: str, handler: str) -> tuple[str, list[str]] | None:
    """Who takes the step a demo case waiting in `state` needs, and the command line."""
    step = step_for(Kind(kind), CaseState(state))
    if step is None:
        return None
    command = CLI_COMMANDS.get(step.update, step.action.path)
    options = [part for name, value in step.body.items() for part in (f"--{name}", value)]
    who = step.taken_by(handler, holding(get_settings().roster, Role.TEAM_LEAD))
    return who, [command, *options]


# Who gives the e-service's requests (which come in unassigned) to a handler.
TEAM_LEAD = "bo"
SUPERVISOR = "bo"
# The demo's people, signed in once each at the start.
DEMO_PEOPLE = ("anna", "bo", "cecilia")


@dataclass(frozen=True)
class DemoCase:
    """A demo request: signed with BankID in the e-service (`details` is what it sends), or
    registered by its handler at the command line (`options`, after `submit KIND`)."""

    title: str
    kind: str
    subject: str
    handler: str
    bankid: bool = False
    options: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


DEMO_CASES = [
    DemoCase(
        "An access request signed with BankID in the e-service (identity verified)",
        "access",
        DEMO_SUBJECTS["tolvan"],
        "anna",
        bankid=True,
    ),
    DemoCase(
        "An access request by letter: answered by letter to the address the population "
        "register (SPAR) has, which reaches nobody else, so no identity proof is asked",
        "access",
        DEMO_SUBJECTS["joint_a"],
        "bo",
        options=("--channel", "letter"),
    ),
    DemoCase(
        "An objection to direct marketing (runs by itself, within seconds)",
        "objection",
        DEMO_SUBJECTS["marketing_only"],
        "anna",
    ),
    DemoCase(
        "A restriction while a dispute about the data is settled (Art. 18(1) c), signed with "
        "BankID in the e-service",
        "restriction",
        DEMO_SUBJECTS["coordination"],
        "anna",
        bankid=True,
        details={"restriction_ground": "c"},
    ),
    DemoCase(
        "A rectification of address and e-mail, processing restricted while it is checked, "
        "signed with BankID in the e-service",
        "rectification",
        DEMO_SUBJECTS["joint_b"],
        "bo",
        bankid=True,
        details={
            "changes": [
                {"field": "street", "new_value": "Lindvägen 12", "evidence": "Flyttanmälan"},
                {"field": "email", "new_value": "nytt@example.se", "evidence": "Flyttanmälan"},
            ],
            "restrict_while_checking": True,
        },
    ),
    DemoCase(
        "A portability request signed with BankID in the e-service: provided and observed data "
        "as JSON and CSV",
        "portability",
        DEMO_SUBJECTS["joint_a"],
        "bo",
        bankid=True,
    ),
    DemoCase(
        "An erasure asked for at the customer centre, where the handler checks the ID: what "
        "the law lets go goes, the rest is kept restricted until its date",
        "erasure",
        FILLER_SUBJECTS["akesson"],
        "anna",
        options=("--channel", "in-person"),
    ),
    DemoCase(
        "An access request that reached us 40 days ago and is registered only now: reminder, "
        "escalation and overdue fire at once, in order",
        "access",
        FILLER_SUBJECTS["holm"],
        "bo",
        options=("--received", (date.today() - timedelta(days=40)).isoformat()),
    ),
]


def register(stack: Stack, case: DemoCase) -> str:
    """The demo request registered as it comes in; its case number."""
    if case.bankid:
        receipt = stack.eservice_submit(case.kind, case.subject, case.details)
        number = str(receipt["case_number"])
        # The e-service's requests come in unassigned: a team lead gives each to a handler.
        stack.person(TEAM_LEAD).cli("reassign", number, "--to", case.handler)
        return number
    answer = stack.person(case.handler).cli(
        "submit", case.kind, "--subject", case.subject, *case.options, "--assign", case.handler
    )
    return str(answer["case_number"])


def drive_to_end(stack: Stack, case_number: str, handler: str) -> dict[str, Any]:
    """Take a case from wherever it is to closed, as its handler (and a second pair of eyes
    where the law wants one) would."""
    states = {"closed", *(state.value for state in WAITING)}
    while True:
        current = stack.person(handler).wait_for(case_number, states)
        if current["state"] == "closed":
            return current
        step = demo_step(current["kind"], current["state"], handler)
        if step is None:
            sys.exit(f"{case_number} waits in {current['state']}, which the demo has no step for")
        who, (command, *options) = step
        stack.person(who).cli(command, case_number, *options)


def public_access_demo(stack: Stack, handler: str) -> str:
    """An anonymous request for official documents, reviewed for secrecy and released with a
    protected address masked; returns a line for the summary."""
    settings, person = stack.settings, stack.person(handler)
    print(
        "\n9. An anonymous request for official documents (offentlighetsprincipen): letters "
        "about moving an electricity meter, copies by e-mail:"
    )
    case = person.cli(
        "request-documents",
        "--description",
        "Skrivelser om flytt av elmätare",
        "--type",
        "correspondence",
        "--text",
        "elmätare",
        "--email",
        "begaran@example.org",
        "--assign",
        handler,
    )
    number = case["case_number"]
    person.wait_for(number, {"awaiting_confirmation"})
    found = person.cli("documents", number)
    first = found["candidates"][0]
    person.cli("confirm-documents", number, "--document", str(first["document_id"]))
    person.wait_for(number, {"secrecy_review"})
    print(f"The reviewer reads document {first['document_id']} (show-document) and masks the")
    print("name and the protected address (OSL 21:3); the rest of the letter is released:")
    person.quiet("show-document", number, str(first["document_id"]))
    person.cli(
        "review-document",
        number,
        str(first["document_id"]),
        "--mask",
        f"{PROTECTED_ADDRESS}=OSL 21:3",
        "--mask",
        "Sanna Ek=OSL 21:3",
    )
    person.wait_for(number, {"awaiting_review"})
    print("Before anything goes, the handler looks at exactly what the requester will receive")
    print("(preview-copies) and sends it:")
    person.quiet("preview-copies", number)
    person.cli("approve", number)
    answered = person.wait_for(number, {"awaiting_decision_request", "closed"})
    copies = settings.outbox_dir / "email" / f"{number}-copies"
    released = next(copies.glob("handling-*.txt"))
    print(f"  The copy sent: {released}")
    for line in released.read_text().splitlines():
        print(f"    {line}")
    public = answered["public"]
    return (
        f"  {number} (public_access): released with masks, {public['pages']} pages, fee "
        f"{public['fee_sek']} kr; now {answered['state']} (the requester may ask for a formal, "
        "appealable decision)"
    )


def show_archive_in_answer(person: Person, result: dict[str, Any]) -> None:
    """The first access answer searched the whole organisation: show where, and the archive's
    documents it lists, each copy with the other people it names masked (Art. 15(4)). The
    handler reads it through the service (show-extract), which records the reading."""
    done = person.run("show-extract", result["case_number"], "--json-file")
    if done.returncode != 0:
        sys.exit(f"{person.login}: show-extract failed: {done.stderr.strip()}")
    answer = json.loads(done.stdout)
    places = ", ".join(place["title"] for place in answer["places_searched"])
    print(
        f"  {result['case_number']} searched (read by {person.login} with show-extract "
        f"--json-file): {places}"
    )
    for document in (answer.get("documents") or {}).get("documents", []):
        print(f"    archive: {document['date']} {document['type']}: {document['title']}")
        if document["masked"]:
            print(f"      copy: {' '.join(document['copy'].split())[:200]}")


def demo(settings: Settings) -> None:
    with running_stack(settings) as stack:
        run_demo(stack)


def summary_line(result: dict[str, Any]) -> str:
    """One closed case, for the summary."""
    where = ""
    delivery = result.get("delivery") or {}
    if result.get("extract") and delivery:
        extract = result["extract"]
        where = (
            f", extract of {extract['rows']} rows from {len(extract['systems'])} systems "
            f"(sealed), delivered by {delivery['method']} to {delivery['location']}"
        )
    elif result.get("recipients_notified"):
        where = f", recipients told: {', '.join(result['recipients_notified'])}"
    elif result.get("erasure_plan"):
        kept = [i for i in result["erasure_plan"] if i["action"] == "keep"]
        where = (
            f", {len(result['erasure_plan']) - len(kept)} tables erased, {len(kept)} "
            f"kept; a follow-up ({result['case_number']}-retention) erases them later"
        )
    if delivery.get("method") == "letter":
        envelope = (Path(delivery["location"]) / "address.txt").read_text().splitlines()
        where += f"; addressed from the population register: {' / '.join(envelope)}"
    if result.get("escalation") not in (None, "none"):
        where += f"; escalation: {result['escalation']} (staff notices in the outbox)"
    by = f", {result['assignee']}" if result.get("assignee") else ""
    return f"  {result['case_number']} ({result['kind']}{by}): {result['outcome']}{where}"


def run_demo(stack: Stack) -> None:
    """Every kind of request, through the e-service's door and the CLI, on a running stack."""
    settings = stack.settings
    print(
        "\nThe demo's people sign in at the command line, once each, as a handler does (the "
        "device flow; the demo types each one's password into the identity provider's page):"
    )
    stack.sign_in(*DEMO_PEOPLE)
    submitted = []
    for number, case in enumerate(DEMO_CASES, start=1):
        print(f"\n{number}. {case.title}:")
        submitted.append((register(stack, case), case.handler))
    supervisor = stack.person(SUPERVISOR)
    print('\nA supervisor looks for overdue cases (the Web UI\'s DsrEscalation="overdue"):')
    for _ in range(60):
        if supervisor.quiet("list", "--overdue")["cases"]:
            break
        time.sleep(0.5)
    supervisor.cli("list", "--overdue")
    print("\nThe handlers drive every case to its end:")
    results = [drive_to_end(stack, case_number, handler) for case_number, handler in submitted]
    public_line = public_access_demo(stack, "anna")
    print("\nDone:")
    for result in results:
        print(summary_line(result))
    print(public_line)
    show_archive_in_answer(stack.person(results[0].get("assignee") or "anna"), results[0])
    print(f"  Notices to subjects, recipients and staff: {settings.outbox_dir}")
    service_demo(settings, results[0]["case_number"])
    left = leave_for_the_console(stack)
    print(
        f"\nWeb UI: {settings.ui_url}/namespaces/{settings.temporal_namespace}/workflows"
        "?query=DsrKind%3D%22access%22"
    )
    print(
        f"\nThe demo stack stops now; `make run` brings it up again, the {len(left)} cases above "
        "open in the console."
    )
    print_sign_in(settings)


# Cases the demo leaves open, each waiting for a person in the console: (title, who registers
# it, kind, subject, options of `submit`, each step before it is left as the state it is
# taken in and the command, the state it is left in).
LEFT_OPEN: list[tuple[str, str, str, str, tuple[str, ...], tuple[tuple[str, ...], ...], str]] = [
    (
        "waits for identity proof (protected personal data)",
        "anna",
        "access",
        DEMO_SUBJECTS["protected"],
        ("--assign", "anna"),
        (),
        "awaiting_identity",
    ),
    (
        "waits for anna to review the extract",
        "anna",
        "access",
        FILLER_SUBJECTS["sjoberg"],
        ("--assign", "anna", "--deliver-elsewhere"),
        (("awaiting_identity", "verify-identity", "--method", "id_checked"),),
        "awaiting_review",
    ),
    (
        "erasure plan prepared by anna, waits for a team lead's approval (bo or cecilia)",
        "anna",
        "erasure",
        FILLER_SUBJECTS["nystrom"],
        ("--assign", "anna", "--channel", "in-person"),
        (
            ("awaiting_identity", "verify-identity", "--method", "id_checked"),
            ("awaiting_decision", "prepare-erasure-plan"),
        ),
        "awaiting_approval",
    ),
    (
        "unassigned, in every handler's inbox",
        "bo",
        "erasure",
        FILLER_SUBJECTS["hassan"],
        ("--channel", "letter"),
        (),
        "awaiting_identity",
    ),
]


# Where a case waits for a person (or for nobody any more).
WAITING_FOR_A_PERSON = {
    "closed",
    "awaiting_identity",
    "awaiting_review",
    "awaiting_decision",
    "awaiting_approval",
    "awaiting_manual_delivery",
    "restricted",
    "retaining",
}


def leave_for_the_console(stack: Stack) -> list[str]:
    """A few cases left open where a person acts next, to be seen in the console; one line
    each."""
    print("\nLeft open for the web console, each waiting for a person:")
    lines = []
    for title, who, kind, subject, options, steps, left in LEFT_OPEN:
        person = stack.person(who)
        # A demo run before left it open already (one open case per subject and kind): as it
        # was left, or as someone has taken it on since in the console.
        number = str(person.quiet("submit", kind, "--subject", subject, *options)["case_number"])
        state = person.wait_for(number, WAITING_FOR_A_PERSON)["state"]
        for step_state, command, *more in steps:
            if state == step_state:
                person.quiet(command, number, *more)
                state = person.wait_for(number, WAITING_FOR_A_PERSON - {step_state})["state"]
        if state != left:
            title += f" (now {state}: taken on in the console since)"
        lines.append(f"  {number} ({kind}): {title}")
        print(lines[-1], flush=True)
    return lines


def service_demo(settings: Settings, case_number: str) -> None:
    """The case service: a signed-in person reads a case; nobody else can."""
    print(
        "\nThe case service's API itself: anna signs in with the device flow and reads a case "
        "with her token; without one the service answers nothing:"
    )
    token = device_sign_in(settings.oidc_issuer, "anna")
    base = f"{settings.service_url}/api/v1"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as api:
        print(f"  GET {base}/me -> {api.get('/me').json()}")
        status = api.get(f"/cases/{case_number}").json()
        print(f"  GET {base}/cases/{case_number} -> {status['state']}, {status['outcome']}")
    refused = httpx.get(f"{base}/cases/{case_number}")
    print(f"  Without a token: {refused.status_code} {refused.json()['detail']}")


def run(settings: Settings) -> None:
    with running_stack(settings):
        print(
            f"Temporal {settings.temporal_address}, Web UI {settings.ui_url}, "
            f"worker on task queue {settings.task_queue!r}. Logs in {settings.var_dir / 'log'}."
        )
        if settings.payload_encryption:
            print(
                f"Payloads are sealed; the Web UI reads them through the codec server at "
                f"{settings.codec_url}, and so does `temporal workflow show --codec-endpoint "
                f"{settings.codec_url} --codec-auth 'Bearer <token>'`."
            )
        print_sign_in(settings)
        print(
            "Handlers: python starter.py --help (after python starter.py login). Stop with Ctrl-C.",
            flush=True,
        )
        stop = False

        def _stop(*_: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, _stop)
        try:
            while not stop:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        print("\nStopping ...")


if __name__ == "__main__":
    commands = {"run": run, "demo": demo}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    # The embedded stack is development's (its secrets are public), said for every process it
    # starts; the settings' own default is production.
    os.environ.setdefault("DSR_ENVIRONMENT", "development")
    commands[sys.argv[1]](get_settings())
