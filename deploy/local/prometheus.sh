#!/usr/bin/env bash
# Prometheus for the local stack: 127.0.0.1:${DX_PROMETHEUS_PORT:-9090}, config deploy/prometheus/prometheus.yml,
# TSDB in .run/data/prometheus, log .run/logs/prometheus.log. Lifecycle API on (POST /-/reload, /-/quit).
#   deploy/local/prometheus.sh start|stop|status
set -euo pipefail
DX_COMPONENT=prometheus
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${DX_PROMETHEUS_PORT:-9090}"
CONFIG="$DX_ROOT/deploy/prometheus/prometheus.yml"

case "${1:-}" in
  start)
    command -v prometheus >/dev/null || die "prometheus not found: run deploy/local/install.sh"
    promtool check config "$CONFIG" >/dev/null || die "invalid $CONFIG (run: promtool check config $CONFIG)"
    mkdir -p "$DX_DATA/prometheus"
    start_daemon prometheus "$PORT" "http://127.0.0.1:$PORT/-/ready" 60 \
      prometheus --config.file="$CONFIG" --storage.tsdb.path="$DX_DATA/prometheus" \
      --web.listen-address="127.0.0.1:$PORT" --web.enable-lifecycle
    ;;
  stop) stop_pid prometheus ;;
  status) status_line prometheus "$PORT" ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
