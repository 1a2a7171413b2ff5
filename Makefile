# Thin wrapper around CMake. Targets:
#   make            build build/chorusd, build/chorus (the client) and the unit tests (RelWithDebInfo), and the dashboard (web/dist)
#   make test       install missing packages, build, run every test suite
#   make demo       install, build, start a local cluster (N=3 nodes on :8081..) in the foreground
#   make fuzz       run every fuzz target for FUZZ_SECONDS (default 300) each
#   make bench      the single-node benchmark (bench/run.sh)
#   make chaos      every chaos scenario RUNS times (default 20) for DURATION seconds of faults (default 60),
#                   root only; SCENARIOS=kill,pause,... picks some; results in chaos-runs/ (docs/reliability.md)
#   make format     clang-format every C file
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 300
N ?= 3
RUNS ?= 20
DURATION ?= 60
SCENARIOS ?= all

.PHONY: all build deps test demo fuzz bench chaos format clean

all: build

deps:
	@scripts/install-deps.sh

# The build's own output is kept in build/build.log and shown only if it fails.
build:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@MAKEFLAGS= cmake --build build -j $(JOBS) >build/build.log 2>&1 || { cat build/build.log; exit 1; }
	@echo "built build/chorusd and build/chorus"
	@scripts/build-web.sh --quiet

test: deps
	@tests/run-all.sh

demo: deps build
	@scripts/demo.sh $(N)

fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

bench: deps build
	@scripts/install-deps.sh --bench
	@bench/run.sh

chaos: deps build
	@python3 tests/chaos/run.py --bin build/chorusd --runs $(RUNS) --duration $(DURATION) --scenario $(SCENARIOS) --out chaos-runs

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-tsan build-fuzz
