#!/bin/sh
# Membership under packet loss and a partition, in network namespaces (root).
#   tests/cluster/run-netns.sh [path/to/chorusd] [-k substring ...]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$root/build/chorusd"
case "${1:-}" in
  ""|-*) ;;
  *) bin=$1; shift ;;
esac
exec python3 "$here/test_netns.py" --bin "$bin" "$@"
