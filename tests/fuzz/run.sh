#!/usr/bin/env bash
# run.sh - runs every libFuzzer target of a fuzz build for FUZZ_SECONDS each,
# starting from the seed corpus in tests/fuzz/corpus/<name>/ (copied, so the
# repository is not written to). Prints "ok <target>" or "FAIL <target>" and
# ends with "N passed, N failed".
#   tests/fuzz/run.sh [BUILD_DIR]        (default build-fuzz; FUZZ_SECONDS default 60)
# A crash leaves its input in the working directory as crash-<sha1>.
set -uo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-build-fuzz}
secs=${FUZZ_SECONDS:-60}
if [[ ! -d $dir/fuzz ]]; then
  cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DCHORUS_FUZZ=ON -DCHORUS_SANITIZE=address >/dev/null &&
    cmake --build "$dir" -j "$(nproc)" >/dev/null || { echo "FAIL build"; echo "0 passed, 1 failed"; exit 1; }
fi
pass=0 fail=0
for bin in "$dir"/fuzz/fuzz_*; do
  name=$(basename "$bin"); name=${name#fuzz_}
  work=$(mktemp -d)
  [[ -d tests/fuzz/corpus/$name ]] && cp -r tests/fuzz/corpus/"$name"/. "$work"/
  if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work" >"$work.log" 2>&1; then
    echo "ok fuzz_$name ($(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$work.log" | awk '{print $2}') runs)"
    pass=$((pass + 1))
  else
    echo "FAIL fuzz_$name"; tail -n 30 "$work.log"
    fail=$((fail + 1))
  fi
  rm -rf "$work" "$work.log"
done
echo "$pass passed, $fail failed"
((fail == 0))
