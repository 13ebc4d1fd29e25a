# The two commands: `make demo` (the main job) and `make test` (the whole suite).
# Both install what is missing (scripts/setup.sh) and build first.
BUILD ?= build
JOBS ?= $(shell nproc)
# ccache hits do not depend on where the clone lives.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all setup build test demo bench fuzz clean

all: build

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900

demo: build
	@bash scripts/demo.sh $(BUILD)/bin/rotor

bench: build
	@bash bench/run_all.sh $(BUILD)

fuzz: setup
	@CXX=clang++ cmake -S . -B $(BUILD)-fuzz -DROTOR_FUZZ=ON -DROTOR_BUILD_TESTS=OFF -DROTOR_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD)-fuzz -j$(JOBS)

clean:
	rm -rf $(BUILD) $(BUILD)-fuzz
