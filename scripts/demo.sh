#!/bin/bash
# Starts a local cluster of N nodes (default 3) in the foreground:
# node-i on http://localhost:(8080+i), data in ./data/node-i, nodes 2..N
# seeded from node-1. Ctrl-C stops every node gracefully (SIGTERM, then
# waits for each to exit).
#   scripts/demo.sh [N]        (make demo, make demo N=5)
set -u
n=${1:-3}
if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > 20)); then
  echo "demo: N must be an integer from 1 to 20, got '$n'" >&2
  exit 2
fi
bin=./build/chorusd
base=8080
pids=()

stop_all() {
  trap - INT TERM
  echo
  echo "stopping ${#pids[@]} node(s)..."
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  echo "stopped"
  exit 0
}
trap stop_all INT TERM

wait_healthy() { # PORT PID
  for _ in $(seq 100); do
    curl -sf "localhost:$1/health" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

for i in $(seq 1 "$n"); do
  port=$((base + i))
  seed=()
  ((i > 1)) && seed=(--seed-node="localhost:$((base + 1))")
  mkdir -p "data/node-$i"
  "$bin" --node-id="node-$i" --port="$port" --data-dir="./data/node-$i" "${seed[@]}" \
    > >(sed -u "s/^/[node-$i] /") 2>&1 &
  pids+=($!)
  if ! wait_healthy "$port" "$!"; then
    echo "demo: node-$i did not start on port $port (is the port in use? see its log above)" >&2
    stop_all
  fi
done

cat <<MSG

Chorus: $n node(s) running (Ctrl-C stops them all)
$(for i in $(seq 1 "$n"); do echo "  node-$i  http://localhost:$((base + i))"; done)

Dashboard: http://localhost:8081/ (any node serves it)

Try, in another terminal:
  curl -s -X PUT localhost:8081/api/v1/data/greeting -d '{"value":"hello"}'
  curl -s localhost:$((base + n))/api/v1/data/greeting
  curl -s localhost:8081/gossip/members
  curl -s localhost:8081/api/v1/ring/lookup/greeting
  curl -s localhost:8081/api/v1/status

MSG
wait
