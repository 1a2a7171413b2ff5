#!/usr/bin/env bash
# run-browser.sh - the dashboard's browser tests: a real 3-node cluster of
# chorusd, driven with Debian's Chromium through playwright-core. Builds
# web/dist (scripts/build-web.sh) when it is missing; installs nothing else.
# Screenshots and render-10k.json go to tests/web/artifacts/.
# Usage: tests/web/run-browser.sh [path-to-chorusd]   (default build/chorusd)
# Ends with "N passed, N failed"; exits non-zero on a failure.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
binary=${1:-$root/build/chorusd}

fail() {
  echo "browser tests: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
}

command -v node >/dev/null || fail "node not found (scripts/install-deps.sh installs it)"
[[ -x $binary ]] || fail "$binary not found or not executable (cmake --build build)"
[[ -x ${CHROMIUM:-/usr/bin/chromium} ]] || fail "${CHROMIUM:-/usr/bin/chromium} not found (apt-get install chromium)"
if [[ ! -f $root/web/dist/index.html ]]; then
  "$root/scripts/build-web.sh" --quiet || fail "scripts/build-web.sh failed"
  [[ -f $root/web/dist/index.html ]] || fail "web/dist was not built (is npm installed?)"
elif [[ -n $(find "$root/web/src" "$root/web/index.html" -newer "$root/web/dist/index.html" -type f -print -quit 2>/dev/null) ]]; then
  echo "# note: web/src is newer than web/dist; scripts/build-web.sh rebuilds it"
fi
[[ -d $root/web/node_modules/playwright-core ]] || fail "web/node_modules/playwright-core missing (cd web && npm ci)"

exec node "$root/tests/web/browser/run.mjs" "$binary"
