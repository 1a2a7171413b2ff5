#!/bin/sh
# Black-box HTTP tests of chorusd.
#   tests/http/run.sh [path/to/chorusd] [-k substring ...]
# CHORUS_HTTP_TEST_SANITIZERS=1: the binary is a sanitizer build; sanitizer reports in
# a node's stderr fail the test that ran it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$root/build/chorusd"
case "${1:-}" in
  ""|-*) ;;
  *) bin=$1; shift ;;
esac
exec python3 "$here/test_api.py" --bin "$bin" "$@"
