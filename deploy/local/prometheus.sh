#!/usr/bin/env bash
# Prometheus for the local stack: 127.0.0.1:${DX_PROMETHEUS_PORT:-9090}, TSDB in .run/data/prometheus, log
# .run/logs/prometheus.log. Lifecycle API on (POST /-/reload, /-/quit). Its configuration is generated from the
# settings before each start (`dx config --prometheus`, into .run/data/prometheus.yml), so the scrape targets follow
# DX_COLLECTOR_PORT, DX_AGGREGATOR_METRICS_PORT, DX_ALERTER_METRICS_PORT and DX_ALERTMANAGER_URL (or .env);
# without the virtual environment, deploy/prometheus/prometheus.yml (the defaults) is used.
#   deploy/local/prometheus.sh start|stop|status
set -euo pipefail
DX_COMPONENT=prometheus
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${DX_PROMETHEUS_PORT:-9090}"
CONFIG="$DX_ROOT/deploy/prometheus/prometheus.yml"
export DX_PROMETHEUS_URL="${DX_PROMETHEUS_URL:-http://127.0.0.1:$PORT}"

generate_config() {
  local out="$DX_DATA/prometheus.yml"
  [[ -x $DX_ROOT/.venv/bin/python ]] || return 0
  (cd "$DX_ROOT" && .venv/bin/python -m dx.main config --prometheus --rules-dir "$DX_ROOT/deploy/prometheus/rules") \
    >"$out.tmp" || die "could not generate the Prometheus configuration (dx config --prometheus)"
  mv "$out.tmp" "$out"
  CONFIG="$out"
}

case "${1:-}" in
  start)
    command -v prometheus >/dev/null || die "prometheus not found: run deploy/local/install.sh"
    generate_config
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
