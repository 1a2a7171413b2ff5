#!/usr/bin/env bash
# run.sh - the dashboard's unit tests (Vitest). Installs web/node_modules when
# missing or older than package-lock.json. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../../web"
if ! command -v npm >/dev/null; then
  echo "web tests: npm not found (scripts/install-deps.sh installs it)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
if [[ ! -d node_modules || package-lock.json -nt node_modules ]]; then
  npm ci --no-audit --no-fund >/dev/null || { echo "web tests: npm ci failed" >&2; echo "0 passed, 1 failed"; exit 1; }
  touch node_modules
fi
out=$(mktemp)
# no colours (CI=true turns them on), and any that slip through are stripped before counting
NO_COLOR=1 FORCE_COLOR=0 npx vitest run 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g' | tee "$out"
rc=${PIPESTATUS[0]}
passed=$(sed -n 's/^ *Tests .* \([0-9][0-9]*\) passed.*/\1/p' "$out" | tail -1)
failed=$(sed -n 's/^ *Tests  *\([0-9][0-9]*\) failed.*/\1/p' "$out" | tail -1)
rm -f "$out"
if ((rc != 0)) && [[ -z $failed ]]; then failed=1; fi
echo "${passed:-0} passed, ${failed:-0} failed"
exit "$rc"
