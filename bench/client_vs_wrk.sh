#!/usr/bin/env bash
# client_vs_wrk.sh - `chorus bench` and wrk side by side against the same freshly started 3-node
# cluster (loopback), with the same concurrency, read/write mix, value size, key space and duration.
#
# usage: bench/client_vs_wrk.sh
# env: DUR=10 (s) CONNS=16 THREADS=2 (wrk's) READ_RATIO=0.5 VALUE_SIZE=128 KEYS=10000 KEY_PREFIX=cvw-
#      PORT=18481 (nodes on PORT..PORT+2, peers on PORT+100..) CHORUSD=build/chorusd CHORUS=build/chorus
#      BENCH_DIR=/tmp (data dirs)
#
# Order: the cluster starts; a warm-up writes KEYS x 3 random keys (so reads mostly find a value);
# then three runs of DUR seconds, one after the other:
#   wrk                 CONNS connections to node 1 (bench/wrk.lua, OP=mix), THREADS threads
#   chorus bench        CONNS in flight to node 1
#   chorus bench rr     CONNS in flight, round-robin over the 3 nodes
# Both tools run closed loops and measure latency from send to answer. wrk counts every non-2xx
# answer (a 404 read included) in non2xx; chorus bench counts 404 reads as not found, apart from
# errors. chorus bench is one thread; wrk runs THREADS. The client, wrk and the nodes share the
# machine's cores, so compare rows of one run, not runs made at different times.
# Every process started here is stopped by its PID; data dirs are removed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
DUR=${DUR:-10} CONNS=${CONNS:-16} THREADS=${THREADS:-2} READ_RATIO=${READ_RATIO:-0.5}
VALUE_SIZE=${VALUE_SIZE:-128} KEYS=${KEYS:-10000} KEY_PREFIX=${KEY_PREFIX:-cvw-}
PORT=${PORT:-18481} CHORUSD=${CHORUSD:-build/chorusd} CHORUS=${CHORUS:-build/chorus} BASE=${BENCH_DIR:-/tmp}
PIDS=() DIR=""

cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  [[ -n $DIR && -d $DIR ]] && rm -rf -- "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for c in wrk curl jq; do command -v $c >/dev/null || { echo "client_vs_wrk: $c is missing (scripts/install-deps.sh --bench)" >&2; exit 1; }; done
for b in "$CHORUSD" "$CHORUS"; do [[ -x $b ]] || { echo "client_vs_wrk: no $b (make build)" >&2; exit 1; }; done

DIR=$(mktemp -d "$BASE/chorus-cvw.XXXXXX")
NODES=""
for i in 0 1 2; do
  port=$((PORT + i))
  seed=()
  ((i > 0)) && seed=(--seed-node="127.0.0.1:$PORT")
  "$CHORUSD" --node-id="n$i" --port="$port" --peer-port=$((PORT + 100 + i)) --bind=127.0.0.1 \
    --data-dir="$DIR/n$i" --log-level=warn "${seed[@]}" 2>"$DIR/n$i.log" &
  PIDS+=($!)
  NODES+="${NODES:+,}127.0.0.1:$port"
  for _ in $(seq 100); do curl -sf -m 1 "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
done
for _ in $(seq 200); do
  alive=$(curl -sf -m 1 "http://127.0.0.1:$PORT/gossip/members" | jq -r .alive_members 2>/dev/null)
  [[ $alive == 3 ]] && break
  sleep 0.1
done
[[ ${alive:-} == 3 ]] || { echo "client_vs_wrk: the cluster did not form:" >&2; tail -n 5 "$DIR"/n*.log >&2; exit 1; }

common=(--read-ratio "$READ_RATIO" --value-size "$VALUE_SIZE" --keys "$KEYS" --key-prefix "$KEY_PREFIX" --no-progress --json)
echo "client_vs_wrk: warm-up, $((KEYS * 3)) writes" >&2
"$CHORUS" bench --nodes "$NODES" "${common[@]}" --read-ratio 0 --count $((KEYS * 3)) -c "$CONNS" >/dev/null || exit 1

ROWS=()
row() { # LABEL ops/s p50 p90 p99 p999 max non2xx errors
  ROWS+=("$(printf '%-24s %10.1f %9.3f %9.3f %9.3f %9.3f %9.3f %8s %7s' "$@")")
}

echo "client_vs_wrk: wrk, ${DUR}s" >&2
line=$(OP=mix READ_RATIO=$READ_RATIO VALUE_SIZE=$VALUE_SIZE KEYS=$KEYS KEY_PREFIX=$KEY_PREFIX \
  wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" -s bench/wrk.lua "http://127.0.0.1:$PORT" | grep '^RESULT')
val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
row "wrk node 1 (${THREADS}t)" "$(val rps)" "$(val p50_ms)" "$(val p90_ms)" "$(val p99_ms)" "$(val p999_ms)" "$(val max_ms)" \
  "$(val non2xx)" "$(val errors)"

bench_row() { # LABEL NODES
  local j
  echo "client_vs_wrk: $1, ${DUR}s" >&2
  j=$("$CHORUS" bench --nodes "$2" "${common[@]}" -c "$CONNS" -d "${DUR}s") || exit 1
  # shellcheck disable=SC2046
  row "$1" $(jq -r '[.throughput_ops_s, .latency_ms.p50, .latency_ms.p90, .latency_ms.p99, .latency_ms.p99_9,
    .latency_ms.max, .not_found + .errors, .errors] | map(tostring) | join(" ")' <<<"$j")
}
bench_row "chorus bench node 1" "127.0.0.1:$PORT"
bench_row "chorus bench 3 nodes rr" "$NODES"

echo "# $(date -Is) $(nproc) cores, 3 nodes, CONNS=$CONNS READ_RATIO=$READ_RATIO VALUE_SIZE=$VALUE_SIZE KEYS=$KEYS DUR=${DUR}s"
printf '%-24s %10s %9s %9s %9s %9s %9s %8s %7s\n' tool ops/s p50_ms p90_ms p99_ms p999_ms max_ms non2xx errors
printf '%s\n' "${ROWS[@]}"
