#!/usr/bin/env bash
# The ACLs of one source system that speaks Kafka (docs/events-and-topics.md, "Who sent an ingest message"): its
# principal User:dx-src-<source> may write and describe its own topic dx.ingest.v1.<source>, and nothing else (no
# Read anywhere, so it reads no source's events, and no other topic, so it cannot write as another source).
# Usage: BOOTSTRAP=kafka-1:9092 ADMIN_CONFIG=admin.properties deploy/kafka/sasl/source-acls.sh SOURCE
# Its SCRAM credentials first: kafka-configs.sh --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" \
#   --alter --add-config 'SCRAM-SHA-512=[password=...]' --entity-type users --entity-name dx-src-SOURCE
# KAFKA_ACLS overrides the command (default kafka-acls.sh); INGEST_TOPIC the ingest topic (default dx.ingest.v1).
set -euo pipefail
: "${BOOTSTRAP:?}" "${ADMIN_CONFIG:?}"
source_name=${1:?usage: source-acls.sh SOURCE}
[[ $source_name =~ ^[a-z0-9][a-z0-9._-]{0,63}$ ]] || { echo "not a source name: $source_name" >&2; exit 2; }
read -r -a acls <<< "${KAFKA_ACLS:-kafka-acls.sh}"
principal="User:dx-src-$source_name"
"${acls[@]}" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --add --allow-principal "$principal" \
  --operation Write --operation Describe --topic "${INGEST_TOPIC:-dx.ingest.v1}.$source_name"
"${acls[@]}" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --add --allow-principal "$principal" \
  --operation IdempotentWrite --cluster
