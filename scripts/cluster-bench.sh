#!/usr/bin/env bash
# The multi-process scenarios of BENCHMARKS.md (issue 9): several chatd
# processes as one service, sharing a PostgreSQL database and a Redis broker.
#
# Builds chatd, llmsim and chatload; starts a PRIVATE redis-server on a spare
# port (no persistence; the shared Redis on 6379 is never touched) and creates
# a fresh PostgreSQL database on 127.0.0.1:5432 (user postgres, trust auth),
# migrated once with `chatd migrate up`. Then, for each case, it starts one
# llmsim and N chatd processes (the environment of scripts/bench.sh plus
# CHAT_DATABASE_URL, CHAT_BROKER_URL and one CHAT_JWT_SECRET), runs chatload
# with the subscribers spread round-robin over the N processes (every POST to
# the first), stops them and empties Redis. At the end it prints one results
# table, stops Redis and drops the database (trap EXIT). Exits 1 when a
# zero-loss check failed, 2 when a case could not run; a missed performance
# target is reported, not an error.
#
# Cases: fanout with 1000 subscribers (5000-token reply) on 1 process without
# a broker (the in-process bus, the baseline) and on 1, 2 and 3 processes with
# Redis; fanout-latency (99 subscribers, 300 posts) on 1 process without and
# with Redis and on 3 processes (same-process vs other-process subscribers),
# and the same with 3 subscribers (on 3 processes: one each), where the room's
# own fan-out does not hide the broker's hop.
#
#   scripts/cluster-bench.sh                  every case at full size (about 7 minutes on 2 cores)
#   BENCH_QUICK=1 scripts/cluster-bench.sh    100 subscribers, 300 tokens, 50 posts: a smoke run
#   BENCH_CASES="fanout-1 fanout-3" ...       only these cases (names below)
#   BENCH_PROFILE=1 ...                       chatd built from test/bench with net/http/pprof; CPU and heap
#                                             profiles of process BENCH_PROFILE_PROC (default 1, the posted-to one)
#   BENCH_OUT=dir                             logs, results and profiles (default: a new temp dir, kept)
#   BENCH_WAIT_QUIET=1.5                      before each case, wait (at most 15 min) for the 1-minute load
#                                             average to fall below this (a shared machine)
#   BENCH_ARGS_fanout="-tokens 2000"          extra chatload flags for every fanout (or fanout_latency) case
#   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432   the PostgreSQL server (a database is created in it)
#   BENCH_REDIS_PORT=16391                    the private Redis's port (default: the first free one from 16390)
#
# Case names: fanout-1-bus fanout-1 fanout-2 fanout-3 latency-1-bus latency-1
# latency-3 latency-1-bus-s3 latency-1-s3 latency-3-s3 (the number is the chatd
# processes; -bus: no broker; -s3: 3 subscribers).
set -euo pipefail
cd "$(dirname "$0")/.."

cases=${BENCH_CASES:-"fanout-1-bus fanout-1 fanout-2 fanout-3 latency-1-bus latency-1 latency-3 latency-1-bus-s3 latency-1-s3 latency-3-s3"}
out=${BENCH_OUT:-$(mktemp -d -t chatd-cluster-bench.XXXXXX)}
mkdir -p "$out/bin"
bin="$out/bin"
sim_port=${BENCH_SIM_PORT:-11545}
chat_port=${BENCH_CHAT_PORT:-8120} # processes on chat_port, chat_port+1, ...
pprof_port=${BENCH_PPROF_PORT:-6170}
pg_url=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
summary="$out/results.md"
: >"$summary"
max_procs=3

if ! ulimit -n 20000 2>/dev/null; then
  echo "cluster-bench: cannot raise the open-files limit to 20000 (ulimit -Hn is $(ulimit -Hn))" >&2
  exit 2
fi
for tool in redis-server redis-cli psql curl; do
  if ! command -v "$tool" >/dev/null; then
    echo "cluster-bench: $tool is needed" >&2
    exit 2
  fi
done
if ! psql "$pg_url/postgres?sslmode=disable" -Atqc 'select 1' >/dev/null 2>&1; then
  echo "cluster-bench: no PostgreSQL at $pg_url (user postgres, trust auth)" >&2
  exit 2
fi

# cpu_seconds PID: the process's CPU time so far (user + system), in seconds.
cpu_seconds() { awk '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / 100 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

echo "cluster-bench: building into $bin"
CGO_ENABLED=0 go build -o "$bin/chatd" ./cmd/chatd
CGO_ENABLED=0 go build -o "$bin/llmsim" ./cmd/llmsim
CGO_ENABLED=0 go build -o "$bin/chatload" ./cmd/chatload
if [ -n "${BENCH_PROFILE:-}" ]; then
  CGO_ENABLED=0 go test -c -o "$bin/chatd-pprof" ./test/bench
  mkdir -p "$out/profiles"
fi

redis_pid=""
redis_port=""
db=""
sim_pid=""
chatd_pids=()

stop_servers() {
  local p
  for p in "${chatd_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${chatd_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  chatd_pids=()
  if [ -n "$sim_pid" ]; then
    kill -TERM "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
    sim_pid=""
  fi
}

cleanup() {
  stop_servers
  if [ -n "$redis_pid" ]; then
    kill -TERM "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=""
  fi
  if [ -n "$db" ]; then
    psql "$pg_url/postgres?sslmode=disable" -Atqc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 ||
      echo "cluster-bench: could not drop database $db" >&2
    db=""
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The private Redis.
redis_port=${BENCH_REDIS_PORT:-}
if [ -z "$redis_port" ]; then
  for p in $(seq 16390 16490); do
    if port_free "$p"; then redis_port=$p; break; fi
  done
fi
if [ -z "$redis_port" ] || [ "$redis_port" = 6379 ] || ! port_free "$redis_port"; then
  echo "cluster-bench: no spare port for the private Redis (${redis_port:-none found})" >&2
  exit 2
fi
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  >"$out/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 1 50); do
  if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then break; fi
  sleep 0.1
done
if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
  echo "cluster-bench: redis-server did not start; see $out/redis.log" >&2
  exit 2
fi
broker_url="redis://127.0.0.1:$redis_port/0"

# The fresh database, migrated once.
db="chatd_cluster_bench_$(date +%s)_$$"
psql "$pg_url/postgres?sslmode=disable" -Atqc "CREATE DATABASE \"$db\"" >/dev/null
database_url="$pg_url/$db?sslmode=disable"
jwt_secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "cluster-bench: redis on 127.0.0.1:$redis_port (pid $redis_pid), database $db"
CHAT_DATABASE_URL="$database_url" CHAT_JWT_SECRET="$jwt_secret" CHAT_LOG_LEVEL=warn \
  "$bin/chatd" migrate up >"$out/migrate.log" 2>&1 || {
  echo "cluster-bench: chatd migrate up failed; see $out/migrate.log" >&2
  cat "$out/migrate.log" >&2
  exit 2
}

# start_servers NAME N BROKER: one llmsim and N chatd processes (BROKER empty:
# the in-process bus, only for N=1).
start_servers() {
  local name=$1 n=$2 broker=$3 i
  "$bin/llmsim" --addr "127.0.0.1:$sim_port" --ttft 0 --tps 0 --tokens 5 2>"$out/$name.llmsim.log" &
  sim_pid=$!
  for i in $(seq 1 "$n"); do
    local -a cmd=("$bin/chatd")
    if [ -n "${BENCH_PROFILE:-}" ]; then
      cmd=("$bin/chatd-pprof" -test.run '^TestServeChatdWithPprof$' -test.timeout 0)
    fi
    CHATD_BENCH_SERVE=1 CHATD_BENCH_PPROF="127.0.0.1:$((pprof_port + i - 1))" \
    CHAT_HTTP_ADDR="127.0.0.1:$((chat_port + i - 1))" \
    CHAT_DATABASE_URL="$database_url" \
    CHAT_BROKER_URL="$broker" \
    CHAT_JWT_SECRET="$jwt_secret" \
    CHAT_LOCAL_BASE_URL="http://127.0.0.1:$sim_port/v1" \
    CHAT_RATE_LIMIT_API=0 CHAT_RATE_LIMIT_LLM=0 CHAT_RATE_LIMIT_AUTH=0 \
    CHAT_MAX_CONCURRENT_GENERATIONS=100000 \
    CHAT_ACCESS_TOKEN_TTL=2h \
    CHAT_LOG_LEVEL="${BENCH_LOG_LEVEL:-info}" \
      "${cmd[@]}" >"$out/$name.chatd$i.log" 2>&1 &
    chatd_pids+=($!)
  done
  for i in $(seq 1 "$n"); do
    local up=""
    for _ in $(seq 1 150); do
      if curl -sf "http://127.0.0.1:$((chat_port + i - 1))/api/v1/health/ready" >/dev/null 2>&1; then
        up=1
        break
      fi
      if ! kill -0 "${chatd_pids[$((i - 1))]}" 2>/dev/null; then break; fi
      sleep 0.1
    done
    if [ -z "$up" ]; then
      echo "cluster-bench: chatd $i of $n did not start; see $out/$name.chatd$i.log" >&2
      tail -n 20 "$out/$name.chatd$i.log" >&2 || true
      return 1
    fi
  done
}

# case_of NAME prints: processes, broker (yes/no), chatload's flags.
case_of() {
  local quick=${BENCH_QUICK:-} fan lat lat1
  if [ -n "$quick" ]; then
    fan="fanout -subs 100 -tokens 300"
    lat="fanout-latency -subs 99 -n 50 -warmup 5"
    lat1="fanout-latency -subs 3 -n 50 -warmup 5"
  else
    fan="fanout -subs 1000 -tokens 5000"
    lat="fanout-latency -subs 99 -n 300 -warmup 20"
    lat1="fanout-latency -subs 3 -n 300 -warmup 20"
  fi
  case $1 in
    fanout-1-bus)  echo "1 no $fan" ;;
    fanout-1)      echo "1 yes $fan" ;;
    fanout-2)      echo "2 yes $fan" ;;
    fanout-3)      echo "3 yes $fan" ;;
    latency-1-bus) echo "1 no $lat" ;;
    latency-1)     echo "1 yes $lat" ;;
    latency-3)     echo "3 yes $lat" ;;
    latency-1-bus-s3) echo "1 no $lat1" ;;
    latency-1-s3)  echo "1 yes $lat1" ;;
    latency-3-s3)  echo "3 yes $lat1" ;;
    *) return 1 ;;
  esac
}

wait_quiet() {
  [ -n "${BENCH_WAIT_QUIET:-}" ] || return 0
  for _ in $(seq 1 180); do
    if awk -v max="$BENCH_WAIT_QUIET" '{ exit !($1 < max) }' /proc/loadavg; then return 0; fi
    sleep 5
  done
  echo "cluster-bench: the load average stayed above $BENCH_WAIT_QUIET; measuring anyway" >&2
}

worst=0
started=$(date +%s)
for c in $cases; do
  if ! spec=$(case_of "$c"); then
    echo "cluster-bench: unknown case $c" >&2
    worst=2
    continue
  fi
  read -r n broker args <<<"$spec"
  if [ "$n" -gt "$max_procs" ]; then n=$max_procs; fi
  scenario=${args%% *}
  extra_var="BENCH_ARGS_${scenario//-/_}"
  extra=${!extra_var:-}
  broker_env=""
  procs_word=process
  if [ "$n" -gt 1 ]; then procs_word=processes; fi
  label="$c ($n $procs_word, "
  if [ "$broker" = yes ]; then broker_env=$broker_url; label+="Redis)"; else label+="in-process bus)"; fi
  wait_quiet
  echo
  echo "cluster-bench: $label ($(cut -d' ' -f1-3 /proc/loadavg) load average before)"
  echo "| $label | load average before (1/5/15 min) | $(cut -d' ' -f1-3 /proc/loadavg) |  |  |" >>"$summary"
  redis-cli -p "$redis_port" flushall >/dev/null
  if ! start_servers "$c" "$n" "$broker_env"; then
    stop_servers
    worst=2
    continue
  fi
  urls=""
  pids=""
  for i in $(seq 1 "$n"); do
    urls+="${urls:+,}http://127.0.0.1:$((chat_port + i - 1))"
    pids+="${pids:+,}${chatd_pids[$((i - 1))]}"
  done
  prof_args=()
  if [ -n "${BENCH_PROFILE:-}" ]; then
    pp=${BENCH_PROFILE_PROC:-1}
    if [ "$pp" -gt "$n" ]; then pp=1; fi
    prof_args=(-pprof "http://127.0.0.1:$((pprof_port + pp - 1))" -pprof-dir "$out/profiles")
  fi
  redis_cpu_before=$(cpu_seconds "$redis_pid")
  set +e
  # shellcheck disable=SC2086 # the case's flags are words on purpose
  timeout 600 "$bin/chatload" $args $extra -label "$label" -chatd "$urls" -pid "$pids" \
    -llmsim "http://127.0.0.1:$sim_port" -llmsim-pid "$sim_pid" -summary "$summary" "${prof_args[@]}" |
    tee "$out/$c.txt"
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$broker" = yes ]; then
    echo "| $label | redis-server CPU over the whole case (setup included) | $(awk -v a="$redis_cpu_before" -v b="$(cpu_seconds "$redis_pid")" 'BEGIN { printf "%.2f s", b - a }') |  |  |" >>"$summary"
  fi
  stop_servers
  # What the processes logged above info: a slow-consumer close, a broker error, a lost lease.
  for i in $(seq 1 "$n"); do
    rm -f "$out/$c.chatd$i.warnings"
    if grep -E '"level":"(warn|error)"|\b(WARN|ERROR)\b' "$out/$c.chatd$i.log" >"$out/$c.chatd$i.warnings" 2>/dev/null; then
      echo "cluster-bench: chatd $i of $c logged $(wc -l <"$out/$c.chatd$i.warnings") warnings or errors; first ones:" >&2
      head -n 3 "$out/$c.chatd$i.warnings" | cut -c1-400 >&2
    else
      rm -f "$out/$c.chatd$i.warnings"
    fi
  done
  if [ "$rc" -ne 0 ]; then
    echo "cluster-bench: $c exited $rc" >&2
    if [ "$rc" -eq 1 ] && [ "$worst" -eq 0 ]; then worst=1; fi
    if [ "$rc" -ge 2 ]; then worst=2; fi
  fi
  if [ -n "${BENCH_PROFILE:-}" ]; then
    for p in "$out/profiles/$c "*-cpu.pprof; do
      [ -f "$p" ] && go tool pprof -top -nodecount=40 "$bin/chatd-pprof" "$p" >"${p%.pprof}.top.txt" 2>/dev/null || true
    done
  fi
done

# The short table: one line per case, from the rows chatload wrote.
short() {
  awk -F' \\| ' -v want="$1" '{ sub(/^\| /, "", $1) } $2 == want { print $1 "\t" $3 }' "$summary"
}
echo
echo "## Results ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go env GOVERSION), PostgreSQL, Redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), $(($(date +%s) - started)) s)"
echo
echo "| case | tokens delivered per second (all subscribers) |"
echo "|---|---|"
short "tokens delivered per second (all subscribers)" | awk -F'\t' '{ printf "| %s | %s |\n", $1, $2 }'
echo
echo "| case | at the last subscriber, p50 / p99 | every subscriber on the posting process, p50 / p99 | on the other processes, p50 / p99 | added by another process, p50 / p99 |"
echo "|---|---|---|---|---|"
for c in $cases; do
  case $c in latency-*) ;; *) continue ;; esac
  lbl=$(grep -m1 -F "| $c (" "$summary" | awk -F' \\| ' '{ sub(/^\| /, "", $1); print $1 }')
  [ -n "$lbl" ] || continue
  pick() { awk -F' \\| ' -v l="$lbl" -v m="$1" '{ sub(/^\| /, "", $1) } $1 == l && index($2, m) == 1 { print $3; exit }' "$summary"; }
  p50p99() { sed -n 's/^p50 \([0-9.]*\) ms .* p99 \([0-9.]*\) ms .*/\1 \/ \2 ms/p'; }
  last=$(pick "POST -> first delta at the last (" | p50p99)
  same=$(pick "POST -> first delta, every subscriber on the posting process" | p50p99)
  other=$(pick "POST -> first delta, every subscriber on the other processes" | p50p99)
  add=$(pick "added by another process (other - posting, every subscriber)")
  echo "| $lbl | ${last:--} | ${same:--} | ${other:--} | ${add:--} |"
done
echo
echo "| case | metric | value | target | verdict |"
echo "|---|---|---|---|---|"
cat "$summary"
echo
echo "cluster-bench: logs, results and profiles in $out"
case $worst in
  1) echo "cluster-bench: a ZERO-LOSS check failed" >&2 ;;
  2) echo "cluster-bench: a case could not run" >&2 ;;
esac
exit "$worst"
