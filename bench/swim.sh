#!/bin/bash
# Runs one of ../shared/bench/swim's experiments against build/chorusd, the
# same code that measures serf, with a 1 s probe interval like serf's LAN
# profile.
#   bench/swim.sh WRAPPER ARGS...     e.g. bench/swim.sh serf_cluster.sh 10 5
#                                          bench/swim.sh serf_stop.sh 10 3,4,5,6,8
# Needs the Debian packages serf and python3-msgpack (scripts/install-deps.sh --bench).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
swim=${SWIM_BENCH:-$root/../shared/bench/swim}
w=${1:?usage: bench/swim.sh WRAPPER ARGS...}
shift
data=$(mktemp -d /tmp/chorus-swim.XXXXXX)
trap 'rm -rf "$data"' EXIT
SYSTEM=http "$swim/$w" "$@" \
  --node-cmd "$root/build/chorusd --node-id=n{i} --port={hport} --bind={ip} --data-dir=$data/n{i} --probe-interval=1s" \
  "--seed-flag=--seed-node={seed_ip}:{seed_hport}" \
  --members-url "http://{ip}:{hport}/gossip/members?format=list" --name-tmpl 'n{i}' --tag chorus
