# Front door.
#   make                       install what is missing, build, run the default experiment (ini/tiny.ini)
#   make test                  build and run the test suite
#   make EXP=ini/X.ini         run experiment X's stages (only what is out of date)
#   make EXP=ini/X.ini teachers   stop after a stage (teachers, features, student, eval); make -j2 runs teachers in parallel
#   make EXP=ini/X.ini report     the comparison table of every model the INI defines (runs/X/report.md),
#                                 its figures and the training curves (runs/X/curves/)
#   make EXP=ini/X.ini neighbours the paper's Figure 4: tail-class test images and their nearest training
#                                 images for the first teacher, cb and [student] (runs/X/neighbours.png)
#   make bench                 speed against PyTorch on the same cores, and the pipeline's pieces
#                              (installs Debian's python3-torch; BENCH_ROUNDS=4 rounds per engine)
#   make sanity                does this build learn?
#   make test-export           cbd-ckpt export checked in PyTorch: exported ResNets load into torchvision
#                              (strict) and give cbd's logits (installs python3-torch; tests/export_torch.py)
#   make fuzz                  libFuzzer harnesses (clang), FUZZ_SECONDS each (tests/fuzz/run.sh);
#                              FUZZ_RUNS=N stops each after N inputs, FUZZ_LEAKS=0 skips leak checks
#   make test-asan             the test suite built with AddressSanitizer + UBSan (in build-asan);
#                              ASAN_EXCLUDE=REGEX leaves tests out
#   make kill-test             each stage killed at TRIALS (20) random moments, resumed, compared
#   make test-slurm            a one-machine Slurm cluster runs an experiment from cbd-plan --slurm;
#                              its outputs must equal the make run's (installs slurm-wlm, munge)
BUILD       ?= build
CMAKE_FLAGS ?=
JOBS        ?= 2
EXP         ?= ini/tiny.ini
BIN         := $(BUILD)/bin
PLAN        := $(BUILD)/plans/$(basename $(notdir $(EXP))).mk
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?=
FUZZ_LEAKS ?= 1

.PHONY: all deps configure build test test-asan test-slurm kill-test bench sanity test-export clean pipeline teachers features student eval report neighbours plan fuzz

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

# Any sanitizer report fails the test it happens in: UBSan halts, LeakSanitizer
# checks every exit but the deliberate error exits (nn/log.c) and fails it.
ASAN_BUILD ?= build-asan
ASAN_EXCLUDE ?=
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCBD_SANITIZE=ON -DCBD_CUDA=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:leak_check_at_exit=0:strict_string_checks=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS) $(if $(ASAN_EXCLUDE),-E '$(ASAN_EXCLUDE)')

test-slurm: build
	@tools/install-deps slurm
	@tests/slurm_local.sh $(BIN) $(BUILD)/slurm_test

TRIALS ?= 20
kill-test: build
	@tests/kill_anywhere.sh $(BIN) $(BUILD)/kill_test $(TRIALS)

sanity: build
	@$(BIN)/cbd-sanity

BENCH_ROUNDS ?= 4
bench: build
	@tools/install-deps bench
	@/usr/bin/python3 tools/bench/run.py --bin $(BIN) --work $(BUILD)/bench --rounds $(BENCH_ROUNDS)

# Not in ctest (needs PyTorch). The safetensors package is optional: the script
# reads the files itself and, when the package is there, checks it reads the same.
test-export: build
	@tools/install-deps bench
	@/usr/bin/python3 -c 'import safetensors' 2>/dev/null || \
	    /usr/bin/python3 -m pip install -q --break-system-packages safetensors 2>/dev/null || \
	    echo "test-export: no safetensors package; the script's own reader only"
	@/usr/bin/python3 tests/export_torch.py --bin $(BIN) --work $(BUILD)/export_test

# The experiment's stages, as make rules generated from its INI.
plan: build
	@mkdir -p $(dir $(PLAN))
	@$(BIN)/cbd-plan --config $(EXP) > $(PLAN).tmp && mv $(PLAN).tmp $(PLAN)

pipeline: plan
	@$(MAKE) --no-print-directory -f $(PLAN) BIN=$(BIN) all show

report: plan
	@$(MAKE) --no-print-directory -f $(PLAN) BIN=$(BIN) report show

teachers features student eval neighbours: plan
	@$(MAKE) --no-print-directory -f $(PLAN) BIN=$(BIN) $@

# Sanitized build of its own (build-fuzz); the corpora in tests/fuzz are only read.
fuzz:
	@tools/install-deps fuzz
	@CC=clang cmake -S . -B build-fuzz -DCBD_FUZZ=ON -DCBD_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz-harnesses
	@FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_LEAKS=$(FUZZ_LEAKS) tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)
