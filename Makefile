# Front door.
#   make                       install what is missing, build, run the default experiment (ini/tiny.ini)
#   make test                  build and run the test suite
#   make EXP=ini/X.ini         run experiment X's stages (only what is out of date)
#   make EXP=ini/X.ini teachers   stop after a stage (teachers, features, student, eval); make -j2 runs teachers in parallel
#   make EXP=ini/X.ini report     the comparison table of every model the INI defines (runs/X/report.md)
#   make bench                 engine speed; make sanity: does this build learn?
BUILD       ?= build
CMAKE_FLAGS ?=
JOBS        ?= 2
EXP         ?= ini/tiny.ini
BIN         := $(BUILD)/bin
PLAN        := $(BUILD)/plans/$(basename $(notdir $(EXP))).mk

.PHONY: all deps configure build test bench sanity clean pipeline teachers features student eval report plan

all: pipeline

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
	@$(BIN)/cbd-sanity

bench: build
	@$(BIN)/cbd-bench

# The experiment's stages, as make rules generated from its INI.
plan: build
	@mkdir -p $(dir $(PLAN))
	@$(BIN)/cbd-plan --config $(EXP) > $(PLAN).tmp && mv $(PLAN).tmp $(PLAN)

pipeline: plan
	@$(MAKE) --no-print-directory -f $(PLAN) BIN=$(BIN) all show

report: plan
	@$(MAKE) --no-print-directory -f $(PLAN) BIN=$(BIN) report show

teachers features student eval: plan
	@$(MAKE) --no-print-directory -f $(PLAN) BIN=$(BIN) $@

clean:
	rm -rf $(BUILD)
