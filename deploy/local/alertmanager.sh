#!/usr/bin/env bash
# Alertmanager for the local stack: 127.0.0.1:${DX_ALERTMANAGER_PORT:-9093}, config deploy/alertmanager/alertmanager.yml,
# state in .run/data/alertmanager, log .run/logs/alertmanager.log. Clustering disabled (no port 9094).
# The config is rendered into .run/data/alertmanager/alertmanager.yml with the on-call receiver's ports
# (DX_ONCALL_PORT, default 9099; DX_ONCALL_SMTP_PORT, default 2525) and, with DX_ALERTMANAGER_OFFICE_HOURS=always
# (what deploy/local/with-stack.sh uses for the tests, whose alerts must not depend on the clock), an office-hours
# interval that is always open.
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
    hook_port="${DX_ONCALL_PORT:-9099}"
    smtp_port="${DX_ONCALL_SMTP_PORT:-2525}"
    always=0
    [[ ${DX_ALERTMANAGER_OFFICE_HOURS:-} == always ]] && always=1
    sed "s|http://127.0.0.1:9099/|http://127.0.0.1:$hook_port/|; s|\"127.0.0.1:2525\"|\"127.0.0.1:$smtp_port\"|" "$CONFIG" |
      awk -v always="$always" '
        always && /# office-hours:begin/ { print "      - {}  # always open (DX_ALERTMANAGER_OFFICE_HOURS=always)"; skip = 1; next }
        always && /# office-hours:end/ { skip = 0; next }
        !skip' >"$AMDATA/alertmanager.yml"
    CONFIG="$AMDATA/alertmanager.yml"
    amtool check-config "$CONFIG" >/dev/null || die "invalid $CONFIG (run: amtool check-config $CONFIG)"
    start_daemon alertmanager "$PORT" "http://127.0.0.1:$PORT/-/ready" 60 \
      prometheus-alertmanager --config.file="$CONFIG" --storage.path="$AMDATA" \
      --web.listen-address="127.0.0.1:$PORT" --cluster.listen-address=
    ;;
  stop) stop_pid alertmanager ;;
  status) status_line alertmanager "$PORT" ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
