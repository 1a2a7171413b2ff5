# Thin wrapper around CMake. Targets:
#   make            build build/chorusd and the unit tests (RelWithDebInfo), and the dashboard (web/dist)
#   make test       install missing packages, build, run every test suite
#   make demo       install, build, start a local cluster (N=3 nodes on :8081..) in the foreground
#   make fuzz       run every fuzz target for FUZZ_SECONDS (default 300) each
#   make bench      the single-node benchmark (bench/run.sh)
#   make format     clang-format every C file
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 300
N ?= 3

.PHONY: all build deps test demo fuzz bench format clean

all: build

deps:
	@scripts/install-deps.sh

# The build's own output is kept in build/build.log and shown only if it fails.
build:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@MAKEFLAGS= cmake --build build -j $(JOBS) >build/build.log 2>&1 || { cat build/build.log; exit 1; }
	@echo "built build/chorusd"
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

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-tsan build-fuzz
