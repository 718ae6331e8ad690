#!/usr/bin/env bash
# docker-compose: create dxmon's roles (owner, operators, one per service, read-only Grafana) in the postgres image's first start.
# The native stack does the same in deploy/local/postgres.sh.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE dx_owner LOGIN CREATEDB PASSWORD '${DX_PG_OWNER_PASSWORD:-dx_owner_dev}';
CREATE ROLE dx_app LOGIN PASSWORD '${DX_PG_PASSWORD:-dx_app_dev}';
CREATE ROLE dx_grafana LOGIN PASSWORD '${DX_PG_GRAFANA_PASSWORD:-dx_grafana_dev}';
ALTER ROLE dx_grafana SET default_transaction_read_only = on;
CREATE ROLE dx_collector LOGIN PASSWORD '${DX_PG_COLLECTOR_PASSWORD:-dx_collector_dev}';
CREATE ROLE dx_aggregator LOGIN PASSWORD '${DX_PG_AGGREGATOR_PASSWORD:-dx_aggregator_dev}';
CREATE ROLE dx_alerter LOGIN PASSWORD '${DX_PG_ALERTER_PASSWORD:-dx_alerter_dev}';
CREATE ROLE dx_pull LOGIN PASSWORD '${DX_PG_PULL_PASSWORD:-dx_pull_dev}';
CREATE DATABASE dxmon OWNER dx_owner;
SQL
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname dxmon <<SQL
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO dx_app, dx_grafana, dx_collector, dx_aggregator, dx_alerter, dx_pull;
GRANT CREATE, USAGE ON SCHEMA public TO dx_owner;
GRANT CONNECT ON DATABASE dxmon TO dx_app, dx_grafana, dx_collector, dx_aggregator, dx_alerter, dx_pull;
SQL
