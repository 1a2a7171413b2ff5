#!/bin/sh
# Cluster tests: real chorusd processes on loopback.
#   tests/cluster/run.sh [path/to/chorusd] [-k substring ...]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$root/build/chorusd"
case "${1:-}" in
  ""|-*) ;;
  *) bin=$1; shift ;;
esac
exec python3 "$here/test_membership.py" --bin "$bin" "$@"
