#!/bin/sh
# The engine image's entrypoint: turns secret files into environment variables, then runs the
# command (python worker.py, python codec_server.py, python starter.py ...).
#
# The engine reads its settings from the environment (DSR_*), and asyncpg reads the database
# password from PGPASSWORD; compose and Kubernetes hand secrets over as files. Every file in
# $SECRETS_DIR (default /run/secrets) named like an environment variable (capitals, digits
# and _, e.g. DSR_SUBJECT_REFERENCE_SECRET or PGPASSWORD) becomes that variable with the file's
# content (a final newline dropped), unless the variable is set already. Other files (the
# payload key file, certificates) stay files, named by their settings (DSR_ENCRYPTION_KEY_FILE).
set -eu

secrets_dir="${SECRETS_DIR:-/run/secrets}"
if [ -d "$secrets_dir" ]; then
    for file in "$secrets_dir"/*; do
        [ -f "$file" ] || continue
        name=$(basename "$file")
        case "$name" in
            "" | [0-9]* | *[!A-Z0-9_]*) continue ;;
        esac
        # $name is [A-Z0-9_]+ here, so eval sees nothing but a variable name.
        if eval "[ -z \"\${$name+set}\" ]"; then
            value=$(cat "$file")
            export "$name=$value"
        fi
    done
fi

exec "$@"
