# Two commands do everything on a fresh Debian 12 machine (as root):
#   make demo   install dependencies, build, show podns at work
#   make test   install dependencies, build, run every test, then again under ASan+UBSan
BUILD      ?= build
DEMO_BUILD ?= build-demo
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
TSAN_BUILD ?= build-tsan
JOBS       ?= $(shell nproc)
CMAKE_GEN  := -G Ninja
# Lets ccache share objects between clones of this tree (CI builds a fresh clone elsewhere): paths
# relative to the tree, and the working directory left out of the hash (-g would put it in).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all deps deps-demo build build-asan test test-release test-asan test-fuzz fuzz tsan demo bench clean

all: build

deps:
	@scripts/install-deps.sh

# The library and the CLI as unity builds (a layer's sources compiled 16 to a file): the headers
# ({fmt}, nlohmann/json, CLI11) are parsed once a batch instead of once a file, which makes a first
# build several times faster. The release build and the demo build that way, the ASan build file by
# file, so the suite sees both (a name two files of a layer both define breaks only the first).
UNITY      := -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(UNITY)

deps-demo:
	@scripts/install-deps.sh --demo

# The demo builds the CLI alone (no tests, benchmarks or fuzzers), optimised without debug info,
# so a first run is quick.
$(DEMO_BUILD)/build.ninja:
	cmake -S . -B $(DEMO_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DPODNS_TESTS=OFF -DPODNS_BENCH=OFF $(UNITY)

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DPODNS_SANITIZE=ON -DPODNS_BENCH=OFF

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)

test: test-release test-asan test-fuzz
	@echo "make test: all suites passed"

# libFuzzer targets (clang, own build dir), each run briefly on its seed corpus (11 targets, about
# 2.5 minutes).
test-fuzz: deps
	scripts/run-fuzz.sh $(FUZZ_BUILD) 12

# A longer campaign: each target in turn for FUZZ_SECONDS (FUZZ_TARGETS="idmap pod_spec" for some),
# continuing from the inputs earlier campaigns found (kept in $(FUZZ_BUILD)/fuzz-corpus). Prints
# executions and crashes per target; a crash fails it and keeps the reproducer in
# $(FUZZ_BUILD)/fuzz-artifacts.
FUZZ_SECONDS ?= 300
FUZZ_TARGETS ?=
fuzz: deps
	FUZZ_CORPUS_DIR=$(abspath $(FUZZ_BUILD))/fuzz-corpus scripts/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The multi-threaded stress test (tests/stress) under ThreadSanitizer, for a minute
# (PODNS_STRESS_SECONDS sets another length). Not part of make test: a TSan build of its own.
tsan: deps
	cmake -S . -B $(TSAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPODNS_TSAN=ON -DPODNS_BENCH=OFF $(UNITY)
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target test_stress
	@scripts/test-setup.sh
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 $(TSAN_BUILD)/tests/test_stress --gtest_filter='Stress.*'

test-release: build
	@scripts/test-setup.sh
	scripts/run-tests.sh $(BUILD)

test-asan: build-asan
	@scripts/test-setup.sh
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  scripts/run-tests.sh $(ASAN_BUILD)

demo: deps-demo $(DEMO_BUILD)/build.ninja
	cmake --build $(DEMO_BUILD) -j $(JOBS) --target podns
	scripts/demo.sh $(DEMO_BUILD)/podns

bench: build
	scripts/run-bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(DEMO_BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(TSAN_BUILD)
