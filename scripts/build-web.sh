#!/usr/bin/env bash
# build-web.sh - builds the dashboard into web/dist (served by chorusd at /).
# Installs web/node_modules with `npm ci` when it is missing or older than
# package-lock.json, then runs `npm run build` (type check, then Vite).
# Usage: scripts/build-web.sh [--quiet]   (--quiet: npm's output only on failure)
# Without npm it prints how to get it and exits 0, so the C build still works.
set -euo pipefail
cd "$(dirname "$0")/../web"

quiet=false
[[ ${1:-} == --quiet ]] && quiet=true

if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo "build-web: npm not found: the dashboard (web/dist) is not built." >&2
  echo "build-web: install Node.js 18+ and npm (scripts/install-deps.sh does), then run make again." >&2
  exit 0
fi

run() {
  if $quiet; then
    local log
    log=$(mktemp)
    if ! "$@" >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      echo "build-web: '$*' failed" >&2
      return 1
    fi
    rm -f "$log"
  else
    "$@"
  fi
}

if [[ ! -d node_modules || package-lock.json -nt node_modules ]]; then
  run npm ci --no-audit --no-fund
  touch node_modules
fi
run npm run build
echo "built web/dist"
