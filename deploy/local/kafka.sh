#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, broker+controller in one JVM) from Maven Central jars.
#   deploy/local/kafka.sh start|stop|status|kill|fetch   (fetch: only the jars; deploy/local/kafka-cluster.sh uses it)
# PLAINTEXT 127.0.0.1:${DX_KAFKA_PORT:-9092}; CONTROLLER 127.0.0.1:${DX_KAFKA_CONTROLLER_PORT:-9095}.
# Jars: .cache/kafka-<version>/libs (fetched once with mvn from deploy/kafka/pom.xml; refetched if the pom changes).
# Data: .run/data/kafka (server.properties rendered from deploy/kafka/server.properties.tmpl, logs/ = log.dirs).
# Log:  .run/logs/kafka.log. Ready = port open AND "Kafka Server started" logged by this start.
set -euo pipefail
DX_COMPONENT=kafka
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_VERSION=4.1.1            # keep in sync with kafka.version in deploy/kafka/pom.xml
PORT="${DX_KAFKA_PORT:-9092}"
CPORT="${DX_KAFKA_CONTROLLER_PORT:-9095}"
READY_TIMEOUT="${DX_KAFKA_READY_TIMEOUT:-90}"
POM="$DX_ROOT/deploy/kafka/pom.xml"
HOME_DIR="$DX_CACHE/kafka-$KAFKA_VERSION"
LIBS="$HOME_DIR/libs"
KDATA="$DX_DATA/kafka"
PROPS="$KDATA/server.properties"
LOGFILE="$DX_LOGS/kafka.log"
READY_LINE="Kafka Server started"

# Download the broker's runtime class path once (Maven's ~/.m2 makes a refetch fast). Fetch into a temp
# dir and swap it in, so an interrupted download never leaves a half-filled cache.
fetch_jars() {
  local sum
  sum="$(sha256sum "$POM" | awk '{print $1}')"
  [[ -f $HOME_DIR/pom.sha256 && $(cat "$HOME_DIR/pom.sha256") == "$sum" && -f $LIBS/kafka_2.13-$KAFKA_VERSION.jar ]] && return 0
  command -v mvn >/dev/null || die "mvn not found: run deploy/local/install.sh"
  log "fetching Kafka $KAFKA_VERSION jars with Maven into $LIBS"
  rm -rf "$HOME_DIR.tmp"
  mvn -B -q -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$HOME_DIR.tmp/libs" >"$DX_LOGS/kafka-fetch.log" 2>&1 \
    || { tail_log "$DX_LOGS/kafka-fetch.log"; die "Maven fetch failed (network to Maven Central needed on first use)"; }
  rm -rf "$HOME_DIR" && mv "$HOME_DIR.tmp" "$HOME_DIR" && echo "$sum" >"$HOME_DIR/pom.sha256"
}

kjava() { java -cp "$LIBS/*" "$@"; }

render_props() {
  mkdir -p "$KDATA/logs"
  sed -e "s|@KAFKA_PORT@|$PORT|g" -e "s|@CONTROLLER_PORT@|$CPORT|g" -e "s|@LOG_DIRS@|$KDATA/logs|g" \
    "$DX_ROOT/deploy/kafka/server.properties.tmpl" >"$PROPS"
}

# Format the KRaft storage once; a restart (even after SIGKILL) reuses the existing data.
format_storage() {
  [[ -f $KDATA/logs/meta.properties ]] && return 0
  local cid
  cid="$(kjava kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
  log "formatting storage (cluster id $cid)"
  kjava kafka.tools.StorageTool format --standalone -t "$cid" -c "$PROPS" >>"$LOGFILE" 2>&1 \
    || { tail_log "$LOGFILE"; die "storage format failed"; }
}

start() {
  if pid_alive kafka; then
    if port_open 127.0.0.1 "$PORT"; then log "already running (pid $(read_pid kafka)), ready on 127.0.0.1:$PORT"; return 0; fi
    log "running (pid $(read_pid kafka)) but not answering yet; waiting"
    wait_port 127.0.0.1 "$PORT" "$READY_TIMEOUT" || die "pid $(read_pid kafka) alive but port $PORT closed after ${READY_TIMEOUT}s"
    log "ready"; return 0
  fi
  rm -f "$(pid_file kafka)"   # stale (e.g. after kill -9)
  port_free_or_die "$PORT" kafka
  port_free_or_die "$CPORT" "kafka controller"
  command -v java >/dev/null || die "java not found: run deploy/local/install.sh"
  fetch_jars
  render_props
  touch "$LOGFILE"
  format_storage
  local offset pid deadline
  offset=$(stat -c %s "$LOGFILE")
  start_bg kafka "$LOGFILE" java -Xmx512m -Xms256m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$DX_ROOT/deploy/kafka/log4j2.properties" -Dkafka.logs.dir="$DX_LOGS/kafka" \
    -cp "$LIBS/*" kafka.Kafka "$PROPS"
  pid="$(read_pid kafka)"
  log "started pid $pid; waiting up to ${READY_TIMEOUT}s for readiness"
  deadline=$((SECONDS + READY_TIMEOUT))
  while :; do
    pid_alive kafka || { tail_log "$LOGFILE"; rm -f "$(pid_file kafka)"; die "broker exited during startup"; }
    if port_open 127.0.0.1 "$PORT" && tail -c "+$((offset + 1))" "$LOGFILE" | grep -q "$READY_LINE"; then break; fi
    ((SECONDS < deadline)) || { tail_log "$LOGFILE"; die "not ready after ${READY_TIMEOUT}s (pid $pid left running; stop with: $0 stop)"; }
    sleep 0.5
  done
  log "ready on 127.0.0.1:$PORT (pid $pid)"
}

# SIGKILL the broker (fault tests) and wait until its listeners are gone, so `start` can follow at once.
kill_broker() {
  local pid i
  pid_alive kafka || { log "not running"; return 0; }
  pid="$(read_pid kafka)"
  kill -KILL "$pid"
  log "killed pid $pid with SIGKILL"
  for ((i = 0; i < 60; i++)); do
    port_open 127.0.0.1 "$PORT" || port_open 127.0.0.1 "$CPORT" || break
    sleep 0.25
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop_pid kafka ;;
  kill) kill_broker ;;
  status) status_line kafka "$PORT" ;;
  fetch) fetch_jars ;;
  *) echo "usage: $0 start|stop|kill|status|fetch" >&2; exit 2 ;;
esac
