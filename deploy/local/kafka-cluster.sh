#!/usr/bin/env bash
# A three-node Apache Kafka cluster on loopback (KRaft; every node is broker + controller, a controller quorum of
# three) from the same Maven jars as deploy/local/kafka.sh, for the fault tests on replicated topics (replication 3,
# min.insync.replicas=2). The single-node broker of deploy/local/kafka.sh stays the development default.
#   deploy/local/kafka-cluster.sh start|stop|status          all three nodes
#   deploy/local/kafka-cluster.sh start N|stop N|kill N      one node (N = 1, 2 or 3); kill = SIGKILL
#   deploy/local/kafka-cluster.sh pause N|resume N           SIGSTOP / SIGCONT one node
#   deploy/local/kafka-cluster.sh wipe N                     delete a stopped node's data and reformat it
# Ports: DX_KAFKA_CLUSTER_PORTS (client, default "19092 19093 19094") and DX_KAFKA_CLUSTER_CONTROLLER_PORTS
# (default "19192 19193 19194"): never the shared broker's 9092/9095. Heap per node: DX_KAFKA_CLUSTER_HEAP (256m).
# Data: <run dir>/data/kafka-cluster/node-N/ (server.properties, logs/ = log.dirs); cluster id in cluster.id.
# Logs: <run dir>/logs/kafka-node-N.log. Pid files: kafka-node-N. Run dir: DX_RUN_DIR (default .run).
set -euo pipefail
DX_COMPONENT=kafka-cluster
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_VERSION=4.1.1            # keep in sync with deploy/local/kafka.sh
read -r -a PORTS <<<"${DX_KAFKA_CLUSTER_PORTS:-19092 19093 19094}"
read -r -a CPORTS <<<"${DX_KAFKA_CLUSTER_CONTROLLER_PORTS:-19192 19193 19194}"
HEAP="${DX_KAFKA_CLUSTER_HEAP:-256m}"
READY_TIMEOUT="${DX_KAFKA_READY_TIMEOUT:-120}"
LIBS="$DX_CACHE/kafka-$KAFKA_VERSION/libs"
CDATA="$DX_DATA/kafka-cluster"
READY_LINE="Kafka Server started"
NODES=(1 2 3)
((${#PORTS[@]} == 3 && ${#CPORTS[@]} == 3)) || die "DX_KAFKA_CLUSTER_PORTS and _CONTROLLER_PORTS need three ports each"

name() { echo "kafka-node-$1"; }
port() { echo "${PORTS[$(($1 - 1))]}"; }
cport() { echo "${CPORTS[$(($1 - 1))]}"; }
node_dir() { echo "$CDATA/node-$1"; }
logfile() { echo "$DX_LOGS/$(name "$1").log"; }
kjava() { java -cp "$LIBS/*" "$@"; }
node_arg() { [[ ${1:-} =~ ^[123]$ ]] || die "node must be 1, 2 or 3 (got '${1:-}')"; }

voters() {
  local n out=()
  for n in "${NODES[@]}"; do out+=("$n@127.0.0.1:$(cport "$n")"); done
  (IFS=,; echo "${out[*]}")
}

cluster_id() {
  mkdir -p "$CDATA"
  [[ -s $CDATA/cluster.id ]] || kjava kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1 >"$CDATA/cluster.id"
  cat "$CDATA/cluster.id"
}

render_props() {
  local n=$1 dir
  dir="$(node_dir "$n")"
  mkdir -p "$dir/logs"
  sed -e "s|@NODE_ID@|$n|g" -e "s|@KAFKA_PORT@|$(port "$n")|g" -e "s|@CONTROLLER_PORT@|$(cport "$n")|g" \
    -e "s|@VOTERS@|$(voters)|g" -e "s|@LOG_DIRS@|$dir/logs|g" \
    "$DX_ROOT/deploy/kafka/cluster.properties.tmpl" >"$dir/server.properties"
}

# Format a node's storage once (static quorum: no --standalone); a restart, even after SIGKILL, reuses its data.
format_storage() {
  local n=$1 dir
  dir="$(node_dir "$n")"
  [[ -f $dir/logs/meta.properties ]] && return 0
  log "node $n: formatting storage (cluster id $(cluster_id))"
  kjava kafka.tools.StorageTool format -t "$(cluster_id)" -c "$dir/server.properties" >>"$(logfile "$n")" 2>&1 \
    || { tail_log "$(logfile "$n")"; die "node $n: storage format failed"; }
}

# launch N: start node N in the background, without waiting.
launch() {
  local n=$1
  rm -f "$(pid_file "$(name "$n")")"
  port_free_or_die "$(port "$n")" "kafka node $n"
  port_free_or_die "$(cport "$n")" "kafka node $n controller"
  render_props "$n"
  format_storage "$n"
  start_bg "$(name "$n")" "$(logfile "$n")" java "-Xmx$HEAP" "-Xms$HEAP" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$DX_ROOT/deploy/kafka/log4j2.properties" \
    -Dkafka.logs.dir="$DX_LOGS/kafka-node-$n" -cp "$LIBS/*" kafka.Kafka "$(node_dir "$n")/server.properties"
}

# await N OFFSET DEADLINE: wait until node N answers and has logged its start after OFFSET.
await_node() {
  local n=$1 offset=$2 deadline=$3 lf
  lf="$(logfile "$n")"
  while :; do
    pid_alive "$(name "$n")" || { tail_log "$lf"; rm -f "$(pid_file "$(name "$n")")"; die "node $n exited during startup"; }
    if port_open 127.0.0.1 "$(port "$n")" && tail -c "+$((offset + 1))" "$lf" | grep -q "$READY_LINE"; then break; fi
    ((SECONDS < deadline)) || { tail_log "$lf"; die "node $n not ready after ${READY_TIMEOUT}s (left running)"; }
    sleep 0.5
  done
  log "node $n ready on 127.0.0.1:$(port "$n") (pid $(read_pid "$(name "$n")"))"
}

# start NODES...: launch them together (a node's broker starts only once the controller quorum has a majority),
# then wait for each. A node already running is left alone.
start() {
  local n deadline offsets=() waiting=()
  command -v java >/dev/null || die "java not found: run deploy/local/install.sh"
  "$DX_ROOT/deploy/local/kafka.sh" fetch
  for n in "$@"; do
    if pid_alive "$(name "$n")"; then log "node $n: already running (pid $(read_pid "$(name "$n")"))"; continue; fi
    touch "$(logfile "$n")"
    offsets+=("$(stat -c %s "$(logfile "$n")")")
    waiting+=("$n")
    launch "$n"
  done
  deadline=$((SECONDS + READY_TIMEOUT))
  local i
  for ((i = 0; i < ${#waiting[@]}; i++)); do await_node "${waiting[$i]}" "${offsets[$i]}" "$deadline"; done
}

# stop NODES...: SIGTERM them together (a controlled shutdown of the last node needs the others' quorum).
stop() {
  local n
  for n in "$@"; do stop_pid "$(name "$n")" & done
  wait
}

# SIGKILL a node and wait until its listeners are gone, so `start N` can follow at once.
kill_node() {
  local n=$1 pid i
  pid_alive "$(name "$n")" || { log "node $n: not running"; return 0; }
  pid="$(read_pid "$(name "$n")")"
  kill -KILL "$pid"
  log "node $n: killed pid $pid with SIGKILL"
  for ((i = 0; i < 60; i++)); do
    port_open 127.0.0.1 "$(port "$n")" || port_open 127.0.0.1 "$(cport "$n")" || break
    sleep 0.25
  done
}

signal_node() {
  local n=$1 sig=$2
  pid_alive "$(name "$n")" || die "node $n: not running"
  kill "-$sig" "$(read_pid "$(name "$n")")"
  log "node $n: sent SIG$sig to pid $(read_pid "$(name "$n")")"
}

# A lost disk: the node must be stopped; its data goes, its identity (node id, cluster id) stays.
wipe_node() {
  local n=$1
  pid_alive "$(name "$n")" && die "node $n is running: kill or stop it first"
  rm -rf "$(node_dir "$n")/logs"
  log "node $n: data deleted"
  render_props "$n"
  format_storage "$n"
}

status() {
  local n
  for n in "${NODES[@]}"; do status_line "$(name "$n")" "$(port "$n")"; done
}

action="${1:-}"
if [[ -n ${2:-} ]]; then node_arg "$2"; fi
case "$action" in
  start) if [[ -n ${2:-} ]]; then start "$2"; else start "${NODES[@]}"; fi ;;
  stop) if [[ -n ${2:-} ]]; then stop "$2"; else stop "${NODES[@]}"; fi ;;
  status) status ;;
  kill) node_arg "${2:-}"; kill_node "$2" ;;
  pause) node_arg "${2:-}"; signal_node "$2" STOP ;;
  resume) node_arg "${2:-}"; signal_node "$2" CONT ;;
  wipe) node_arg "${2:-}"; wipe_node "$2" ;;
  bootstrap) (IFS=,; p=(); for n in "${NODES[@]}"; do p+=("127.0.0.1:$(port "$n")"); done; echo "${p[*]}") ;;
  *) echo "usage: $0 start [N]|stop [N]|status|kill N|pause N|resume N|wipe N|bootstrap" >&2; exit 2 ;;
esac
