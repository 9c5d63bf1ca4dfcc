#!/usr/bin/env bash
# `make test-postgres` runs the database and end-to-end tests on a throwaway PostgreSQL server
# made with Debian's packages: install them if missing (apt-get, as root or with sudo).
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null && id postgres > /dev/null 2>&1; then
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "Installing Debian's postgresql for the PostgreSQL test run ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql
