# shellcheck shell=bash
# Shared helpers for the dxmon native local stack (sourced by the other deploy/local/*.sh).
#
# Runtime state lives under the repo root (gitignored), located from this file, so any clone folder works:
#   .run/logs/<name>.log   .run/pids/<name>.pid   .run/data/<name>/
# A pid file holds "PID STARTTIME" (STARTTIME = field 22 of /proc/PID/stat), so a PID recycled by an
# unrelated process after a crash or reboot is never taken for ours, and never signalled.

# shellcheck disable=SC2034  # these are used by the scripts that source this file
DX_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
DX_RUN="${DX_RUN_DIR:-$DX_ROOT/.run}"  # DX_RUN_DIR lets tests run a private second instance
DX_LOGS="$DX_RUN/logs"
DX_PIDS="$DX_RUN/pids"
DX_DATA="$DX_RUN/data"
DX_CACHE="$DX_ROOT/.cache"
mkdir -p "$DX_LOGS" "$DX_PIDS" "$DX_DATA"

log() { printf '[%s] %s\n' "${DX_COMPONENT:-dx}" "$*"; }
die() { printf '[%s] ERROR: %s\n' "${DX_COMPONENT:-dx}" "$*" >&2; exit 1; }

pid_file() { echo "$DX_PIDS/$1.pid"; }

# Start time of a live process (clock ticks since boot), empty if it does not exist.
proc_starttime() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  # The command name (field 2) may contain spaces: cut everything up to the last ')'.
  stat="${stat##*) }"
  # shellcheck disable=SC2086
  set -- $stat
  echo "${20}"   # field 22 overall = field 20 after pid and comm
}

# write_pid NAME PID: record a process we started (or, for postgres, the postmaster).
write_pid() { echo "$2 $(proc_starttime "$2")" >"$(pid_file "$1")"; }

# read_pid NAME: print the PID from the pid file (empty if none).
read_pid() { local f; f="$(pid_file "$1")"; if [[ -f $f ]]; then awk '{print $1}' "$f"; fi; }

# pid_alive NAME: true if the pid file names a live (non-zombie) process that is the one we started.
pid_alive() {
  local f pid st now state
  f="$(pid_file "$1")"
  [[ -f $f ]] || return 1
  read -r pid st <"$f" || true
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  now="$(proc_starttime "$pid")"
  [[ -n $now ]] || return 1
  [[ $st == "$now" ]] || return 1
  state="$(awk '/^State:/{print $2}' "/proc/$pid/status" 2>/dev/null)"
  [[ $state != Z ]]
}

# port_open HOST PORT: true if a TCP connect succeeds.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# wait_port HOST PORT TIMEOUT_SECONDS
wait_port() {
  local deadline=$((SECONDS + $3))
  until port_open "$1" "$2"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# http_ok URL: true on a 2xx answer.
http_ok() { curl -fsS -o /dev/null --max-time 3 "$1" 2>/dev/null; }

# port_free_or_die PORT WHAT: refuse to start if a foreign process already holds our port.
port_free_or_die() {
  if port_open 127.0.0.1 "$1"; then
    die "port 127.0.0.1:$1 is already in use by another process (not ours); cannot start $2. See: ss -ltnp 'sport = :$1'"
  fi
}

# start_bg NAME LOGFILE CMD...: run CMD detached (own session, immune to SIGHUP, stdin from /dev/null),
# appending stdout+stderr to LOGFILE, and write the pid file. setsid does not fork here (a background job of a
# non-interactive shell is not a process-group leader), so $! is the PID of CMD itself.
start_bg() {
  local name=$1 logfile=$2
  shift 2
  printf '\n===== %s starting %s: %s\n' "$(date -Is)" "$name" "$*" >>"$logfile"
  setsid nohup "$@" </dev/null >>"$logfile" 2>&1 &
  write_pid "$name" "$!"
}

# stop_pid NAME: SIGTERM the process named by our pid file, wait up to DX_STOP_TIMEOUT (20 s), then SIGKILL.
# Never signals anything but that PID. Removes the pid file. Quiet success if nothing is running.
stop_pid() {
  local name=$1 pid i
  if ! pid_alive "$name"; then
    rm -f "$(pid_file "$name")"
    log "$name: not running"
    return 0
  fi
  pid="$(read_pid "$name")"
  log "$name: stopping pid $pid (SIGTERM)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < ${DX_STOP_TIMEOUT:-20} * 2; i++)); do
    pid_alive "$name" || break
    sleep 0.5
  done
  if pid_alive "$name"; then
    log "$name: still alive after ${DX_STOP_TIMEOUT:-20}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$(pid_file "$name")"
  log "$name: stopped"
}

# status_line NAME PORT: one line "name  running|stopped  pid  port  reachable yes|no".
status_line() {
  local name=$1 port=$2 state=stopped pid=- reach=no
  if pid_alive "$name"; then state=running; pid="$(read_pid "$name")"; fi
  port_open 127.0.0.1 "$port" && reach=yes
  printf '%-13s %-8s pid=%-8s port=%-6s reachable=%s\n' "$name" "$state" "$pid" "$port" "$reach"
}

# tail_log FILE: show the end of a log after a failed start.
tail_log() { echo "----- last lines of $1 -----" >&2; tail -n "${2:-40}" "$1" >&2 || true; }

# wait_ready NAME URL TIMEOUT LOGFILE: poll URL until 2xx; fail (showing the log) if process NAME dies first.
wait_ready() {
  local name=$1 url=$2 deadline=$((SECONDS + $3)) logfile=$4
  until http_ok "$url"; do
    if ! pid_alive "$name"; then
      tail_log "$logfile"; rm -f "$(pid_file "$name")"; die "$name exited during startup"
    fi
    ((SECONDS < deadline)) || { tail_log "$logfile"; die "$name not ready after $3 s ($url); still running, pid $(read_pid "$name")"; }
    sleep 0.5
  done
}

# start_daemon NAME PORT READY_URL TIMEOUT CMD...: idempotent start of a background process answering HTTP.
start_daemon() {
  local name=$1 port=$2 url=$3 timeout=$4 logfile="$DX_LOGS/$1.log"
  shift 4
  if pid_alive "$name"; then
    wait_ready "$name" "$url" "$timeout" "$logfile"
    log "already running (pid $(read_pid "$name")), ready on 127.0.0.1:$port"
    return 0
  fi
  rm -f "$(pid_file "$name")"
  port_free_or_die "$port" "$name"
  start_bg "$name" "$logfile" "$@"
  wait_ready "$name" "$url" "$timeout" "$logfile"
  log "ready on 127.0.0.1:$port (pid $(read_pid "$name"))"
}
