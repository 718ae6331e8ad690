#!/usr/bin/env bash
# Run a command with the local infrastructure up: start what is not running (Kafka, PostgreSQL,
# Prometheus, Alertmanager), apply the schema and topics, run the command, then stop exactly what this
# script started, also when the command fails or is interrupted. Exit code: the command's.
set -euo pipefail
cd "$(dirname "$0")/../.."
LOCAL=deploy/local
STARTED=()

is_running() { "$LOCAL/$1.sh" status 2>/dev/null | grep -q " running "; }

cleanup() {
  local code=$?
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    "$LOCAL/${STARTED[$i]}.sh" stop || true
  done
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$LOCAL/install.sh"
# Alerts in tests must not wait for office hours (deploy/alertmanager/alertmanager.yml).
export DX_ALERTMANAGER_OFFICE_HOURS="${DX_ALERTMANAGER_OFFICE_HOURS:-always}"
for component in postgres kafka prometheus alertmanager; do
  if ! is_running "$component"; then
    STARTED+=("$component")
    "$LOCAL/$component.sh" start
  fi
done
.venv/bin/dx db migrate
.venv/bin/dx topics ensure
set +e
"$@"
code=$?
set -e
exit "$code"
