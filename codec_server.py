"""The codec server: settings -> logging -> the encryption codec -> HTTP on DSR_CODEC_ADDRESS.

The Web UI and `temporal workflow show --codec-endpoint ... --codec-auth "Bearer <token>"` use
it to read what the engine sealed; see dsr/codec_server.py.
"""

from __future__ import annotations

import structlog
from aiohttp import web

from dsr.codec import EncryptionCodec
from dsr.codec_server import create_app
from dsr.config import SettingsError, get_settings
from dsr.logging import configure_logging

log = structlog.get_logger("codec_server")


def main() -> None:
    try:
        settings = get_settings()
    except SettingsError as error:
        raise SystemExit(f"codec server not started: {error}") from None
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    ring = settings.key_ring()
    if ring is None:
        raise SystemExit("payload encryption is off: there is nothing for a codec server to do")
    host, port = settings.codec_address.rsplit(":", 1)
    app = create_app(
        EncryptionCodec(ring),
        tokens=settings.codec_token_values,
        origins=settings.ui_origins,
        path_tokens=settings.environment == "development",
    )
    log.info("codec server started", address=settings.codec_url)
    web.run_app(app, host=host, port=int(port), print=None, access_log=None)


if __name__ == "__main__":
    main()
