"""python -m service: the case service on DSR_SERVICE_ADDRESS (uvicorn)."""

from __future__ import annotations

import uvicorn

from dsr.client import ConnectionSettingsError, tls_config
from dsr.config import get_settings
from dsr.logging import configure_logging
from service.app import create_app


def main() -> None:
    settings = get_settings()
    configure_logging()
    try:
        # A TLS file that cannot be read: one line naming the setting, before anything starts.
        tls_config(settings)
    except ConnectionSettingsError as error:
        raise SystemExit(f"service not started: {error}") from None
    host, port = settings.service_address.rsplit(":", 1)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=int(port),
        log_level="warning",
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
