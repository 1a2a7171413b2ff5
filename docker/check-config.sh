#!/bin/bash
# check-config.sh - checks that every CHORUS_* variable the container files
# set (Dockerfile, docker-compose.yml, k8s/*.yaml, the entrypoint and the
# healthcheck) is one chorusd reads: it must be listed in `chorusd --help`,
# and chorusd must refuse a bad value given only through that variable (exit
# 2, naming it), which shows it really reads it. Every variable --help lists
# gets that second check.
# Usage: docker/check-config.sh [CHORUSD]   (default build/chorusd)
# Prints "N passed, N failed".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
chorusd=${1:-$here/../build/chorusd}
[[ -x $chorusd ]] || { echo "check-config: $chorusd is not an executable" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# --help wraps lines, so "env" and the name may be on two lines.
mapfile -t known < <("$chorusd" --help | tr -s ' \n' ' ' | grep -oE 'env CHORUS_[A-Z0-9_]+' | cut -d' ' -f2 | sort -u)
((${#known[@]} > 0)) || { echo "check-config: no CHORUS_* variable in '$chorusd --help'" >&2; exit 1; }

# 1. Every variable the container files use is one chorusd knows.
mapfile -t used < <(cd "$here" && grep -ohE 'CHORUS_[A-Z0-9_]+' Dockerfile docker-compose.yml k8s/*.yaml entrypoint.sh \
  healthcheck.sh | sort -u)
for v in "${used[@]}"; do
  if printf '%s\n' "${known[@]}" | grep -qx "$v"; then ok; else fail "$v is used in docker/ but chorusd --help does not list it"; fi
done

# 2. chorusd reads each variable it lists: a value no flag accepts (longer
# than any) given only through the variable stops it with exit 2, naming the
# variable. The other settings come as flags (a flag beats its variable) so
# that a variable chorusd ignored would leave a harmless node: no gossip, a
# port of its own, a scratch data dir, stopped by timeout.
bad=$(head -c 5000 /dev/zero | tr '\0' x)
flags=(--gossip=false --port=$((40000 + RANDOM % 20000)) --data-dir="$work/data")
for v in "${known[@]}"; do
  flag=--$(tr 'A-Z_' 'a-z-' <<<"${v#CHORUS_}")
  args=()
  for f in "${flags[@]}"; do [[ $f == "$flag="* ]] || args+=("$f"); done
  rc=0
  (cd "$work" && env -u "$v" "$v=$bad" timeout 5 "$chorusd" "${args[@]}") >"$work/out" 2>&1 || rc=$?
  if ((rc == 2)) && grep -q "^chorusd: $v: " "$work/out"; then ok; else fail "$v: expected exit 2 naming it, got $rc: $(head -c 200 "$work/out")"; fi
done

echo "$passed passed, $failed failed"
((failed == 0))
