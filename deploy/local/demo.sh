#!/usr/bin/env bash
# `make demo`: start the whole native stack and the services, drive simulated source-system traffic, run the
# shipped pull connectors (deploy/connectors/examples) against a fake portal on loopback (testing/fake_source.py)
# and a watched folder, print the URLs and the status table. Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/bin
RATE="${DX_DEMO_RATE:-200}"
DURATION="${DX_DEMO_DURATION:-0}"   # 0 = until Ctrl-C

FAKE_PID=""
SIM_PID=""
stop_all() {
  trap - EXIT INT TERM
  echo
  echo "Stopping the demo stack…"
  [[ -n $SIM_PID ]] && kill "$SIM_PID" 2>/dev/null || true
  deploy/local/stack.sh down || true
  [[ -n $FAKE_PID ]] && kill "$FAKE_PID" 2>/dev/null || true
}
trap stop_all EXIT
[[ -t 1 ]] || export COLUMNS=200   # piped or logged: give the status table room instead of 80 columns
trap 'exit 130' INT TERM
# The demo shows alerts reaching the on-call receiver at once: office-hours routes always open, a short grace period.
export DX_ALERTMANAGER_OFFICE_HOURS="${DX_ALERTMANAGER_OFFICE_HOURS:-always}"
export DX_ALERTER_GRACE_SECONDS="${DX_ALERTER_GRACE_SECONDS:-20}"
ONCALL="http://127.0.0.1:${DX_ONCALL_PORT:-9099}"

deploy/local/stack.sh up --infra-only
$BIN/dx db migrate
$BIN/dx topics ensure

# The pull collector's demo: a fake portal report on loopback, a watched folder with one spreadsheet, and a source
# token for each connector (re-issued on every demo, handed to the pull collector through its environment).
mkdir -p .run/logs .run/inbox/so-tai-chinh
$BIN/python -m testing.fake_source --port "${DX_DEMO_FAKE_SOURCE_PORT:-9110}" >.run/logs/fake-source.log 2>&1 &
FAKE_PID=$!
cp samples/so-tai-chinh-demo.csv .run/inbox/so-tai-chinh/
issue_token() {  # NAME INDICATORS: the source's new token (an earlier demo's is revoked first)
  $BIN/dx sources revoke "$1" >/dev/null 2>&1 || true
  $BIN/dx sources add "$1" --indicators "$2" | tail -n 1
}
DX_PULL_TOKEN_PORTAL_DVC="$(issue_token portal-dvc gov.level4_procedures_online)"
DX_PULL_TOKEN_SO_TAI_CHINH="$(issue_token so-tai-chinh econ.digital_economy_share,gov.eid_users)"
export DX_PULL_TOKEN_PORTAL_DVC DX_PULL_TOKEN_SO_TAI_CHINH
export DX_PULL_CONNECTORS_DIR="${DX_PULL_CONNECTORS_DIR:-deploy/connectors/examples}"
deploy/local/stack.sh up

echo "Backfilling history 2021 → today (compressed replay across the 2025 reform)…"
$BIN/dx simulate --history 2021-01-01 --duration 0 --seed 7

# Live traffic starts at once, before any alert is judged: alerts then fire on the history and the present together,
# not on the history alone, to be resolved seconds later by the first live round (a commune without an inspection
# for 95 days in the history gets one in every live round). The backfill's seed: live traffic continues each unit's
# trajectory (another seed draws other levels and sizes, and a commune's value would jump from 72% to 98%).
echo "Live traffic at ${RATE} events/s from now on (.run/logs/simulate.log); Ctrl-C stops everything."
LIVE_FOR=inf
[[ $DURATION == 0 ]] || LIVE_FOR=$DURATION
$BIN/dx simulate --rate "$RATE" --duration "$LIVE_FOR" --seed 7 >.run/logs/simulate.log 2>&1 &
SIM_PID=$!

echo "Waiting for the aggregator to apply the backfill (a few minutes; the alerter holds new alerts until then)…"
$BIN/dx status --unit 38 --wait "${DX_DEMO_BACKFILL_WAIT:-1200}" --json >/dev/null \
  || echo "The aggregator has not caught up yet: dx status shows its backlog, alerts start once it has."

echo "Waiting for the alerter to evaluate the province's targets…"
for _ in $(seq 1 90); do
  if $BIN/dx status --unit 38 --json 2>/dev/null | grep -q '"status": "\(achieved\|on_track\|behind\|at_risk\|missed\)"'; then break; fi
  sleep 1
done

echo "Waiting for the first notification at the on-call receiver ($ONCALL)…"
for _ in $(seq 1 120); do
  first="$($BIN/python -c 'from services.oncall.client import list_notifications as l; n = l(); print(n[-1]["title"] if n else "")' 2>/dev/null || true)"
  if [[ -n $first ]]; then echo "On-call received: $first"; break; fi
  sleep 1
done

cat <<MSG

dxmon is running:
  API docs (collector)   http://127.0.0.1:8080/docs
  Prometheus             http://127.0.0.1:9090
  Alertmanager           http://127.0.0.1:9093
  On-call receiver       $ONCALL  (notifications by webhook and e-mail; JSON: $ONCALL/api/notifications)
  Grafana                http://127.0.0.1:3000  (with docker compose up; dashboards in deploy/grafana/dashboards)
  Logs                   .run/logs/  (services run under supervisord: make status shows restarts)
  Pull connectors        dx connectors list · dx connectors test portal-dvc · files in .run/inbox/so-tai-chinh/

MSG
$BIN/dx status --unit 38 || true
$BIN/dx connectors list || true
echo
echo "Live traffic at ${RATE} events/s; Ctrl-C stops everything."
wait "$SIM_PID" || true
SIM_PID=""
[[ $DURATION == 0 ]] || $BIN/dx status --unit 38 || true
