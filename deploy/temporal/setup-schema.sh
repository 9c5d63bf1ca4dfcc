#!/bin/sh
# One-shot (compose service temporal-schema, temporalio/admin-tools image): creates Temporal's
# two databases on PostgreSQL if they are missing and brings their schemas up to the version this
# admin-tools image ships. Safe on every `docker compose up`; when upgrading Temporal, run it
# with the new version's admin-tools image before the new server starts (compose does: the
# server depends on it).
#
# SQL_HOST, SQL_PORT, SQL_USER, TEMPORAL_DB, VISIBILITY_DB; the password is read from the
# file SQL_PASSWORD_FILE (a compose secret), never from the environment of the compose file.
set -eu

SQL_PASSWORD=$(cat "${SQL_PASSWORD_FILE:?}")
export SQL_PASSWORD
schemas=/etc/temporal/schema/postgresql/v12

sql_tool() {
    temporal-sql-tool --plugin postgres12 --ep "${SQL_HOST:?}" -p "${SQL_PORT:?}" \
        -u "${SQL_USER:?}" "$@"
}

tries=0
until nc -z "${SQL_HOST}" "${SQL_PORT}"; do
    tries=$((tries + 1))
    if [ "${tries}" -ge 60 ]; then
        echo "PostgreSQL at ${SQL_HOST}:${SQL_PORT} did not answer" >&2
        exit 1
    fi
    sleep 2
done

for pair in "${TEMPORAL_DB:?}:temporal" "${VISIBILITY_DB:?}:visibility"; do
    database=${pair%%:*}
    schema=${pair#*:}
    # `create` reports an error for a database that exists; setup-schema below fails for
    # one that is really missing.
    sql_tool --db "${database}" create || echo "database ${database} exists"
    sql_tool --db "${database}" setup-schema -v 0.0
    sql_tool --db "${database}" update-schema -d "${schemas}/${schema}/versioned"
done
echo "Temporal's schemas are up to date"
