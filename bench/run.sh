#!/usr/bin/env bash
# run.sh - single-node throughput and latency of chorusd (loopback only).
#
# usage: bench/run.sh [PHASE...]     (default: dsync never always batch group)
#   never    --fsync=never:  PUT of random keys, then GET of existing keys
#   always   --fsync=always: PUT (group commit)
#   batch    --fsync=batch:  PUT
#   dsync    one append + fdatasync per operation on the data disk, single-threaded:
#            the rate of one fsync per request, without group commit
#   group    --fsync=always PUT at 1, 8 and 64 connections, with writes per fsync
#            from /metrics: group commit at work
#   tree     --fsync=never PUT with the anti-entropy tree kept and switched off
#            (--merkle-tree=true|false, same binary), runs alternated; then the
#            data dir's size after 20 s of PUTs over KEYS keys, with and without
# env: REPS=3 DUR=10 (s) CONNS=64 THREADS=2 KEYS=100000 READ_KEYS=10000
#      VALUE_SIZE=128 PORT=18381 CHORUSD=build/chorusd BENCH_DIR=/tmp (data dirs)
# Prints one row per run and a table of medians (rps, p50, p99).
# Every process started here is stopped by its PID; data dirs are removed.
set -uo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3} DUR=${DUR:-10} CONNS=${CONNS:-64} THREADS=${THREADS:-2}
KEYS=${KEYS:-100000} READ_KEYS=${READ_KEYS:-10000} VALUE_SIZE=${VALUE_SIZE:-128}
PORT=${PORT:-18381} CHORUSD=${CHORUSD:-build/chorusd} BASE=${BENCH_DIR:-/tmp}
export KEYS VALUE_SIZE
PID="" DIR=""
ROWS=$(mktemp)

cleanup() {
  [[ -n $PID ]] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  [[ -n $DIR && -d $DIR ]] && rm -rf -- "$DIR"
  rm -f "$ROWS"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for c in wrk curl; do command -v $c >/dev/null || { echo "bench: $c is missing (scripts/install-deps.sh --bench)" >&2; exit 1; }; done
[[ -x $CHORUSD ]] || { echo "bench: no $CHORUSD (make build)" >&2; exit 1; }

start_node() { # FSYNC [flags...]
  DIR=$(mktemp -d "$BASE/chorus-bench.XXXXXX")
  "$CHORUSD" --node-id=bench --port="$PORT" --bind=127.0.0.1 --data-dir="$DIR" --fsync="$1" --log-level=warn "${@:2}" \
    2>"$DIR.log" &
  PID=$!
  for _ in $(seq 100); do curl -sf -m 1 "http://127.0.0.1:$PORT/health" >/dev/null && return 0; sleep 0.1; done
  echo "bench: chorusd did not start:" >&2; cat "$DIR.log" >&2; return 1
}

stop_node() {
  kill -TERM "$PID" && wait "$PID"
  local rc=$?
  ((rc != 0)) && echo "bench: chorusd exited $rc" >&2
  PID=""
  rm -rf -- "$DIR" "$DIR.log"; DIR=""
}

# run_wrk LABEL OP [env...]: one recorded run
run_wrk() {
  local label=$1 op=$2 line; shift 2
  line=$(env OP="$op" "$@" wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -s bench/wrk.lua "http://127.0.0.1:$PORT" |
    grep '^RESULT')
  echo "$label $line" | tee -a "$ROWS" >&2
}

prefill() { # N keys rkey-0..N-1
  seq 0 $(($1 - 1)) | xargs -P 16 -I{} curl -s -o /dev/null -m 10 -X PUT -d '{"value":"'"$(head -c "$VALUE_SIZE" /dev/zero | tr '\0' v)"'"}' \
    "http://127.0.0.1:$PORT/api/v1/data/rkey-{}"
}

phase_fsync() { # MODE WITH_GET
  start_node "$1" || return 1
  OP=put wrk -t"$THREADS" -c"$CONNS" -d3s -s bench/wrk.lua "http://127.0.0.1:$PORT" >/dev/null # warm-up
  for ((r = 1; r <= REPS; r++)); do run_wrk "put.fsync-$1" put; done
  if [[ $2 == 1 ]]; then
    prefill "$READ_KEYS"
    for ((r = 1; r <= REPS; r++)); do run_wrk "get.fsync-$1" get KEYS="$READ_KEYS" KEY_PREFIX=rkey-; done
  fi
  stop_node
}

phase_dsync() {
  local d r
  d=$(mktemp -d "$BASE/chorus-bench.XXXXXX")
  for ((r = 1; r <= REPS; r++)); do
    python3 - "$d/f" "$VALUE_SIZE" <<'PY' | tee -a "$ROWS" >&2
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
rec, n = b"v" * int(sys.argv[2]), 3000
t = time.monotonic()
for _ in range(n):
    os.write(fd, rec)
    os.fdatasync(fd)
print("fsync-per-op RESULT rps=%.1f p50_ms=%.3f p99_ms=0 non2xx=0 errors=0" % (n / (time.monotonic() - t), 1000 * (time.monotonic() - t) / n))
PY
  done
  rm -rf -- "$d"
}

metric() { # NAME: its value in /metrics
  curl -s -m 5 "http://127.0.0.1:$PORT/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

phase_group() {
  local c w0 f0 w1 f1 line
  start_node always || return 1
  for c in 1 8 64; do
    w0=$(metric chorus_storage_writes_total) f0=$(metric chorus_storage_fsyncs_total)
    line=$(OP=put wrk -t1 -c"$c" -d"${DUR}s" -s bench/wrk.lua "http://127.0.0.1:$PORT" | grep '^RESULT')
    w1=$(metric chorus_storage_writes_total) f1=$(metric chorus_storage_fsyncs_total)
    echo "group.c$c $line writes_per_fsync=$(awk -v w=$((w1 - w0)) -v f=$((f1 - f0)) 'BEGIN { printf "%.1f", f ? w / f : 0 }')" |
      tee -a "$ROWS" >&2
  done
  stop_node
}

phase_tree() {
  local r t
  for ((r = 1; r <= REPS; r++)); do
    for t in true false; do
      start_node never --merkle-tree=$t || return 1
      OP=put wrk -t"$THREADS" -c"$CONNS" -d3s -s bench/wrk.lua "http://127.0.0.1:$PORT" >/dev/null # warm-up
      run_wrk "put.tree-$t" put
      stop_node
    done
  done
  for t in true false; do
    start_node never --merkle-tree=$t || return 1
    OP=put wrk -t"$THREADS" -c"$CONNS" -d20s -s bench/wrk.lua "http://127.0.0.1:$PORT" >/dev/null
    kill -TERM "$PID" && wait "$PID"; PID=""
    echo "tree-$t data dir after a PUT load over $KEYS keys: $(du -sb "$DIR" | cut -f1) bytes" >&2
    rm -rf -- "$DIR" "$DIR.log"; DIR=""
  done
}

for ph in "${@:-dsync never always batch group tree}"; do
  for p in $ph; do
    case $p in
      never) phase_fsync never 1 ;;
      always) phase_fsync always 0 ;;
      batch) phase_fsync batch 0 ;;
      dsync) phase_dsync ;;
      group) phase_group ;;
      tree) phase_tree ;;
      *) echo "bench: unknown phase $p" >&2; exit 2 ;;
    esac
  done
done

echo "# $(date -Is) $(nproc) cores, REPS=$REPS DUR=${DUR}s CONNS=$CONNS VALUE_SIZE=$VALUE_SIZE (medians)"
printf '%-20s %10s %9s %9s %8s %8s\n' phase rps p50_ms p99_ms non2xx w/fsync
awk '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); v[$1, kv[1]] = v[$1, kv[1]] " " kv[2] } ; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
  function med(s,   a, k, i, j, t) { k = split(s, a, " "); for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }; return a[int((k + 1) / 2)] }
  END { for (i = 1; i <= n; i++) { p = order[i]; printf "%-20s %10.0f %9.3f %9.3f %8d %8s\n", p, med(v[p, "rps"]), med(v[p, "p50_ms"]), med(v[p, "p99_ms"]), med(v[p, "non2xx"]), (v[p, "writes_per_fsync"] == "" ? "-" : med(v[p, "writes_per_fsync"])) } }' "$ROWS"
