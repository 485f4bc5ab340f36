#!/usr/bin/env bash
# The load scenarios of BENCHMARKS.md against real processes on loopback,
# with the peers of issue 10 in the same sitting.
#
# Builds chatd, llmsim and chatload (and Centrifugo v6.9.1, the fan-out peer,
# when a peer-* scenario is asked for); for each scenario starts a fresh llmsim
# and a fresh chatd (SQLite in a temp dir, no rate limits, a high concurrent-
# generation limit, ulimit -n 20000 for each process) or a fresh Centrifugo,
# runs chatload, stops them, and at the end prints ONE table: each target of
# issue 10 with chatd's figure, the peer's (Centrifugo measured in this run;
# GoModel's from the issue text, marked so), the ratio, the target and the
# verdict. Every row chatload reported is in $BENCH_OUT/results.md. Exits 1
# when a zero-loss check of chatd failed, 2 when a scenario could not run at
# all; a missed performance target is reported, not an error.
#
#   scripts/bench.sh                          every scenario, at the sizes of BENCHMARKS.md
#   BENCH_SCENARIOS="first-delta fanout" scripts/bench.sh
#   BENCH_QUICK=1 scripts/bench.sh            small sizes: a smoke run of a few minutes
#   BENCH_PROFILE=1 scripts/bench.sh          chatd built from test/bench with net/http/pprof;
#                                             CPU and heap profiles of each measured phase
#   BENCH_OUT=dir                             logs, results and profiles (default: a new temp dir, kept)
#   BENCH_ARGS_fanout="-tps 400"              extra chatload flags for one scenario ('-' in its name becomes '_')
#   BENCH_WAIT_QUIET=1.5                      before each scenario, wait (at most 15 min) for the 1-minute load
#                                             average to fall below this (a shared machine)
#   BENCH_DATA_DIR=/dev/shm                   where chatd's SQLite file lives (default: under BENCH_OUT, on disk);
#                                             tmpfs takes fsync off the write path, to measure it apart
#   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432   also run burst and rest-* on PostgreSQL (a fresh database
#                                             per scenario, dropped after it); CHAT_TEST_POSTGRES_URL (which
#                                             `make bench` sets when a server answers on 127.0.0.1:5432) does too
#   BENCH_CENTRIFUGO=path                     a Centrifugo binary to use instead of building v6.9.1
#   BENCH_PEER_PORT=8130                      Centrifugo's port
#
# Scenarios, in their default order (each peer right after its chatd twin):
# first-delta streams idle-sockets peer-idle fanout peer-fanout fanout-paced
# fanout-latency burst rest-messages rest-sessions
# (fanout-paced is fanout with llmsim paced at 400 tokens/s: the sustained rate
# rather than a burst; burst is 2000 clients that each register, create a
# session and post at once; rest-* is HTTP load at 64 connections on
# GET .../messages?page_size=50 and POST /chat/sessions; peer-fanout and
# peer-idle are fanout and idle-sockets against Centrifugo, configured by
# scripts/peers/centrifugo.json.)
# Several chatd processes on PostgreSQL and Redis (issue 9): scripts/cluster-bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

scenarios=${BENCH_SCENARIOS:-"first-delta streams idle-sockets peer-idle fanout peer-fanout fanout-paced fanout-latency burst rest-messages rest-sessions"}
out=${BENCH_OUT:-$(mktemp -d -t chatd-bench.XXXXXX)}
mkdir -p "$out/bin"
bin="$out/bin"
sim_port=${BENCH_SIM_PORT:-11535}
chat_port=${BENCH_CHAT_PORT:-8110}
pprof_port=${BENCH_PPROF_PORT:-6160}
peer_port=${BENCH_PEER_PORT:-8130}
peer_config=scripts/peers/centrifugo.json
centrifugo_module=github.com/centrifugal/centrifugo/v6@v6.9.1
summary="$out/results.md"
: >"$summary"

# The PostgreSQL server for the burst and rest-* legs: BENCH_PG_URL, else the
# server of CHAT_TEST_POSTGRES_URL (its database and parameters dropped).
pg_server=${BENCH_PG_URL:-${CHAT_TEST_POSTGRES_URL:-}}
pg_server=$(printf '%s' "$pg_server" | sed -E 's#^(postgres(ql)?://[^/?]*).*$#\1#')

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
centrifugo=""
case " $scenarios " in
  *" peer-"*)
    if [ -n "${BENCH_CENTRIFUGO:-}" ]; then
      centrifugo=$BENCH_CENTRIFUGO
    else
      # What `go run $centrifugo_module` runs, built once (the first build takes a few minutes).
      echo "bench: building Centrifugo ($centrifugo_module) into $bin"
      if CGO_ENABLED=0 GOBIN="$bin" go install "$centrifugo_module" >"$out/centrifugo-build.log" 2>&1; then
        centrifugo="$bin/centrifugo"
      else
        echo "bench: could not build Centrifugo; see $out/centrifugo-build.log" >&2
      fi
    fi
    ;;
esac
if [ -n "$pg_server" ] && ! psql "$pg_server/postgres?sslmode=disable" -Atqc 'select 1' >/dev/null 2>&1; then
  echo "bench: no PostgreSQL at $pg_server (user and trust auth as in the URL); the PostgreSQL legs are skipped" >&2
  pg_server=""
fi

sim_pid=""
chatd_pid=""
peer_pid=""
data=""
db=""

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
  if [ -n "$peer_pid" ]; then
    kill -TERM "$peer_pid" 2>/dev/null || true
    wait "$peer_pid" 2>/dev/null || true
    peer_pid=""
  fi
  if [ -n "$data" ]; then
    rm -rf "$data"
    data=""
  fi
  if [ -n "$db" ]; then
    psql "$pg_server/postgres?sslmode=disable" -Atqc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 ||
      echo "bench: could not drop database $db" >&2
    db=""
  fi
}
trap stop_servers EXIT
trap 'exit 130' INT TERM

# start_servers NAME [pg]: llmsim and chatd, on SQLite in a new temp dir or
# on a new PostgreSQL database.
start_servers() {
  local name=$1 backend=${2:-sqlite} database_url
  local -a jwt_env=()
  if [ "$backend" = pg ]; then
    db="chatd_bench_${name//-/_}_$(date +%s)_$$"
    if ! psql "$pg_server/postgres?sslmode=disable" -Atqc "CREATE DATABASE \"$db\"" >/dev/null; then
      echo "bench: could not create database $db" >&2
      db=""
      return 1
    fi
    database_url="$pg_server/$db?sslmode=disable"
    jwt_env=(CHAT_JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')") # required with PostgreSQL
  else
    data=$(mktemp -d "${BENCH_DATA_DIR:-$out}/chatd-data.XXXXXX")
    database_url="sqlite://$data/chat.db"
  fi
  "$bin/llmsim" --addr "127.0.0.1:$sim_port" --ttft 0 --tps 0 --tokens 5 2>"$out/$name.llmsim.log" &
  sim_pid=$!
  local -a cmd=("$bin/chatd")
  if [ -n "${BENCH_PROFILE:-}" ]; then
    cmd=("$bin/chatd-pprof" -test.run '^TestServeChatdWithPprof$' -test.timeout 0)
  fi
  CHATD_BENCH_SERVE=1 CHATD_BENCH_PPROF="127.0.0.1:$pprof_port" \
  CHAT_HTTP_ADDR="127.0.0.1:$chat_port" \
  CHAT_DATABASE_URL="$database_url" \
  CHAT_LOCAL_BASE_URL="http://127.0.0.1:$sim_port/v1" \
  CHAT_RATE_LIMIT_API=0 CHAT_RATE_LIMIT_LLM=0 CHAT_RATE_LIMIT_AUTH=0 \
  CHAT_MAX_CONCURRENT_GENERATIONS=100000 \
  CHAT_ACCESS_TOKEN_TTL=2h \
  CHAT_LOG_LEVEL="${BENCH_LOG_LEVEL:-info}" \
    env "${jwt_env[@]}" "${cmd[@]}" >"$out/$name.chatd.log" 2>&1 &
  chatd_pid=$!
  for _ in $(seq 1 300); do
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

# start_peer NAME: a fresh Centrifugo with scripts/peers/centrifugo.json and a
# new API key.
peer_key=""
start_peer() {
  local name=$1
  if [ -z "$centrifugo" ]; then
    echo "bench: no Centrifugo binary; $name cannot run" >&2
    return 1
  fi
  peer_key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  CENTRIFUGO_HTTP_API_KEY="$peer_key" "$centrifugo" -c "$peer_config" --http_server.port "$peer_port" \
    >"$out/$name.centrifugo.log" 2>&1 &
  peer_pid=$!
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$peer_port/health" >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$peer_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "bench: Centrifugo did not start; see $out/$name.centrifugo.log" >&2
  tail -n 20 "$out/$name.centrifugo.log" >&2 || true
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
    burst)          if [ -n "$quick" ]; then echo "burst -n 200"; else echo "burst -n 2000"; fi ;;
    rest-messages)  if [ -n "$quick" ]; then echo "rest -route messages -c 64 -d 2s -warmup 500ms"; else echo "rest -route messages -c 64 -d 10s"; fi ;;
    rest-sessions)  if [ -n "$quick" ]; then echo "rest -route sessions -c 64 -d 2s -warmup 500ms"; else echo "rest -route sessions -c 64 -d 10s"; fi ;;
    peer-fanout)    if [ -n "$quick" ]; then echo "peer-fanout -subs 100 -pubs 300"; else echo "peer-fanout -subs 1000 -pubs 5000"; fi ;;
    peer-idle)      if [ -n "$quick" ]; then echo "peer-idle -n 1000 -settle 3s"; else echo "peer-idle -n 10000 -channels 10 -settle 15s"; fi ;;
    *) return 1 ;;
  esac
}

# backends_for prints where a scenario runs: sqlite (and pg for the write and
# read paths when a PostgreSQL server is given), or peer.
backends_for() {
  case $1 in
    peer-*) echo peer ;;
    burst | rest-messages | rest-sessions) if [ -n "$pg_server" ]; then echo "sqlite pg"; else echo sqlite; fi ;;
    *) echo sqlite ;;
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
peer_loss=""
timings=""
for sc in $scenarios; do
  if ! base_args=$(args_for "$sc"); then
    echo "bench: unknown scenario $sc" >&2
    worst=2
    continue
  fi
  extra_var="BENCH_ARGS_${sc//-/_}"
  extra=${!extra_var:-}
  for backend in $(backends_for "$sc"); do
    label=$sc
    label_args=()
    if [ "$backend" = pg ]; then
      label="$sc-pg"
      label_args=(-label "$label")
    fi
    wait_quiet
    echo
    echo "bench: $label ($(cut -d' ' -f1-3 /proc/loadavg) load average before)"
    echo "| $label | load average before (1/5/15 min) | $(cut -d' ' -f1-3 /proc/loadavg) |  |  |" >>"$summary"
    started=$(date +%s)
    target_args=()
    if [ "$backend" = peer ]; then
      if ! start_peer "$label"; then
        stop_servers
        worst=2
        continue
      fi
      target_args=(-centrifugo "http://127.0.0.1:$peer_port" -api-key "$peer_key" -pid "$peer_pid")
    else
      if ! start_servers "$label" "$backend"; then
        stop_servers
        worst=2
        continue
      fi
      target_args=(-chatd "http://127.0.0.1:$chat_port" -llmsim "http://127.0.0.1:$sim_port" -pid "$chatd_pid" -llmsim-pid "$sim_pid")
    fi
    prof_args=()
    if [ -n "${BENCH_PROFILE:-}" ] && [ "$backend" != peer ]; then
      prof_args=(-pprof "http://127.0.0.1:$pprof_port" -pprof-dir "$out/profiles")
    fi
    # shellcheck disable=SC2086 # the scenario's flags are words on purpose
    set +e
    "$bin/chatload" $base_args $extra "${label_args[@]}" "${target_args[@]}" -summary "$summary" "${prof_args[@]}" | tee "$out/$label.txt"
    rc=${PIPESTATUS[0]}
    set -e
    stop_servers
    timings+="$label $(($(date +%s) - started))s; "
    if [ "$rc" -ne 0 ]; then
      echo "bench: $label exited $rc" >&2
      if [ "$rc" -eq 1 ] && [ "$backend" = peer ]; then
        peer_loss+=" $label"
      elif [ "$rc" -eq 1 ] && [ "$worst" -eq 0 ]; then
        worst=1
      fi
      if [ "$rc" -ge 2 ]; then worst=2; fi
    fi
    if [ -n "${BENCH_PROFILE:-}" ]; then
      for p in "$out/profiles/$label"*-cpu.pprof; do
        [ -f "$p" ] && go tool pprof -top -nodecount=40 "$bin/chatd-pprof" "$p" >"${p%.pprof}.top.txt" 2>/dev/null || true
      done
    fi
  done
done

# --- The one table -----------------------------------------------------------

# cell LABEL METRIC: the value cell of that row of the summary ("" when missing).
cell() {
  awk -F' [|] ' -v s="| $1" -v m="$2" '$1 == s && $2 == m { print $3; exit }' "$summary"
}
# num TEXT: the first number in TEXT, with its sign ("" when none).
num() {
  printf '%s' "$1" | grep -oE '[-+]?[0-9]+(\.[0-9]+)?' | head -n1 || true
}
# lost TEXT: "A of B ..." -> B - A ("" when not in that form).
lost() {
  printf '%s' "$1" | awk '{ if ($2 == "of") print $3 - $1 }'
}
# calc EXPR: awk arithmetic; prints "" when a variable is empty.
calc() {
  awk "BEGIN { $1 }"
}
ratio() {
  if [ -z "$1" ] || [ -z "$2" ]; then echo "-"; return; fi
  calc "if ($2 == 0) print \"-\"; else printf \"%.2fx\", $1 / $2"
}
# yes COND: "met" or "MISSED" (a condition on awk numbers).
verdict() {
  if calc "exit !($1)"; then echo met; else echo MISSED; fi
}
kfmt() {
  calc "printf \"%.0fk/s\", $1 / 1000"
}
rows=()
row() { rows+=("| $1 | $2 | $3 | $4 | $5 | $6 |"); }
# ran LABEL: the scenario reported something (more than its load average).
ran() { grep "^| $1 | " "$summary" | grep -vq '^| [^|]* | load average before'; }

if ran fanout || ran peer-fanout; then
  c=$(num "$(cell fanout 'tokens delivered per second (all subscribers)')")
  cl=$(lost "$(cell fanout 'subscribers with the exact text, in order')")
  cs=$(num "$(cell fanout 'subscribers closed as slow (4008)')")
  p=$(num "$(cell peer-fanout 'tokens delivered per second (all subscribers)')")
  pl=$(lost "$(cell peer-fanout 'subscribers with every publication, in order (exact text, indexes, seqs)')")
  cv="-"; pv="-"; v="not judged"
  [ -n "$c" ] && cv="$(kfmt "$c") ($cl lost, $cs closed as slow)"
  [ -n "$p" ] && pv="Centrifugo $(kfmt "$p") ($pl lost)"
  if [ -n "$c" ] && [ -n "$p" ]; then v=$(verdict "$c / $p >= 1.3 && ${cl:-1} == 0 && ${cs:-1} == 0"); fi
  row "fan-out: tokens/s to every subscriber of one session, 0 lost" "$cv" "$pv" "$(ratio "$c" "$p")" ">= 1.3x, 0 lost, none closed as slow" "$v"
fi
if ran idle-sockets || ran peer-idle; then
  c=$(num "$(cell idle-sockets 'RSS per idle socket')")
  p=$(num "$(cell peer-idle 'RSS per idle socket')")
  cv="-"; pv="-"; v="not judged"
  [ -n "$c" ] && cv="$c KiB"
  [ -n "$p" ] && pv="Centrifugo $p KiB"
  if [ -n "$c" ] && [ -n "$p" ]; then v=$(verdict "$c <= 16 && $c / $p <= 0.4"); elif [ -n "$c" ]; then v=$(verdict "$c <= 16"); fi
  row "idle memory: RSS per idle subscribed socket" "$cv" "$pv" "$(ratio "$c" "$p")" "<= 16 KiB and <= 0.4x" "$v"
fi
if ran first-delta; then
  for q in p50 p99; do
    c=$(num "$(cell first-delta "chatd - direct, $q")")
    row "first token: time added before the first delta at an SSE reader, $q" "${c:--} ms" "GoModel +0.8 ms (issue figure)" \
      "$(ratio "$c" 0.8)" "<= 1.0x" "$([ -n "$c" ] && verdict "$c / 0.8 <= 1.0" || echo -)"
  done
fi
if ran streams; then
  c=$(num "$(cell streams 'extra gap (gap - ideal), p99')")
  cl=$(lost "$(cell streams 'replies whole, in order, completed')")
  row "paced streams: extra gap between tokens, p99 (20 ms/token)" "${c:--} ms ($cl replies not exact)" "GoModel 118 ms (issue figure)" \
    "$(ratio "$c" 118)" "<= 0.5x, all exact" "$([ -n "$c" ] && verdict "$c / 118 <= 0.5 && ${cl:-1} == 0" || echo -)"
fi
for l in fanout-paced fanout-latency; do
  if ran "$l"; then
    case $l in
      fanout-paced) m='tokens delivered per second (all subscribers)' ;;
      fanout-latency) m='POST -> first delta at the last subscriber, p99' ;;
    esac
    line=$(awk -F' [|] ' -v s="| $l" -v m="$m" '$1 == s && $2 == m { print; exit }' "$summary")
    t=$(printf '%s' "$line" | awk -F' [|] ' '{ print $4 }')
    v=$(printf '%s' "$line" | awk -F' [|] ' '{ sub(/ *[|]$/, "", $5); print $5 }')
    row "$l: $m (issue 4)" "$(cell "$l" "$m")" "-" "-" "$t" "$v"
  fi
done
for l in burst burst-pg; do
  if ran "$l"; then
    db_name=SQLite; [ "$l" = burst-pg ] && db_name=PostgreSQL
    whole=$(cell "$l" 'clients that registered, created a session and posted')
    [ -n "$whole" ] || whole=$(cell "$l" 'clients that created a session and posted (registered before)')
    n_failed=$(printf '%s' "$whole" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || true)
    took=$(cell "$l" 'time until every client finished')
    worst_kind=""
    for step in register 'create session' post; do
      f=$(cell "$l" "$step: failed")
      if [ -n "$f" ] && [ "$f" != 0 ]; then
        worst_kind+="; $step ${f#*: }"
      fi
    done
    worst_kind=${worst_kind//urn:chatd:problem:/}
    row "burst on $db_name: clients that register, create a session and post at once" "${whole:--} in ${took:--}$worst_kind" \
      "GoModel 2000 of 2000 (issue figure)" "-" "0 failures" "$([ -n "$n_failed" ] && verdict "$n_failed == 0" || echo -)"
  fi
done
for l in rest-messages rest-messages-pg rest-sessions rest-sessions-pg; do
  if ran "$l"; then
    db_name=SQLite; case $l in *-pg) db_name=PostgreSQL ;; esac
    r=$(num "$(cell "$l" 'requests per second')")
    p99=$(num "$(cell "$l" 'latency p99')")
    bad=$(num "$(cell "$l" 'non-2xx answers')")
    case $l in
      rest-messages*) what="GET .../messages?page_size=50 on $db_name, 64 connections"; t=">= 6000 req/s, p99 <= 20 ms"
        v=$([ -n "$r" ] && verdict "$r >= 6000 && $p99 <= 20 && ${bad:-1} == 0" || echo -) ;;
      *) what="POST /chat/sessions on $db_name, 64 connections"; t=">= 5000 req/s"
        v=$([ -n "$r" ] && verdict "$r >= 5000 && ${bad:-1} == 0" || echo -) ;;
    esac
    row "$what" "${r:--} req/s, p99 ${p99:--} ms, ${bad:--} non-2xx" "-" "-" "$t" "$v"
  fi
done

echo
echo "## Issue 10: chatd and its peers ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go env GOVERSION), SQLite in ${BENCH_DATA_DIR:-$out}${pg_server:+, PostgreSQL at $pg_server})"
echo
echo "| scenario | chatd | peer | chatd/peer | target | verdict |"
echo "|---|---|---|---|---|---|"
for r in "${rows[@]}"; do echo "$r"; done
echo
echo "load average before each scenario (1/5/15 min): $(awk -F' [|] ' '$2 == "load average before (1/5/15 min)" { sub(/^[|] /, "", $1); printf "%s %s; ", $1, $3 }' "$summary")"
echo "time per scenario (servers started to stopped): $timings"
if [ -n "$peer_loss" ]; then
  echo "bench: the peer lost publications in:$peer_loss (see their output)" >&2
fi
echo "bench: every row chatload reported is in $summary; logs, results and profiles in $out"
case $worst in
  1) echo "bench: a ZERO-LOSS check failed" >&2 ;;
  2) echo "bench: a scenario could not run" >&2 ;;
esac
exit "$worst"
