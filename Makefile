# make demo  - fresh machine to a delivered extract: venv, Temporal dev server + UI, worker, cases
# make run   - the same stack in the foreground until Ctrl-C (handlers use starter.py, UI :8233)
# make test  - the whole suite against a real Temporal dev server and real SQLite
# make test-postgres - the database and end-to-end tests again on a real PostgreSQL server
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The engine's settings default to production, which refuses the public development secrets;
# every target here runs the embedded development stack, and says so.
export DSR_ENVIRONMENT ?= development

.PHONY: venv lock bytecode idp demo run test test-postgres postgres browser lint typecheck check clean histories bench

venv: $(STAMP)

# Installed from the lock file alone: every package at its locked version, each file checked
# against its locked hashes (pip refuses anything unpinned or unhashed), the build backend
# included; then the engine itself, in place, built with that backend.
$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# After a change to pyproject.toml's dependencies: the locks again, resolved from the package
# index with every file's hash (requirements.lock the image's, requirements-dev.lock the same
# versions and the tools' for make and CI). Locked versions that still fit stay;
# `make lock UPGRADE=--upgrade` moves every package to its newest allowed version.
LOCK := $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --build-deps-for editable
UPGRADE ?=
lock: venv
	$(LOCK) $(UPGRADE) -o requirements.lock pyproject.toml
	$(LOCK) $(UPGRADE) --extra dev -c requirements.lock -o requirements-dev.lock pyproject.toml

# The engine's own modules compiled ahead (__pycache__, only what changed since). Where
# PYTHONDONTWRITEBYTECODE is set (this machine's environment, as the image's), Python never
# caches them itself: every CLI start, and the workflow sandbox for every case it loads (it
# imports the workflow's modules afresh each time), compiled them from source again. A case's
# replay took 39 -> 26 ms with them compiled (docs/performance.md). The image compiles at build.
CODE := activities app bench cli contract demo infra scripts service systems workflows worker.py starter.py codec_server.py
bytecode: venv
	$(PY) -m compileall -q -j 0 $(CODE)

demo: venv idp bytecode
	$(PY) scripts/stack.py demo

run: venv idp bytecode
	$(PY) scripts/stack.py run

# The slowest tests are named at the end of each run: where CI's minutes go.
test: venv idp browser bytecode
	$(PY) -m pytest -q --durations=15
	@echo "The console's pages as the browser tests saw them: build/screenshots/"

browser:
	bash scripts/install-browser.sh

# The local OpenID Connect provider's packages (idp/package-lock.json, from the npm registry).
idp: idp/node_modules/.package-lock.json

idp/node_modules/.package-lock.json: idp/package-lock.json
	cd idp && npm ci --no-audit --no-fund --loglevel=error

# The database and end-to-end tests again, on a throwaway PostgreSQL server (Debian's packages,
# a cluster under a temporary directory on a free port, removed afterwards). Not the replays of
# committed histories: they run no activity and touch no database.
PG_TESTS := tests/activities tests/systems tests/workflow tests/test_schema.py tests/test_audit.py \
	tests/test_cli.py tests/test_worker_lifecycle.py tests/service tests/security/test_sealed_notes.py \
	--ignore=tests/workflow/test_replay.py --ignore=tests/workflow/test_replay_catches.py
test-postgres: venv postgres bytecode
	$(PY) scripts/postgres.py -- $(PY) -m pytest -q --durations=15 $(PG_TESTS)

postgres:
	bash scripts/install-postgres.sh

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy app contract demo infra cli workflows activities systems service bench worker.py starter.py codec_server.py

check: lint typecheck test

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

# Benchmarks, each section on a throwaway stack of its own (bench/): figures with budgets and
# PASS/FAIL, JSON under var/bench/, the table in docs/performance.md; exit 1 on a FAIL.
bench: venv bytecode
	$(PY) -m bench

# Record the histories the replay test checks (after a deliberate, patched workflow change) into
# tests/histories/new/; move the ones that show the change next to the old ones under a new name
# (..._with_<change>.json). Committed histories are never overwritten: cases started before the
# change must still be proven to replay.
histories: venv bytecode
	DSR_RECORD_HISTORIES=1 $(PY) -m pytest -q tests/workflow/test_access.py tests/workflow/test_rights.py \
		tests/workflow/test_clock.py \
		tests/workflow/test_erasure.py tests/workflow/test_portability.py \
		tests/workflow/test_public_access.py tests/workflow/test_public_access_clock.py \
		tests/workflow/test_withdrawal.py tests/workflow/test_disposal.py
