# The engine's image: one build for the worker (the default command), the codec server and the
# handlers' CLI.
#
#   docker build -t dsr-engine .
#   docker run ... dsr-engine                                     # python worker.py
#   docker run ... dsr-engine python codec_server.py
#   docker run ... dsr-engine python starter.py status DSR-2026-000042
#   docker run ... dsr-engine python -m infra.migrate upgrade        # the register's migrations
#
# Settings come from the environment (DSR_*, see infra/config.py and docs/deployment.md); secrets
# from files under /run/secrets (deploy/entrypoint.sh). docker-compose.yml runs the whole stack.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv

WORKDIR /app

# The dependencies first, from the lock file alone (`make lock`): each package at its locked
# version and every file checked against its locked hash, the build backend included; this
# layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

# Then the engine itself. Installed in place (editable), so there is one copy of the code and
# the paths the settings derive from the source tree (config/, the migrations) are under /app,
# whichever entry point runs: `python worker.py` or the `dsr` console script alike.
COPY . .
RUN pip install --no-deps --no-build-isolation -e . \
    && python -m compileall -q /app \
    && chmod 0755 /app/deploy/entrypoint.sh \
    && groupadd --system --gid 10001 dsr \
    && useradd --system --uid 10001 --gid dsr --home-dir /var/lib/dsr --no-create-home \
        --shell /usr/sbin/nologin dsr \
    && install -d -o dsr -g dsr -m 0750 /var/lib/dsr

# The extract store, the outboxes and the demo e-ID orders live here: a volume shared by every
# worker (and the CLI), backed up with the database. The code stays read-only to the user.
# Production, stated: the settings refuse the public development secrets, unsealed payloads
# and the demo adapters (infra/config.py).
ENV DSR_VAR_DIR=/var/lib/dsr \
    DSR_ENVIRONMENT=production
USER dsr

# 8234: codec server (DSR_CODEC_ADDRESS), 8235: worker health (DSR_WORKER_HEALTH_ADDRESS),
# 9464: worker metrics (DSR_METRICS_ADDRESS). Each binds where its setting says.
EXPOSE 8234 8235 9464

ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["python", "worker.py"]
