#!/bin/sh
# Run once by the official postgres image when it initialises an empty data directory
# (mounted under /docker-entrypoint-initdb.d): creates the engine's databases, named in
# ENGINE_DATABASES (space-separated), owned by POSTGRES_USER. Temporal's own two databases are
# created by the temporal-schema one-shot (temporal-sql-tool), the tables in the register by
# `python starter.py db upgrade` (the migrate one-shot).
#
# A data directory that already exists is never initialised again: to add a database to a
# running stack, run `createdb` by hand (see docs/deployment.md).
set -e

for database in ${ENGINE_DATABASES:?name the databases to create}; do
    echo "creating database ${database}"
    createdb --username "${POSTGRES_USER:?}" --owner "${POSTGRES_USER}" "${database}"
done
