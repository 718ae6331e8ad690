#!/usr/bin/env bash
# Project-local PostgreSQL 15 cluster.
#   deploy/local/postgres.sh start|stop|status|kill
# Data: .run/data/postgres (owned by the postgres OS user). If postgres cannot traverse the repo path (e.g. a
#   clone under /root), the data dir falls back to /var/tmp/dxmon-<sha1(repo path):12>/postgres (printed on start).
# Listens on 127.0.0.1:${DX_PG_PORT:-5432} only; unix socket in the data dir (not /var/run/postgresql).
# Auth: local socket = trust (admin work as the postgres OS user), TCP = scram-sha-256.
# After start, creates/updates (idempotently) roles dx_owner (CREATEDB, owns the database), dx_app (the operators'
# dx), one per service (dx_collector, dx_aggregator, dx_alerter, dx_pull: their grants are migration 0019), dx_grafana
#   (read-only by default) and database ${DX_PG_DATABASE:-dxmon}.
# Log: .run/logs/postgres.log. Pid file .run/pids/postgres.pid mirrors postmaster.pid.
# "kill" SIGKILLs the postmaster (fault tests); the next "start" runs crash recovery.
# TLS (off by default: development is plaintext on loopback): DX_PG_TLS_DIR=<folder with server.crt, server.key and
#   optionally ca.crt> turns ssl on with those files (ca.crt: client certificates are checked when sent).
set -euo pipefail
DX_COMPONENT=postgres
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd /   # pg_ctl run as postgres fails if it cannot read the current directory

PG_BIN="${DX_PG_BIN:-/usr/lib/postgresql/15/bin}"
PORT="${DX_PG_PORT:-5432}"
DB="${DX_PG_DATABASE:-dxmon}"
LOGFILE="$DX_LOGS/postgres.log"
[[ -x $PG_BIN/initdb ]] || die "PostgreSQL 15 not found in $PG_BIN: run deploy/local/install.sh"
id postgres >/dev/null 2>&1 || die "no postgres OS user: run deploy/local/install.sh"

as_pg() { runuser -u postgres -- "$@"; }

# Pick the data dir: in the repo if the postgres user can reach it, else under /var/tmp.
FALLBACK_BASE="/var/tmp/dxmon-$(printf %s "$DX_RUN" | sha1sum | cut -c1-12)"
chmod a+x "$DX_RUN" "$DX_DATA" 2>/dev/null || true
if [[ ! -f $FALLBACK_BASE/postgres/PG_VERSION ]] && as_pg test -x "$DX_DATA" -a -r "$DX_DATA"; then
  PGDATA="$DX_DATA/postgres"
else
  PGDATA="$FALLBACK_BASE/postgres"
fi
# A unix socket path is limited to 107 bytes: use the short fallback base for very deep clone paths.
SOCKDIR="$PGDATA"
((${#SOCKDIR} + 15 < 107)) || SOCKDIR="$FALLBACK_BASE"

pg_running() { as_pg "$PG_BIN/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1; }
postmaster_pid() { head -n1 "$PGDATA/postmaster.pid" 2>/dev/null || true; }

init_cluster() {
  [[ -f $PGDATA/PG_VERSION ]] && return 0
  local locale=C.UTF-8
  locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$' || locale=C
  log "initdb $PGDATA (locale $locale)"
  [[ $PGDATA == "$FALLBACK_BASE"/* ]] && log "NOTE: postgres cannot traverse $DX_ROOT; using $PGDATA"
  mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" "$SOCKDIR" && chmod 700 "$PGDATA"
  [[ $PGDATA == "$FALLBACK_BASE"/* ]] && chown postgres:postgres "$FALLBACK_BASE"
  as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale="$locale" >>"$LOGFILE" 2>&1 || { tail_log "$LOGFILE"; die "initdb failed"; }
  echo "include_if_exists = 'dxmon.conf'   # written by deploy/local/postgres.sh on every start" >>"$PGDATA/postgresql.conf"
}

# Our settings, rewritten on each start so DX_PG_PORT changes apply. Sized for a 2-core dev/test box.
write_conf() {
  cat >"$PGDATA/dxmon.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCKDIR'
max_connections = 200
shared_buffers = 256MB
effective_cache_size = 1GB
work_mem = 8MB
maintenance_work_mem = 128MB
fsync = on
synchronous_commit = on
full_page_writes = on
max_wal_size = 2GB
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 1000
EOF
  if [[ -n ${DX_PG_TLS_DIR:-} ]]; then
    # copied into the data dir: the server wants its key owned by itself and private
    install -o postgres -g postgres -m 600 "$DX_PG_TLS_DIR/server.key" "$PGDATA/server.key"
    install -o postgres -g postgres -m 644 "$DX_PG_TLS_DIR/server.crt" "$PGDATA/server.crt"
    printf "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n" >>"$PGDATA/dxmon.conf"
    if [[ -f $DX_PG_TLS_DIR/ca.crt ]]; then
      install -o postgres -g postgres -m 644 "$DX_PG_TLS_DIR/ca.crt" "$PGDATA/ca.crt"
      echo "ssl_ca_file = 'ca.crt'" >>"$PGDATA/dxmon.conf"
    fi
  fi
  chown postgres:postgres "$PGDATA/dxmon.conf"
}

# Roles and database; safe to run any number of times (also re-applies passwords from the environment).
bootstrap_sql() {
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKDIR" -p "$PORT" -U postgres -d postgres \
    -v owner_pw="${DX_PG_OWNER_PASSWORD:-dx_owner_dev}" -v app_pw="${DX_PG_PASSWORD:-dx_app_dev}" \
    -v grafana_pw="${DX_PG_GRAFANA_PASSWORD:-dx_grafana_dev}" \
    -v collector_pw="${DX_PG_COLLECTOR_PASSWORD:-dx_collector_dev}" \
    -v aggregator_pw="${DX_PG_AGGREGATOR_PASSWORD:-dx_aggregator_dev}" \
    -v alerter_pw="${DX_PG_ALERTER_PASSWORD:-dx_alerter_dev}" -v pull_pw="${DX_PG_PULL_PASSWORD:-dx_pull_dev}" \
    -v db="$DB" <<'SQL'
SELECT format('CREATE ROLE %I', r)
  FROM unnest(ARRAY['dx_owner', 'dx_app', 'dx_grafana', 'dx_collector', 'dx_aggregator', 'dx_alerter', 'dx_pull']) AS r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \gexec
ALTER ROLE dx_owner WITH LOGIN CREATEDB PASSWORD :'owner_pw';
ALTER ROLE dx_app WITH LOGIN PASSWORD :'app_pw';
ALTER ROLE dx_grafana WITH LOGIN PASSWORD :'grafana_pw';
ALTER ROLE dx_grafana SET default_transaction_read_only = on;
ALTER ROLE dx_collector WITH LOGIN PASSWORD :'collector_pw';
ALTER ROLE dx_aggregator WITH LOGIN PASSWORD :'aggregator_pw';
ALTER ROLE dx_alerter WITH LOGIN PASSWORD :'alerter_pw';
ALTER ROLE dx_pull WITH LOGIN PASSWORD :'pull_pw';
SELECT format('CREATE DATABASE %I OWNER dx_owner ENCODING ''UTF8'' TEMPLATE template0', :'db')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
ALTER DATABASE :"db" OWNER TO dx_owner;
GRANT CONNECT ON DATABASE :"db" TO dx_app, dx_grafana, dx_collector, dx_aggregator, dx_alerter, dx_pull;
\connect :db
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO dx_app, dx_grafana, dx_collector, dx_aggregator, dx_alerter, dx_pull;
SQL
}

start() {
  if pg_running; then
    write_pid postgres "$(postmaster_pid)"
    log "already running (pid $(postmaster_pid)) on 127.0.0.1:$PORT"
  else
    port_free_or_die "$PORT" postgres
    init_cluster
    write_conf
    log "starting ($PGDATA)"
    # No -l: the server's output goes to pg_ctl's stdout, i.e. our log file (opened by root, so the postgres
    # user needs no access to .run/logs). setsid: the server gets its own session.
    setsid runuser -u postgres -- "$PG_BIN/pg_ctl" start -D "$PGDATA" -w -t 90 </dev/null >>"$LOGFILE" 2>&1 \
      || { tail_log "$LOGFILE"; die "pg_ctl start failed"; }
    write_pid postgres "$(postmaster_pid)"
  fi
  local i
  for ((i = 0; i < 60; i++)); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
    sleep 0.5
  done
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" || { tail_log "$LOGFILE"; die "pg_isready fails on 127.0.0.1:$PORT"; }
  bootstrap_sql || die "role/database bootstrap failed"
  log "ready on 127.0.0.1:$PORT (pid $(postmaster_pid)), database $DB"
}

stop() {
  if pg_running; then
    log "stopping (pg_ctl stop -m fast)"
    as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA" -m fast -w -t 60 >>"$LOGFILE" 2>&1 || { tail_log "$LOGFILE"; die "pg_ctl stop failed"; }
  else
    log "not running"
  fi
  rm -f "$(pid_file postgres)"
}

# SIGKILL the postmaster (fault injection), then wait for its orphaned children to notice and exit so that a
# following start does not fail on the still-attached shared memory.
kill_pm() {
  local pid children i
  pid="$(postmaster_pid)"
  if [[ -z $pid ]] || ! pg_running; then log "not running"; return 0; fi
  children="$(pgrep -P "$pid" || true)"
  log "SIGKILL postmaster pid $pid"
  kill -KILL "$pid"
  for ((i = 0; i < 40; i++)); do
    local alive=0 c
    for c in $children; do kill -0 "$c" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.25
  done
  rm -f "$(pid_file postgres)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) kill_pm ;;
  status)
    pg_running && write_pid postgres "$(postmaster_pid)"
    status_line postgres "$PORT" ;;
  *) echo "usage: $0 start|stop|status|kill" >&2; exit 2 ;;
esac
