#!/usr/bin/env bash
# Run one of the project's Python services in the background: .venv/bin/python -m services.NAME
#   deploy/local/service.sh start|stop|status collector|aggregator|alerter
# Runs from the repo root with the caller's environment (DX_* settings are inherited). Log .run/logs/NAME.log.
# Ready when its HTTP endpoint answers 2xx within 60 s (DX_SERVICE_READY_TIMEOUT):
#   collector  127.0.0.1:${DX_COLLECTOR_PORT:-8080}/healthz
#   aggregator 127.0.0.1:${DX_AGGREGATOR_METRICS_PORT:-9101}/metrics
#   alerter    127.0.0.1:${DX_ALERTER_METRICS_PORT:-9102}/metrics
# If the process dies before that, the end of its log is printed and the script exits 1.
set -euo pipefail
DX_COMPONENT=service
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ACTION="${1:-}"
NAME="${2:-}"
case "$NAME" in
  collector) PORT="${DX_COLLECTOR_PORT:-8080}"; PATH_="/healthz" ;;
  aggregator) PORT="${DX_AGGREGATOR_METRICS_PORT:-9101}"; PATH_="/metrics" ;;
  alerter) PORT="${DX_ALERTER_METRICS_PORT:-9102}"; PATH_="/metrics" ;;
  *) echo "usage: $0 start|stop|status collector|aggregator|alerter" >&2; exit 2 ;;
esac
DX_COMPONENT="$NAME"
PY="$DX_ROOT/.venv/bin/python"

case "$ACTION" in
  start)
    [[ -x $PY ]] || die "$PY not found (create the venv first)"
    cd "$DX_ROOT"
    export PYTHONUNBUFFERED="${PYTHONUNBUFFERED:-1}"   # log lines reach the log file at once
    start_daemon "$NAME" "$PORT" "http://127.0.0.1:$PORT$PATH_" "${DX_SERVICE_READY_TIMEOUT:-60}" \
      "$PY" -m "services.$NAME"
    ;;
  stop) stop_pid "$NAME" ;;
  status) status_line "$NAME" "$PORT" ;;
  *) echo "usage: $0 start|stop|status collector|aggregator|alerter" >&2; exit 2 ;;
esac
