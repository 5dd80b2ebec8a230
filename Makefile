# Front door. `make` installs what is missing, builds, and runs the default job;
# `make test` builds and runs the test suite.
BUILD    ?= build
CMAKE_FLAGS ?=
JOBS     ?= 2

.PHONY: all deps configure build test bench sanity clean

all: build sanity

deps:
	@tools/install-deps

$(BUILD)/CMakeCache.txt: | deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null

configure: $(BUILD)/CMakeCache.txt

build: deps configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

sanity: build
	@$(BUILD)/bin/cbd-sanity

bench: build
	@$(BUILD)/bin/cbd-bench

clean:
	rm -rf $(BUILD)
