#!/usr/bin/env bash
# Alertmanager for the local stack: 127.0.0.1:${DX_ALERTMANAGER_PORT:-9093}, config deploy/alertmanager/alertmanager.yml,
# state in .run/data/alertmanager, log .run/logs/alertmanager.log. Clustering disabled (no port 9094).
# If DX_ONCALL_WEBHOOK_PORT is set to something other than 9099, a copy of the config with that webhook port is
# rendered into .run/data/alertmanager/alertmanager.yml and used instead.
#   deploy/local/alertmanager.sh start|stop|status
set -euo pipefail
DX_COMPONENT=alertmanager
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${DX_ALERTMANAGER_PORT:-9093}"
CONFIG="$DX_ROOT/deploy/alertmanager/alertmanager.yml"
AMDATA="$DX_DATA/alertmanager"

case "${1:-}" in
  start)
    command -v prometheus-alertmanager >/dev/null || die "prometheus-alertmanager not found: run deploy/local/install.sh"
    mkdir -p "$AMDATA"
    hook_port="${DX_ONCALL_WEBHOOK_PORT:-9099}"
    if [[ $hook_port != 9099 ]]; then
      sed "s|http://127.0.0.1:9099/|http://127.0.0.1:$hook_port/|" "$CONFIG" >"$AMDATA/alertmanager.yml"
      CONFIG="$AMDATA/alertmanager.yml"
    fi
    amtool check-config "$CONFIG" >/dev/null || die "invalid $CONFIG (run: amtool check-config $CONFIG)"
    start_daemon alertmanager "$PORT" "http://127.0.0.1:$PORT/-/ready" 60 \
      prometheus-alertmanager --config.file="$CONFIG" --storage.path="$AMDATA" \
      --web.listen-address="127.0.0.1:$PORT" --cluster.listen-address=
    ;;
  stop) stop_pid alertmanager ;;
  status) status_line alertmanager "$PORT" ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
