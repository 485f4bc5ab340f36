#!/usr/bin/env bash
# The load scenarios of BENCHMARKS.md against real processes on loopback.
#
# Builds chatd, llmsim and chatload; for each scenario starts a fresh llmsim
# and a fresh chatd (SQLite in a temp dir, no rate limits, a high concurrent-
# generation limit, ulimit -n 20000 for each process), runs chatload, stops
# both, and at the end prints one results table. Exits 1 when a zero-loss
# check failed, 2 when a scenario could not run at all; a missed performance
# target is reported, not an error.
#
#   scripts/bench.sh                          every scenario, at the sizes of BENCHMARKS.md
#   BENCH_SCENARIOS="first-delta fanout" scripts/bench.sh
#   BENCH_QUICK=1 scripts/bench.sh            small sizes: a smoke run of about a minute
#   BENCH_PROFILE=1 scripts/bench.sh          chatd built from test/bench with net/http/pprof;
#                                             CPU and heap profiles of each measured phase
#   BENCH_OUT=dir                             logs, results and profiles (default: a new temp dir, kept)
#   BENCH_ARGS_fanout="-tps 400"              extra chatload flags for one scenario ('-' in its name becomes '_')
#   BENCH_WAIT_QUIET=1.5                      before each scenario, wait (at most 15 min) for the 1-minute load
#                                             average to fall below this (a shared machine)
#   BENCH_DATA_DIR=/dev/shm                   where chatd's SQLite file lives (default: under BENCH_OUT, on disk);
#                                             tmpfs takes fsync off the write path, to measure it apart
#
# Scenarios: first-delta streams idle-sockets fanout fanout-paced fanout-latency
# (fanout-paced is fanout with llmsim paced at 400 tokens/s: the sustained rate
# rather than a burst).
# Several chatd processes on PostgreSQL and Redis (issue 9): scripts/cluster-bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

scenarios=${BENCH_SCENARIOS:-"first-delta streams idle-sockets fanout fanout-paced fanout-latency"}
out=${BENCH_OUT:-$(mktemp -d -t chatd-bench.XXXXXX)}
mkdir -p "$out/bin"
bin="$out/bin"
sim_port=${BENCH_SIM_PORT:-11535}
chat_port=${BENCH_CHAT_PORT:-8110}
pprof_port=${BENCH_PPROF_PORT:-6160}
summary="$out/results.md"
: >"$summary"

if ! ulimit -n 20000 2>/dev/null; then
  echo "bench: cannot raise the open-files limit to 20000 (ulimit -Hn is $(ulimit -Hn))" >&2
  exit 2
fi

echo "bench: building into $bin"
CGO_ENABLED=0 go build -o "$bin/chatd" ./cmd/chatd
CGO_ENABLED=0 go build -o "$bin/llmsim" ./cmd/llmsim
CGO_ENABLED=0 go build -o "$bin/chatload" ./cmd/chatload
if [ -n "${BENCH_PROFILE:-}" ]; then
  CGO_ENABLED=0 go test -c -o "$bin/chatd-pprof" ./test/bench
  mkdir -p "$out/profiles"
fi

sim_pid=""
chatd_pid=""
data=""

stop_servers() {
  if [ -n "$chatd_pid" ]; then
    kill -TERM "$chatd_pid" 2>/dev/null || true
    wait "$chatd_pid" 2>/dev/null || true
    chatd_pid=""
  fi
  if [ -n "$sim_pid" ]; then
    kill -TERM "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
    sim_pid=""
  fi
  if [ -n "$data" ]; then
    rm -rf "$data"
    data=""
  fi
}
trap stop_servers EXIT

start_servers() {
  local name=$1
  data=$(mktemp -d "${BENCH_DATA_DIR:-$out}/chatd-data.XXXXXX")
  "$bin/llmsim" --addr "127.0.0.1:$sim_port" --ttft 0 --tps 0 --tokens 5 2>"$out/$name.llmsim.log" &
  sim_pid=$!
  local -a cmd=("$bin/chatd")
  if [ -n "${BENCH_PROFILE:-}" ]; then
    cmd=("$bin/chatd-pprof" -test.run '^TestServeChatdWithPprof$' -test.timeout 0)
  fi
  CHATD_BENCH_SERVE=1 CHATD_BENCH_PPROF="127.0.0.1:$pprof_port" \
  CHAT_HTTP_ADDR="127.0.0.1:$chat_port" \
  CHAT_DATABASE_URL="sqlite://$data/chat.db" \
  CHAT_LOCAL_BASE_URL="http://127.0.0.1:$sim_port/v1" \
  CHAT_RATE_LIMIT_API=0 CHAT_RATE_LIMIT_LLM=0 CHAT_RATE_LIMIT_AUTH=0 \
  CHAT_MAX_CONCURRENT_GENERATIONS=100000 \
  CHAT_ACCESS_TOKEN_TTL=2h \
  CHAT_LOG_LEVEL="${BENCH_LOG_LEVEL:-info}" \
    "${cmd[@]}" >"$out/$name.chatd.log" 2>&1 &
  chatd_pid=$!
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$chat_port/api/v1/health/ready" >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$chatd_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "bench: chatd did not start; see $out/$name.chatd.log" >&2
  tail -n 20 "$out/$name.chatd.log" >&2 || true
  return 1
}

# args_for prints chatload's flags for a scenario.
args_for() {
  local quick=${BENCH_QUICK:-}
  case $1 in
    first-delta)    if [ -n "$quick" ]; then echo "first-delta -n 60 -warmup 5"; else echo "first-delta -n 300 -warmup 20"; fi ;;
    streams)        if [ -n "$quick" ]; then echo "streams -n 200 -users 4"; else echo "streams -n 2000 -users 20"; fi ;;
    idle-sockets)   if [ -n "$quick" ]; then echo "idle-sockets -n 1000 -settle 3s"; else echo "idle-sockets -n 10000 -sessions 10 -settle 15s"; fi ;;
    fanout)         if [ -n "$quick" ]; then echo "fanout -subs 100 -tokens 300"; else echo "fanout -subs 1000 -tokens 5000"; fi ;;
    fanout-paced)   if [ -n "$quick" ]; then echo "fanout -label fanout-paced -subs 100 -tokens 300 -tps 400"; else echo "fanout -label fanout-paced -subs 1000 -tokens 5000 -tps 400"; fi ;;
    fanout-latency) if [ -n "$quick" ]; then echo "fanout-latency -n 50 -warmup 5"; else echo "fanout-latency -subs 100 -n 300 -warmup 20"; fi ;;
    *) return 1 ;;
  esac
}

# wait_quiet waits until the 1-minute load average is below BENCH_WAIT_QUIET.
wait_quiet() {
  [ -n "${BENCH_WAIT_QUIET:-}" ] || return 0
  for _ in $(seq 1 180); do
    if awk -v max="$BENCH_WAIT_QUIET" '{ exit !($1 < max) }' /proc/loadavg; then return 0; fi
    sleep 5
  done
  echo "bench: the load average stayed above $BENCH_WAIT_QUIET; measuring anyway" >&2
}

worst=0
for sc in $scenarios; do
  if ! base_args=$(args_for "$sc"); then
    echo "bench: unknown scenario $sc" >&2
    worst=2
    continue
  fi
  extra_var="BENCH_ARGS_${sc//-/_}"
  extra=${!extra_var:-}
  wait_quiet
  echo
  echo "bench: $sc ($(cut -d' ' -f1-3 /proc/loadavg) load average before)"
  echo "| $sc | load average before (1/5/15 min) | $(cut -d' ' -f1-3 /proc/loadavg) |  |  |" >>"$summary"
  if ! start_servers "$sc"; then
    stop_servers
    worst=2
    continue
  fi
  prof_args=()
  if [ -n "${BENCH_PROFILE:-}" ]; then
    prof_args=(-pprof "http://127.0.0.1:$pprof_port" -pprof-dir "$out/profiles")
  fi
  # shellcheck disable=SC2086 # the scenario's flags are words on purpose
  set +e
  "$bin/chatload" $base_args $extra -chatd "http://127.0.0.1:$chat_port" -llmsim "http://127.0.0.1:$sim_port" \
    -pid "$chatd_pid" -llmsim-pid "$sim_pid" -summary "$summary" "${prof_args[@]}" | tee "$out/$sc.txt"
  rc=${PIPESTATUS[0]}
  set -e
  stop_servers
  if [ "$rc" -ne 0 ]; then
    echo "bench: $sc exited $rc" >&2
    if [ "$rc" -eq 1 ] && [ "$worst" -eq 0 ]; then worst=1; fi
    if [ "$rc" -ge 2 ]; then worst=2; fi
  fi
  if [ -n "${BENCH_PROFILE:-}" ]; then
    for p in "$out/profiles/$sc"*-cpu.pprof; do
      [ -f "$p" ] && go tool pprof -top -nodecount=40 "$bin/chatd-pprof" "$p" >"${p%.pprof}.top.txt" 2>/dev/null || true
    done
  fi
done

echo
echo "## Results ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go env GOVERSION), SQLite in ${BENCH_DATA_DIR:-$out})"
echo
echo "| scenario | metric | value | target | verdict |"
echo "|---|---|---|---|---|"
cat "$summary"
echo
echo "bench: logs, results and profiles in $out"
case $worst in
  1) echo "bench: a ZERO-LOSS check failed" >&2 ;;
  2) echo "bench: a scenario could not run" >&2 ;;
esac
exit "$worst"
