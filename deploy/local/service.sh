#!/usr/bin/env bash
# Run one of the project's Python services under supervisord (deploy/local/supervisord.conf), which starts it again
# when it dies (at once; with a growing delay if it keeps dying within 3 s of its start):
#   deploy/local/service.sh start|stop|status collector|aggregator|alerter|pull|oncall
#   deploy/local/service.sh shutdown            stop supervisord itself (after the services)
# supervisord is started on first use, from the repo root with the caller's environment (DX_* settings are
# inherited by every service it runs). Logs .run/logs/NAME.log and .run/logs/supervisord.log.
# Ready when its HTTP endpoint answers 2xx within 60 s (DX_SERVICE_READY_TIMEOUT):
#   collector  127.0.0.1:${DX_COLLECTOR_PORT:-8080}/healthz
#   aggregator 127.0.0.1:${DX_AGGREGATOR_METRICS_PORT:-9101}/metrics
#   alerter    127.0.0.1:${DX_ALERTER_METRICS_PORT:-9102}/metrics
#   pull       127.0.0.1:${DX_PULL_METRICS_PORT:-9103}/healthz
#   oncall     127.0.0.1:${DX_ONCALL_PORT:-9099}/healthz
# If it cannot start (supervisord gives up: FATAL), the end of its log is printed and the script exits 1.
set -euo pipefail
DX_COMPONENT=service
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ACTION="${1:-}"
NAME="${2:-}"
USAGE="usage: $0 start|stop|status collector|aggregator|alerter|pull|oncall, or $0 shutdown"
case "$NAME" in
  collector) PORT="${DX_COLLECTOR_PORT:-8080}"; PATH_="/healthz" ;;
  aggregator) PORT="${DX_AGGREGATOR_METRICS_PORT:-9101}"; PATH_="/metrics" ;;
  alerter) PORT="${DX_ALERTER_METRICS_PORT:-9102}"; PATH_="/metrics" ;;
  pull) PORT="${DX_PULL_METRICS_PORT:-9103}"; PATH_="/healthz" ;;
  oncall) PORT="${DX_ONCALL_PORT:-9099}"; PATH_="/healthz" ;;
  "") [[ $ACTION == shutdown ]] || { echo "$USAGE" >&2; exit 2; } ;;
  *) echo "$USAGE" >&2; exit 2 ;;
esac
DX_COMPONENT="${NAME:-supervisord}"
BIN="$DX_ROOT/.venv/bin"
CONF="$DX_ROOT/deploy/local/supervisord.conf"
export DX_ROOT DX_RUN   # supervisord.conf reads them

ctl() { "$BIN/supervisorctl" -c "$CONF" "$@"; }

# state NAME: RUNNING, STARTING, BACKOFF, FATAL, STOPPED… (empty when supervisord does not answer)
state() { ctl status "$1" 2>/dev/null | awk '{print $2}' || true; }

# restarts NAME: starts of NAME after its first one, since supervisord last started.
restarts() {
  local log="$DX_LOGS/supervisord.log"
  [[ -f $log ]] || { echo 0; return; }
  awk -v n="'$1'" '/supervisord started with pid/ {c = 0} $4 == "spawned:" && $5 == n {c++} END {print (c > 1 ? c - 1 : 0)}' "$log"
}

ensure_supervisord() {
  [[ -x $BIN/supervisord ]] || die "$BIN/supervisord not found (run: make install)"
  if pid_alive supervisord && ctl pid >/dev/null 2>&1; then return 0; fi
  if ! pid_alive supervisord; then
    rm -f "$(pid_file supervisord)" "$DX_RUN/supervisor.sock"
    cd "$DX_ROOT"
    export PYTHONUNBUFFERED="${PYTHONUNBUFFERED:-1}"   # log lines reach the log files at once
    start_bg supervisord "$DX_LOGS/supervisord.out" "$BIN/supervisord" -c "$CONF"
  fi
  local deadline=$((SECONDS + 20))
  until ctl pid >/dev/null 2>&1; do
    pid_alive supervisord || { tail_log "$DX_LOGS/supervisord.out"; die "supervisord exited during startup"; }
    ((SECONDS < deadline)) || die "supervisord does not answer on $DX_RUN/supervisor.sock"
    sleep 0.3
  done
}

start() {
  ensure_supervisord
  local url="http://127.0.0.1:$PORT$PATH_" timeout="${DX_SERVICE_READY_TIMEOUT:-60}" st
  st="$(state "$NAME")"
  if [[ $st != RUNNING && $st != STARTING && $st != BACKOFF ]]; then
    port_free_or_die "$PORT" "$NAME"
    ctl start "$NAME" >/dev/null 2>&1 || true   # its outcome is judged below, from the state and the endpoint
  fi
  local deadline=$((SECONDS + timeout))
  until http_ok "$url"; do
    st="$(state "$NAME")"
    [[ $st == FATAL ]] && { tail_log "$DX_LOGS/$NAME.log"; die "$NAME could not start (supervisord gave up: FATAL)"; }
    ((SECONDS < deadline)) || { tail_log "$DX_LOGS/$NAME.log"; die "$NAME not ready after $timeout s ($url), state $st"; }
    sleep 0.5
  done
  log "ready on 127.0.0.1:$PORT (pid $(ctl pid "$NAME"), supervised)"
}

stop() {
  if ! pid_alive supervisord; then log "not running"; return 0; fi
  ctl stop "$NAME" >/dev/null 2>&1 || true
  log "stopped"
}

status() {
  local st=stopped pid=- reach=no s
  if pid_alive supervisord; then
    s="$(state "$NAME")"
    case "$s" in
      RUNNING) st=running; pid="$(ctl pid "$NAME")" ;;
      "") st=stopped ;;
      *) st="${s,,}" ;;
    esac
  fi
  port_open 127.0.0.1 "$PORT" && reach=yes
  printf '%-13s %-8s pid=%-8s port=%-6s reachable=%-3s restarts=%s\n' "$NAME" "$st" "$pid" "$PORT" "$reach" \
    "$(restarts "$NAME")"
}

case "$ACTION" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  shutdown) stop_pid supervisord ;;
  *) echo "$USAGE" >&2; exit 2 ;;
esac
