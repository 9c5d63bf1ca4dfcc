"""The embedded stack: Temporal dev server (Web UI, SQLite under var/), demo systems, worker,
the local identity provider and the case service.

python scripts/stack.py run    # stays up in the foreground until Ctrl-C (make run)
python scripts/stack.py demo   # starts it, drives demo cases through the CLI, stops (make demo)
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
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dsr import search  # noqa: E402
from dsr.binaries import temporal_binary  # noqa: E402
from dsr.config import Settings, get_settings  # noqa: E402
from dsr.idp import (  # noqa: E402
    IdentityProviderError,
    LocalIdentityProvider,
    demo_password,
    device_sign_in,
    start_identity_provider,
)
from dsr.roster import load_roster  # noqa: E402
from systems.demo import DEMO_SUBJECTS, FILLER_SUBJECTS, seed_demo_systems  # noqa: E402
from systems.document_archive import PROTECTED_ADDRESS, seed_archive  # noqa: E402


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
def running_stack(settings: Settings) -> Iterator[None]:
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
        ["--ui-codec-endpoint", f"{settings.codec_url}/t/{settings.codec_tokens[0]}"]
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
        subprocess.run([sys.executable, str(ROOT / "starter.py"), "db", "upgrade"], check=True)
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
            env={**os.environ, "DSR_LOG_FORMAT": "json", "DSR_OIDC_ISSUER": idp.issuer},
            start_new_session=True,
        )
        wait_for_port(service_host, int(service_port), what="the case service")
        time.sleep(1.0)
        if worker.poll() is not None:
            sys.exit(f"the worker stopped at start; see {log_dir / 'worker.log'}")
        yield
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
    print(
        f"Case service: {settings.service_url} (API {settings.service_url}/api/v1, its "
        f"OpenAPI pages at {settings.service_url}/api/docs); sign-in at {settings.oidc_issuer}",
        flush=True,
    )
    logins = ", ".join(f"{login} / {demo_password(login)}" for login in demo_logins(settings))
    print(f"Demo logins (login / password): {logins}", flush=True)


def seed_if_missing(settings: Settings) -> None:
    """Seed the demo systems once, and again whenever the demo schema or data changed."""
    marker = settings.var_dir / "systems" / ".seeded"
    sources = [ROOT / "systems" / name for name in ("demo.py", "document_archive.py")]
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


def quiet_cli(*args: str) -> dict[str, Any]:
    """A CLI command, run as a handler runs it (in this process's environment), whose JSON
    answer is returned and not shown."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "starter.py"), *args, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"command failed: {done.stderr.strip()}")
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def cli(*args: str) -> dict[str, Any]:
    """Run one CLI command as a handler would, show it, and return its JSON answer."""
    print(f"$ python starter.py {shlex.join(args)}", flush=True)
    answer = quiet_cli(*args)
    print(f"  {json.dumps(answer, ensure_ascii=False)[:300]}", flush=True)
    return answer


def wait_for(case_number: str, states: set[str], timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run(
            [sys.executable, str(ROOT / "starter.py"), "status", case_number, "--json"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0:
            current: dict[str, Any] = json.loads(done.stdout)
            if current["state"] in states:
                return current
        if time.monotonic() > deadline:
            sys.exit(f"{case_number} did not reach {sorted(states)} within {timeout:.0f} s")
        time.sleep(0.5)


# What a handler does in each waiting state, to take a demo case to its end ("kind:state"
# first, then the state alone).
HANDLER_STEPS = {
    "erasure:awaiting_decision": ("prepare-erasure-plan",),
    # Four eyes: a second person approves the plan another prepared.
    "erasure:awaiting_approval": ("approve-erasure-plan", "--handler", "cecilia"),
    "awaiting_identity": ("verify-identity", "--method", "id_checked"),
    "awaiting_review": ("approve",),
    "awaiting_decision": ("decide-rectification", "--decision", "accept"),
    "restricted": ("lift-restriction", "--reason", "Tvisten om uppgifterna är avgjord."),
    "awaiting_manual_delivery": (
        "record-manual-delivery",
        "--note",
        "Hämtat på kundcenter mot uppvisad legitimation",
    ),
}

DEMO_CASES = [
    (
        "An access request signed with BankID in the e-service (identity verified)",
        ("access", "--subject", DEMO_SUBJECTS["tolvan"], "--verified-by", "bankid"),
        "anna",
    ),
    (
        "An access request by letter: answered by letter to the address the population "
        "register (SPAR) has, which reaches nobody else, so no identity proof is asked",
        ("access", "--subject", DEMO_SUBJECTS["joint_a"], "--channel", "letter"),
        "bo",
    ),
    (
        "An objection to direct marketing (runs by itself, within seconds)",
        ("objection", "--subject", DEMO_SUBJECTS["marketing_only"]),
        "anna",
    ),
    (
        "A restriction while a dispute about the data is settled (Art. 18(1) c)",
        (
            "restriction",
            "--subject",
            DEMO_SUBJECTS["coordination"],
            "--ground",
            "c",
            "--verified-by",
            "bankid",
        ),
        "anna",
    ),
    (
        "A rectification of address and e-mail, processing restricted while it is checked",
        (
            "rectification",
            "--subject",
            DEMO_SUBJECTS["joint_b"],
            "--change",
            "street=Lindvägen 12",
            "--change",
            "email=nytt@example.se",
            "--evidence",
            "Flyttanmälan",
            "--restrict",
            "--verified-by",
            "bankid",
        ),
        "bo",
    ),
    (
        "A portability request: provided and observed data as JSON and CSV",
        ("portability", "--subject", DEMO_SUBJECTS["joint_a"], "--verified-by", "bankid"),
        "bo",
    ),
    (
        "An erasure: what the law lets go goes, the rest is kept restricted until its date",
        ("erasure", "--subject", FILLER_SUBJECTS["akesson"], "--verified-by", "bankid"),
        "anna",
    ),
    (
        "An access request that reached us 40 days ago and is registered only now: reminder, "
        "escalation and overdue fire at once, in order",
        (
            "access",
            "--subject",
            FILLER_SUBJECTS["holm"],
            "--verified-by",
            "bankid",
            "--received",
            (date.today() - timedelta(days=40)).isoformat(),
        ),
        "bo",
    ),
]


def drive_to_end(case_number: str, handler: str) -> dict[str, Any]:
    """Take a case from wherever it is to closed, as a handler would."""
    while True:
        states = {"closed", *(key.rpartition(":")[2] for key in HANDLER_STEPS)}
        current = wait_for(case_number, states)
        if current["state"] == "closed":
            return current
        step = HANDLER_STEPS.get(f"{current['kind']}:{current['state']}")
        command, *options = step or HANDLER_STEPS[current["state"]]
        if "--handler" not in options:
            options += ["--handler", handler]
        cli(command, case_number, *options)


def public_access_demo(settings: Settings, handler: str) -> str:
    """An anonymous request for official documents, reviewed for secrecy and released with a
    protected address masked; returns a line for the summary."""
    print(
        "\n9. An anonymous request for official documents (offentlighetsprincipen): letters "
        "about moving an electricity meter, copies by e-mail:"
    )
    case = cli(
        "request-documents",
        "--description",
        "Skrivelser om flytt av elmätare",
        "--type",
        "correspondence",
        "--text",
        "elmätare",
        "--email",
        "begaran@example.org",
        "--handler",
        handler,
    )
    number = case["case_number"]
    wait_for(number, {"awaiting_confirmation"})
    found = cli("documents", number)
    first = found["candidates"][0]
    cli("confirm-documents", number, "--document", str(first["document_id"]), "--handler", handler)
    wait_for(number, {"secrecy_review"})
    print(f"The reviewer reads document {first['document_id']} (show-document) and masks the")
    print("name and the protected address (OSL 21:3); the rest of the letter is released:")
    cli(
        "review-document",
        number,
        str(first["document_id"]),
        "--mask",
        f"{PROTECTED_ADDRESS}=OSL 21:3",
        "--mask",
        "Sanna Ek=OSL 21:3",
        "--handler",
        handler,
    )
    wait_for(number, {"awaiting_review"})
    print("Before anything goes, the handler looks at exactly what the requester will receive")
    print("(preview-copies) and sends it:")
    quiet_cli("preview-copies", number)
    cli("approve", number, "--handler", handler)
    answered = wait_for(number, {"awaiting_decision_request", "closed"})
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


def show_archive_in_answer(result: dict[str, Any]) -> None:
    """The first access answer searched the whole organisation: show where, and the archive's
    documents it lists, each copy with the other people it names masked (Art. 15(4))."""
    delivered = Path(result["delivery"]["location"]) / "extract.json"
    answer = json.loads(delivered.read_text())
    places = ", ".join(place["title"] for place in answer["places_searched"])
    print(f"  {result['case_number']} searched: {places}")
    for document in (answer.get("documents") or {}).get("documents", []):
        print(f"    archive: {document['date']} {document['type']}: {document['title']}")
        if document["masked"]:
            print(f"      copy: {' '.join(document['copy'].split())[:200]}")


def demo(settings: Settings) -> None:
    with running_stack(settings):
        run_demo(settings)
        print("The demo stack is stopped; `make run` keeps it up for the UI.")


def run_demo(settings: Settings) -> None:
    """Every kind of request, through the CLI, on a running stack."""
    submitted = []
    for number, (title, args, handler) in enumerate(DEMO_CASES, start=1):
        print(f"\n{number}. {title}:")
        case = cli("submit", *args, "--handler", handler)
        submitted.append((case["case_number"], handler))
    print('\nA supervisor looks for overdue cases (the Web UI\'s DsrEscalation="overdue"):')
    overdue: list[str] = []
    for _ in range(60):
        overdue = [row["case_number"] for row in quiet_cli("list", "--overdue")["cases"]]
        if overdue:
            break
        time.sleep(0.5)
    cli("list", "--overdue")
    print("\nThe handlers drive every case to its end:")
    results = [drive_to_end(case_number, handler) for case_number, handler in submitted]
    public_line = public_access_demo(settings, "anna")
    print("\nDone:")
    for result in results:
        where = ""
        if result.get("extract_path"):
            where = (
                f", extract {result['extract_path']}, delivered to {result['delivery']['location']}"
            )
        elif result.get("recipients_notified"):
            where = f", recipients told: {', '.join(result['recipients_notified'])}"
        elif result.get("erasure_plan"):
            kept = [i for i in result["erasure_plan"] if i["action"] == "keep"]
            where = (
                f", {len(result['erasure_plan']) - len(kept)} tables erased, {len(kept)} "
                f"kept; a follow-up ({result['case_number']}-retention) erases them later"
            )
        delivery = result.get("delivery") or {}
        if delivery.get("method") == "letter":
            envelope = (Path(delivery["location"]) / "address.txt").read_text().splitlines()
            where += f"; addressed from the population register: {' / '.join(envelope)}"
        if result.get("escalation") not in (None, "none"):
            where += f"; escalation: {result['escalation']} (staff notices in the outbox)"
        print(f"  {result['case_number']} ({result['kind']}): {result['outcome']}{where}")
    print(public_line)
    show_archive_in_answer(results[0])
    print(f"  Notices to subjects, recipients and staff: {settings.outbox_dir}")
    service_demo(settings, results[0]["case_number"])
    print(
        f"\nWeb UI: {settings.ui_url}/namespaces/{settings.temporal_namespace}/workflows"
        "?query=DsrKind%3D%22access%22"
    )


def service_demo(settings: Settings, case_number: str) -> None:
    """The case service: a signed-in person reads a case; nobody else can."""
    print(
        "\nThe case service: anna signs in with the device flow (the demo types her password "
        "into the identity provider's page) and reads a case through the API:"
    )
    token = device_sign_in(settings.oidc_issuer, "anna")
    base = f"{settings.service_url}/api/v1"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as api:
        print(f"  GET {base}/me -> {api.get('/me').json()}")
        status = api.get(f"/cases/{case_number}").json()
        print(f"  GET {base}/cases/{case_number} -> {status['state']}, {status['outcome']}")
    refused = httpx.get(f"{base}/cases/{case_number}")
    print(f"  Without a token: {refused.status_code} {refused.json()['detail']}")
    print_sign_in(settings)


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
        print("Handlers: python starter.py --help. Stop with Ctrl-C.", flush=True)
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
    commands[sys.argv[1]](get_settings())
