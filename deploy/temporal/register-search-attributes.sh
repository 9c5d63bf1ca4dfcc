#!/bin/sh
# One-shot (compose service temporal-admin-tools, temporalio/admin-tools image): waits for the
# Temporal server, creates the engine's namespace if it is missing, and registers the engine's
# search attributes in it: those of contract/search.py, given as SEARCH_ATTRIBUTES="Name=Type ..."
# (tests/test_compose.py checks the list against the code). Safe to run again: attributes that
# exist are left alone; one that exists with another type is an error to mend by hand.
#
# TEMPORAL_ADDRESS, NAMESPACE, NAMESPACE_RETENTION (e.g. 720h), SEARCH_ATTRIBUTES.
set -eu

: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}" "${NAMESPACE_RETENTION:?}" "${SEARCH_ATTRIBUTES:?}"
export TEMPORAL_ADDRESS

tries=0
until temporal operator cluster health --address "${TEMPORAL_ADDRESS}" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "${tries}" -ge 90 ]; then
        echo "the Temporal server at ${TEMPORAL_ADDRESS} did not become healthy" >&2
        exit 1
    fi
    sleep 2
done

if temporal operator namespace describe --address "${TEMPORAL_ADDRESS}" \
    --namespace "${NAMESPACE}" >/dev/null 2>&1; then
    echo "namespace ${NAMESPACE} exists"
else
    temporal operator namespace create --address "${TEMPORAL_ADDRESS}" \
        --namespace "${NAMESPACE}" --retention "${NAMESPACE_RETENTION}"
fi

# A new namespace reaches every frontend's cache within seconds.
tries=0
until existing=$(temporal operator search-attribute list --address "${TEMPORAL_ADDRESS}" \
    --namespace "${NAMESPACE}" 2>/dev/null); do
    tries=$((tries + 1))
    if [ "${tries}" -ge 30 ]; then
        echo "namespace ${NAMESPACE} is not usable" >&2
        exit 1
    fi
    sleep 2
done

# Types compared loosely: "Keyword", "KEYWORD" and "INDEXED_VALUE_TYPE_KEYWORD" are one type.
normalise() {
    printf '%s' "$1" | tr '[:lower:]' '[:upper:]' | sed 's/^INDEXED_VALUE_TYPE_//; s/_//g'
}

for pair in ${SEARCH_ATTRIBUTES}; do
    name=${pair%%=*}
    type=${pair#*=}
    found=$(printf '%s\n' "${existing}" | awk -v name="${name}" '$1 == name { print $2 }')
    if [ -z "${found}" ]; then
        temporal operator search-attribute create --address "${TEMPORAL_ADDRESS}" \
            --namespace "${NAMESPACE}" --name "${name}" --type "${type}"
        echo "search attribute ${name} (${type}) registered"
    elif [ "$(normalise "${found}")" = "$(normalise "${type}")" ]; then
        echo "search attribute ${name} (${type}) exists"
    else
        echo "search attribute ${name} exists as ${found}, the engine needs ${type}" >&2
        exit 1
    fi
done
