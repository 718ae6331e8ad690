#!/usr/bin/env bash
# ACLs of the dxmon principals on a production cluster (StandardAuthorizer; see production.properties).
# Usage: BOOTSTRAP=kafka-1:9092 ADMIN_CONFIG=admin.properties deploy/kafka/sasl/acls.sh
# admin.properties holds the dx-admin client settings (SASL_SSL, SCRAM-SHA-512, truststore).
# Users first (once per principal): kafka-configs.sh --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" \
#   --alter --add-config 'SCRAM-SHA-512=[password=...]' --entity-type users --entity-name dx-collector
set -euo pipefail
: "${BOOTSTRAP:?}" "${ADMIN_CONFIG:?}"
acl() { kafka-acls.sh --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --add "$@"; }

# collector: reads dx.ingest.v1 and every source's dx.ingest.v1.<source> (prefix; group collector-ingest),
# writes dx.events.v1 and dx.deadletter.v1
acl --allow-principal User:dx-collector --operation Read --operation Describe --resource-pattern-type prefixed \
  --topic dx.ingest.v1
acl --allow-principal User:dx-collector --operation Read --group collector-ingest
acl --allow-principal User:dx-collector --operation Write --operation Describe --topic dx.events.v1 --topic dx.deadletter.v1
acl --allow-principal User:dx-collector --operation IdempotentWrite --cluster
# its transactions (one request all or nothing): transactional.id dx-collector-<host>-<port> or DX_COLLECTOR_TRANSACTIONAL_ID
acl --allow-principal User:dx-collector --operation Write --operation Describe \
  --transactional-id dx-collector- --resource-pattern-type prefixed

# aggregator: reads dx.events.v1 (group aggregator), writes dx.rollups.v1 and dx.deadletter.v1
acl --allow-principal User:dx-aggregator --operation Read --topic dx.events.v1 --group aggregator
acl --allow-principal User:dx-aggregator --operation Write --operation Describe --topic dx.rollups.v1 --topic dx.deadletter.v1
acl --allow-principal User:dx-aggregator --operation IdempotentWrite --cluster

# alerter: reads dx.rollups.v1 (group alerter), writes dx.alerts.v1
acl --allow-principal User:dx-alerter --operation Read --topic dx.rollups.v1 --group alerter
acl --allow-principal User:dx-alerter --operation Write --operation Describe --topic dx.alerts.v1
acl --allow-principal User:dx-alerter --operation IdempotentWrite --cluster

# source systems that speak Kafka: one principal and one topic each, deploy/kafka/sasl/source-acls.sh SOURCE
# (what `dx sources add SOURCE --kafka` prints). No principal may write the bare dx.ingest.v1.
