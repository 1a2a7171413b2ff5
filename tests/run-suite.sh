#!/bin/sh
# Runs one black-box suite against a chorusd binary (real processes, Python
# stdlib harness in tests/http/harness.py).
#   tests/run-suite.sh SUITE [path/to/chorusd] [-k substring ...]
# SUITE: http     the HTTP API of one node            (tests/http/test_api.py)
#        web      the dashboard's side: /ws push and static files (tests/http/test_web.py)
#        tls      HTTPS: the API, the dashboard and /ws over it, reload on SIGHUP (tests/http/test_tls.py)
#        cluster  membership, real processes on loopback (tests/cluster/test_membership.py)
#        replication  quorum writes and reads, hints, faults (tests/cluster/test_replication.py)
#        repair   anti-entropy, tombstone collection, wiped replicas (tests/cluster/test_repair.py)
#        handoff  joins, leaves and removals moving data under load (tests/cluster/test_handoff.py)
#        keys     gossip and peer key rotation under load (tests/cluster/test_keys.py)
#        client   the chorus command-line client against a 3-node cluster (tests/cluster/test_client.py;
#                 the client is the chorus binary next to chorusd)
#        netns    loss and partitions in network namespaces, root only (tests/cluster/test_netns.py)
#        chaos    every chaos scenario with the lost-write checker, root only (tests/chaos/run.py;
#                 CHORUS_CHAOS_RUNS, CHORUS_CHAOS_DURATION, CHORUS_CHAOS_SCENARIOS)
#        checker  the lost-write checker against made-up histories (tests/chaos/test_checker.py)
# CHORUS_HTTP_TEST_SANITIZERS=1: the binary is a sanitizer build; sanitizer
# reports in a node's stderr fail the test that ran it.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
case "${1:-}" in
  http) suite=$root/tests/http/test_api.py ;;
  web) suite=$root/tests/http/test_web.py ;;
  tls) suite=$root/tests/http/test_tls.py ;;
  cluster) suite=$root/tests/cluster/test_membership.py ;;
  replication) suite=$root/tests/cluster/test_replication.py ;;
  repair) suite=$root/tests/cluster/test_repair.py ;;
  handoff) suite=$root/tests/cluster/test_handoff.py ;;
  keys) suite=$root/tests/cluster/test_keys.py ;;
  client) suite=$root/tests/cluster/test_client.py ;;
  netns) suite=$root/tests/cluster/test_netns.py ;;
  chaos) suite=$root/tests/chaos/run.py ;;
  checker) suite=$root/tests/chaos/test_checker.py ;;
  *) echo "usage: tests/run-suite.sh http|web|tls|cluster|replication|repair|handoff|keys|client|netns|chaos|checker [path/to/chorusd] [-k substring ...]" >&2; exit 2 ;;
esac
shift
bin="$root/build/chorusd"
case "${1:-}" in
  ""|-*) ;;
  *) bin=$1; shift ;;
esac
exec python3 "$suite" --bin "$bin" "$@"
