#!/usr/bin/env bash
# Install (idempotently) the system packages the native local stack needs, on Debian 12, as root:
#   prometheus + promtool, prometheus-alertmanager + amtool, PostgreSQL 15, Java 17 (Kafka), Maven (fetches Kafka
#   jars into .cache/ on first kafka.sh start), curl (readiness checks).
# Nothing is installed when everything is already present (no network use then).
# Package maintainer scripts are prevented from auto-starting daemons (policy-rc.d exit 101), and Debian's
# default "main" PostgreSQL cluster is not created, so nothing of the packages competes for our ports.
set -euo pipefail
DX_COMPONENT=install
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_BIN=/usr/lib/postgresql/15/bin
pkgs=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || pkgs+=(prometheus)
command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null || pkgs+=(prometheus-alertmanager)
[[ -x $PG_BIN/initdb ]] || pkgs+=(postgresql-15 postgresql-client-15)
command -v java >/dev/null || pkgs+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || pkgs+=(maven)
command -v curl >/dev/null || pkgs+=(curl)

if ((${#pkgs[@]})); then
  [[ $(id -u) -eq 0 ]] || die "missing packages (${pkgs[*]}); run this script as root"
  log "installing: ${pkgs[*]}"
  # Keep postinst scripts from starting services (would bind 9090/9093/5432 on all interfaces).
  created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
    trap '[[ $created_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  # Do not let postgresql-common create (and start) the default cluster "15/main" on port 5432.
  if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
    mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/dxmon-no-main.conf
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}"
else
  log "all packages present (prometheus, alertmanager, postgresql-15, java, mvn, curl)"
fi

# The PostgreSQL packages create the postgres user; make sure it exists anyway (initdb refuses to run as root).
if ! id postgres >/dev/null 2>&1; then
  log "creating system user postgres"
  useradd --system --user-group --home-dir /var/lib/postgresql --create-home --shell /bin/bash postgres
fi

java -version 2>&1 | head -n1 | grep -Eq '"(1[7-9]|[2-9][0-9])[."]' || die "Java 17+ required: $(java -version 2>&1 | head -n1)"

# Report (never stop) daemons that are not ours but sit on our ports.
for port in "${DX_PG_PORT:-5432}" "${DX_KAFKA_PORT:-9092}" "${DX_KAFKA_CONTROLLER_PORT:-9095}" \
  "${DX_PROMETHEUS_PORT:-9090}" "${DX_ALERTMANAGER_PORT:-9093}"; do
  owner="$(ss -Hltnp "sport = :$port" 2>/dev/null | head -n1)"
  [[ -z $owner ]] && continue
  ours=0
  for f in "$DX_PIDS"/*.pid; do
    [[ -f $f ]] && grep -q "pid=$(awk '{print $1}' "$f")," <<<"$owner" && ours=1
  done
  ((ours)) || log "NOTE: port $port is already in use by a process that is not ours: $owner"
done
log "ok"
