"""The case handler's command line (also installed as `dsr`): a client of the case service.

`dsr login` signs in (the device flow, with the organisation's identity provider); every other
command then acts as that person through the service's API (DSR_SERVICE_URL, default
http://127.0.0.1:8300). Data-subject requests (GDPR) are registered with `submit KIND`;
requests for official documents (offentlighetsprincipen) with `request-documents`. Every
command takes --json for scripts. Bad input prints one line on stderr, exits non-zero and
changes nothing. The commands are in cli/main.py; operators migrate the register with
`python -m infra.migrate upgrade`.
"""

from __future__ import annotations

from cli.main import main

if __name__ == "__main__":
    main()
