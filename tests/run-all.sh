#!/usr/bin/env bash
# run-all.sh - every test suite of Chorus, as `make test` runs it:
#   0. cppcheck over src/
#   1. release build: unit tests and the simulators' small suites (ctest: swim_sim,
#      kv_sim and its sabotage check; ASan runs them too, TSan leaves them out),
#      the HTTP suites (API, dashboard side, HTTPS) against build/chorusd, the membership, replication,
#      anti-entropy (repair) and ownership handoff cluster tests, the
#      key rotation, the command-line client (build/chorus) against a cluster, the
#      lost-write checker's own tests, and (as root) loss and partition
#      tests in network namespaces and each chaos scenario once, short
#   2. the dashboard: web/dist built, its Vitest unit tests, and browser tests
#      (Chromium through playwright-core) against a 3-node cluster
#   3. ASan+UBSan build: unit tests, and the HTTP suites against that chorusd
#   4. TSan build: unit tests, and the HTTP suites against that chorusd
#   5. clang libFuzzer build: each fuzz target for FUZZ_SECONDS (default 8)
#   6. (as root) the container image: docker/Dockerfile built with podman, its
#      configuration and manifests checked, three containers form a cluster
# Ends with one line "N passed, N failed" counting test cases over all suites.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc)
FUZZ_SECONDS=${FUZZ_SECONDS:-8}
passed=0 failed=0
failures=()

log() { printf '\n==> %s\n' "$*"; }

# tally SUITE LOG RC: adds the counts a suite printed; a crashed suite counts as one failure.
# The time shown is since the last tally (or the start): the suite's, with its build if it had one.
last_tally=$SECONDS
tally() {
  local suite=$1 out=$2 rc=$3 p f
  read -r p f < <(awk '
    /% tests passed, [0-9]+ tests failed out of [0-9]+/ { tp += $9 - $4; tf += $4; found = 1 }
    /^[0-9]+ passed, [0-9]+ failed/ { tp += $1; tf += $3; found = 1 }
    END { if (!found) { tp = 0; tf = 0 } print tp + 0, tf + 0 }' "$out")
  if ((rc != 0 && f == 0)); then f=1; fi
  passed=$((passed + p)) failed=$((failed + f))
  ((f > 0)) && failures+=("$suite")
  echo "--- $suite: $p passed, $f failed ($((SECONDS - last_tally)) s)"
  last_tally=$SECONDS
}

configure_build() { # DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" "$@" >/dev/null && cmake --build "$dir" -j "$JOBS" 2>&1 | grep -E 'error|warning' ; return "${PIPESTATUS[0]}"
}

run_ctest() { # SUITE DIR [env...]   (CTEST_EXCLUDE: a regex of tests to leave out)
  local suite=$1 dir=$2 out; shift 2
  out=$(mktemp)
  (cd "$dir" && env "$@" ctest --output-on-failure --timeout 300 ${CTEST_EXCLUDE:+-E "$CTEST_EXCLUDE"}) >"$out" 2>&1
  local rc=$?
  tail -n 25 "$out"
  tally "$suite" "$out" $rc
  rm -f "$out"
}

run_suite() { # KIND NAME BINARY [env...]   KIND: a suite of tests/run-suite.sh
  local kind=$1 suite=$2 bin=$3 out; shift 3
  out=$(mktemp)
  env "$@" tests/run-suite.sh "$kind" "$bin" 2>&1 | tee "$out" | grep -vE '^ok ' 
  local rc=${PIPESTATUS[0]}
  tally "$suite" "$out" "$rc"
  rm -f "$out"
}

# Build failures are test failures: nothing below can be trusted without the build.
build_or_fail() { # SUITE DIR [cmake args...]
  local suite=$1; shift
  if ! configure_build "$@"; then
    echo "--- $suite: build failed"; failed=$((failed + 1)); failures+=("$suite (build)"); return 1
  fi
}

log "static analysis (cppcheck)"
out=$(mktemp)
if cppcheck --quiet --enable=warning,performance,portability --std=c11 -I src --suppress=missingIncludeSystem \
  --error-exitcode=1 src >"$out" 2>&1; then
  echo "1 passed, 0 failed" >>"$out"
else
  cat "$out"; echo "0 passed, 1 failed" >>"$out"
fi
tally cppcheck "$out" 0
rm -f "$out"

log "release build"
if build_or_fail release build -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
  run_ctest unit build
  run_suite http http build/chorusd
  run_suite web web build/chorusd
  run_suite tls tls build/chorusd
  run_suite cluster cluster build/chorusd
  run_suite replication replication build/chorusd
  run_suite repair repair build/chorusd
  run_suite handoff handoff build/chorusd
  run_suite keys keys build/chorusd
  run_suite client client build/chorusd
  run_suite checker checker build/chorusd
  if [[ $(id -u) == 0 ]]; then
    run_suite netns netns build/chorusd
    # each scenario once, 12 s of faults; a failed run's directory is kept and named
    run_suite chaos chaos build/chorusd CHORUS_CHAOS_RUNS=1 CHORUS_CHAOS_DURATION=12 CHORUS_CHAOS_OUT=build/chaos-runs
  else
    echo "--- netns, chaos: not run (network namespaces need root)"
  fi
fi

log "dashboard: build (web/dist), Vitest, browser tests against a 3-node cluster"
out=$(mktemp)
if scripts/build-web.sh --quiet >"$out" 2>&1 && [[ -f web/dist/index.html ]]; then
  rm -f "$out"
  out=$(mktemp)
  tests/web/run.sh >"$out" 2>&1
  rc=$?
  grep -E '^ *(Test Files|Tests) ' "$out"
  ((rc != 0)) && tail -n 60 "$out"
  tally web-unit "$out" $rc
  rm -f "$out"
  if [[ -x build/chorusd ]]; then
    out=$(mktemp)
    tests/web/run-browser.sh build/chorusd >"$out" 2>&1
    rc=$?
    grep -E '^(ok|FAIL|render_10k)' "$out"
    ((rc != 0)) && tail -n 60 "$out"
    tally web-browser "$out" $rc
    rm -f "$out"
  fi
else
  cat "$out"; rm -f "$out"
  echo "--- dashboard: build failed"; failed=$((failed + 1)); failures+=("dashboard (build)")
fi

log "AddressSanitizer + UndefinedBehaviorSanitizer build"
if build_or_fail asan build-asan -DCMAKE_BUILD_TYPE=Debug -DCHORUS_SANITIZE=address; then
  run_ctest unit-asan build-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  run_suite http http-asan build-asan/chorusd CHORUS_HTTP_TEST_SANITIZERS=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
  run_suite web web-asan build-asan/chorusd CHORUS_HTTP_TEST_SANITIZERS=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
  run_suite tls tls-asan build-asan/chorusd CHORUS_HTTP_TEST_SANITIZERS=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
  run_suite cluster cluster-asan build-asan/chorusd CHORUS_HTTP_TEST_SANITIZERS=1
  run_suite replication replication-asan build-asan/chorusd CHORUS_HTTP_TEST_SANITIZERS=1 CHORUS_LOAD_SECONDS=12
  run_suite repair repair-asan build-asan/chorusd CHORUS_HTTP_TEST_SANITIZERS=1
  run_suite handoff handoff-asan build-asan/chorusd CHORUS_HTTP_TEST_SANITIZERS=1
  run_suite keys keys-asan build-asan/chorusd CHORUS_HTTP_TEST_SANITIZERS=1 ASAN_OPTIONS=detect_leaks=1
  run_suite client client-asan build-asan/chorusd CHORUS_HTTP_TEST_SANITIZERS=1 ASAN_OPTIONS=detect_leaks=1
fi

log "ThreadSanitizer build"
if build_or_fail tsan build-tsan -DCMAKE_BUILD_TYPE=Debug -DCHORUS_SANITIZE=thread; then
  # the simulators are single-threaded: TSan would only make them slow
  tsan="suppressions=$PWD/tests/tsan.supp"
  CTEST_EXCLUDE='swim_sim|kv_sim' run_ctest unit-tsan build-tsan TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:$tsan
  run_suite http http-tsan build-tsan/chorusd CHORUS_HTTP_TEST_SANITIZERS=1 TSAN_OPTIONS=$tsan
  run_suite web web-tsan build-tsan/chorusd CHORUS_HTTP_TEST_SANITIZERS=1 TSAN_OPTIONS=$tsan
  run_suite tls tls-tsan build-tsan/chorusd CHORUS_HTTP_TEST_SANITIZERS=1 TSAN_OPTIONS=$tsan
  run_suite replication replication-tsan build-tsan/chorusd CHORUS_HTTP_TEST_SANITIZERS=1 CHORUS_LOAD_SECONDS=10 \
    TSAN_OPTIONS=$tsan
  run_suite repair repair-tsan build-tsan/chorusd CHORUS_HTTP_TEST_SANITIZERS=1 TSAN_OPTIONS=$tsan
  # the handoff tests whose threads differ: streaming in under load, handing off, both at once
  run_suite handoff handoff-tsan build-tsan/chorusd CHORUS_HTTP_TEST_SANITIZERS=1 TSAN_OPTIONS=$tsan \
    CHORUS_TEST_ONLY=join_under_load,leave_under_load,a_join_and_a_leave_at_once
fi

log "libFuzzer targets (${FUZZ_SECONDS}s each)"
if build_or_fail fuzz build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHORUS_FUZZ=ON -DCHORUS_SANITIZE=address; then
  out=$(mktemp)
  FUZZ_SECONDS=$FUZZ_SECONDS tests/fuzz/run.sh build-fuzz >"$out" 2>&1
  rc=$?
  grep -E '^(ok|FAIL)' "$out"
  ((rc != 0)) && tail -n 40 "$out"
  tally fuzz "$out" $rc
  rm -f "$out"
fi

log "container image: built from docker/Dockerfile, three containers form a cluster"
if [[ $(id -u) == 0 ]]; then
  out=$(mktemp)
  tests/container/run.sh 2>&1 | tee "$out" | grep -vE '^ok '
  tally container "$out" "${PIPESTATUS[0]}"
  rm -f "$out"
else
  echo "--- container: not run (rootful podman needs root)"
fi

echo
((${#failures[@]})) && echo "failed suites: ${failures[*]}"
echo "$passed passed, $failed failed"
((failed == 0))
