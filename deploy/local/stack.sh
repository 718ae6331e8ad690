#!/usr/bin/env bash
# The whole native local stack (no Docker): PostgreSQL 15, Kafka (KRaft), Prometheus, Alertmanager and the
# Python services (under supervisord, which restarts them: deploy/local/service.sh), all on 127.0.0.1, state under
# .run/ (see deploy/local/lib.sh).
#   deploy/local/stack.sh up [--infra-only]     install if needed, start everything, wait until ready
#   deploy/local/stack.sh down                  stop everything (reverse order; only what our pid files name)
#   deploy/local/stack.sh status                one line per component, restarts of each service (always exits 0)
# Services are started only if .venv/bin/python and services/NAME/__main__.py exist.
set -euo pipefail
DX_COMPONENT=stack
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE="$DX_ROOT/deploy/local"
SERVICES=(oncall collector aggregator alerter pull)

ACTION="${1:-}"
INFRA_ONLY=0
[[ ${2:-} == --infra-only || ${1:-} == --infra-only ]] && INFRA_ONLY=1
[[ ${1:-} == --infra-only ]] && ACTION="${2:-}"

up() {
  "$HERE/install.sh"
  "$HERE/postgres.sh" start
  "$HERE/kafka.sh" start
  "$HERE/prometheus.sh" start
  "$HERE/alertmanager.sh" start
  if ((INFRA_ONLY)); then log "--infra-only: services not started"; return 0; fi
  local s
  for s in "${SERVICES[@]}"; do
    if [[ -x $DX_ROOT/.venv/bin/python && -f $DX_ROOT/services/$s/__main__.py ]]; then
      "$HERE/service.sh" start "$s"
    else
      log "skipping $s (needs .venv/bin/python and services/$s/__main__.py)"
    fi
  done
}

down() {
  local s rc=0
  for s in pull alerter aggregator collector oncall; do "$HERE/service.sh" stop "$s" || rc=1; done
  "$HERE/service.sh" shutdown || rc=1
  "$HERE/alertmanager.sh" stop || rc=1
  "$HERE/prometheus.sh" stop || rc=1
  "$HERE/kafka.sh" stop || rc=1
  "$HERE/postgres.sh" stop || rc=1
  return $rc
}

status() {
  "$HERE/postgres.sh" status || true
  "$HERE/kafka.sh" status || true
  "$HERE/prometheus.sh" status || true
  "$HERE/alertmanager.sh" status || true
  local s
  for s in "${SERVICES[@]}"; do "$HERE/service.sh" status "$s" || true; done
}

case "$ACTION" in
  up) up; log "up: done"; status ;;
  down) down; log "down: done" ;;
  status) status ;;
  *) echo "usage: $0 up|down|status [--infra-only]" >&2; exit 2 ;;
esac
