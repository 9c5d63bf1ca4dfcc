"""python -m service: the case service on DSR_SERVICE_ADDRESS (uvicorn)."""

from __future__ import annotations

import uvicorn

from infra.client import ConnectionSettingsError, tls_config
from infra.config import SettingsError, get_settings
from infra.logging import configure_logging
from infra.plugins import AdapterError
from service.app import create_app


def main() -> None:
    try:
        settings = get_settings()
        configure_logging()
        # A TLS file that cannot be read: one line naming the setting, before anything starts.
        tls_config(settings)
        app = create_app(settings)
    except (SettingsError, ConnectionSettingsError, AdapterError) as error:
        raise SystemExit(f"service not started: {error}") from None
    host, port = settings.service_address.rsplit(":", 1)
    uvicorn.run(
        app,
        host=host,
        port=int(port),
        log_level="warning",
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
