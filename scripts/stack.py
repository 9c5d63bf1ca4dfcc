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

import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.config import Settings, get_settings  # noqa: E402
from scripts.demo_cases import demo  # noqa: E402
from scripts.embedded import print_sign_in, running_stack  # noqa: E402


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
