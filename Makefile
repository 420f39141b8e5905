# staged-ports: one small server, four concurrency models, measured.
#
#   make                      build everything (optimised)
#   make test                 build, then run every test that exists (alias: make check)
#   make test-stageN          unit tests plus stage N's suites
#   make stageN               build one stage
#   make test SANITIZE=address    the same under ASan+UBSan   (build/asan/)
#   make test SANITIZE=thread     the same under TSan         (build/tsan/)
#   make lint                 layout rules (scripts/check-layout.sh), clang-format, cppcheck
#   make tour                 the benchmark tour: every stage next to Redis (bench/results/)
#   make tour QUICK=1         its reduced set, under 4 minutes (run by make test-docs)
#   make fuzz                 libFuzzer on the RESP parser (FUZZ_SECONDS=60)
#   make diff-A-B             the port from stage A to stage B, e.g. make diff-2-3
#   make diffs / check-diffs  write / check the committed stage diffs (docs/diffs/)
#   make test-docs            run every command of README.md and TUTORIAL.md
#   make check-exercise N.M   check your answer to exercise N.M (check-exercises: all)
#   make clean
#
# Missing Debian packages are installed on first use by scripts/deps.sh.

SHELL := /bin/bash
.DEFAULT_GOAL := all

# ==== Build variant =========================================================

SANITIZE ?=
ifeq ($(SANITIZE),)
  VARIANT := release
  OPT := -O2
else ifeq ($(SANITIZE),address)
  VARIANT := asan
  OPT := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(SANITIZE),thread)
  VARIANT := tsan
  OPT := -O1 -fsanitize=thread -fno-omit-frame-pointer
else
  $(error SANITIZE must be empty, 'address' or 'thread', not '$(SANITIZE)')
endif

B := build/$(VARIANT)
DEPS_STAMP := build/.deps

CC := gcc
CFLAGS := -std=c11 -Wall -Wextra -Werror -g $(OPT) -D_GNU_SOURCE -MMD -MP
LDFLAGS := $(OPT)

# pkg-config runs only when a rule needs the flags, after deps.sh has
# installed the packages that provide the .pc files.
UV_CFLAGS = $(shell pkg-config --cflags libuv)
UV_LIBS = $(shell pkg-config --libs libuv)
CUNIT_CFLAGS = $(shell pkg-config --cflags cunit)
CUNIT_LIBS = $(shell pkg-config --libs cunit)
HIREDIS_CFLAGS = $(shell pkg-config --cflags hiredis)
HIREDIS_LIBS = $(shell pkg-config --libs hiredis)

# Sanitizer runtimes: stop at the first error and fail the process, so a
# report can never scroll past in a passing run.
export ASAN_OPTIONS ?= abort_on_error=0:halt_on_error=1:detect_leaks=1:exitcode=86
export UBSAN_OPTIONS ?= halt_on_error=1:print_stacktrace=1:exitcode=86
# tests/tsan.supp: one known false report (an fd number reused across a
# close TSan cannot see in the system libuv); see the file. atexit_sleep_ms=0:
# TSan otherwise sleeps 1 s at exit whenever another thread is still alive
# (stage 1's detached threads finish just after main stops waiting), which
# the shutdown tests would measure as the server's own time.
export TSAN_OPTIONS ?= halt_on_error=1:second_deadlock_stack=1:exitcode=86:atexit_sleep_ms=0:suppressions=$(CURDIR)/tests/tsan.supp

# ==== Set-up =================================================================

# One stamp per group of packages, so each group is checked once.
$(DEPS_STAMP)-%: scripts/deps.sh
	@mkdir -p $(@D)
	scripts/deps.sh $*
	@touch $@

# ==== common/ ================================================================

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/%.o)
LIBCOMMON := $(B)/libcommon.a

$(B)/%.o: %.c | $(DEPS_STAMP)-build
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Icommon -Itests $(UV_CFLAGS) $(CUNIT_CFLAGS) $(HIREDIS_CFLAGS) -c $< -o $@

$(LIBCOMMON): $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

# ==== Stages =================================================================

# A stage exists once its folder has a server.c.
STAGES := $(sort $(patsubst %/,%,$(dir $(wildcard stage*/server.c))))
STAGE_BINS := $(STAGES:%=$(B)/bin/%)

# Stages 3 and 4 link libuv; linking it into all four costs nothing.
define stage_rules
$(B)/bin/$(1): $(patsubst %.c,$(B)/%.o,$(wildcard $(1)/*.c)) $(LIBCOMMON)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) $$^ -o $$@ $$(UV_LIBS) -lpthread
endef
$(foreach s,$(STAGES),$(eval $(call stage_rules,$(s))))

# make stage1 .. make stage4
$(foreach s,$(STAGES),$(eval $(firstword $(subst -, ,$(s))): $(B)/bin/$(s)))

# ==== Tests ==================================================================

HARNESS_OBJ := $(B)/tests/harness.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

# libcommon.a goes last: a stage's object added below (pool.o) needs it, and
# the linker pulls from an archive only what the objects before it use.
$(B)/tests/test_%: $(B)/tests/unit/test_%.o $(HARNESS_OBJ) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(filter-out $(LIBCOMMON),$^) $(LIBCOMMON) -o $@ $(CUNIT_LIBS) $(HIREDIS_LIBS) $(UV_LIBS) -lpthread -lm

# Unit tests of a stage's own modules (stage 2's pool, stage 4's locks)
# compile against that stage's folder and link its object. The pool's
# tests also share a fixture (tests/unit/pool_fixture.c): items that record
# how they were served, and a gate the test opens.
POOL_TESTS := test_pool test_pool_queue test_pool_stop
$(POOL_TESTS:%=$(B)/tests/unit/%.o) $(B)/tests/unit/pool_fixture.o: CFLAGS += -Istage2-pool
$(POOL_TESTS:%=$(B)/tests/%): $(B)/stage2-pool/pool.o $(B)/tests/unit/pool_fixture.o
$(B)/tests/unit/test_qlock.o: CFLAGS += -Istage4-offload
$(B)/tests/test_qlock: $(B)/stage4-offload/qlock.o
$(B)/tests/unit/test_wlock.o: CFLAGS += -Istage4-offload
$(B)/tests/test_wlock: $(B)/stage4-offload/wlock.o
# loadgen's histogram (bench/hist.c) is tested on its own.
$(B)/tests/unit/test_hist.o: CFLAGS += -Ibench
$(B)/tests/test_hist: $(B)/bench/hist.o

# The command tests share a fixture (tests/unit/cmd_fixture.c): requests run
# as a stage runs them, replies compared byte for byte.
CMD_TESTS := test_cmd test_config test_info test_cmd_job
$(CMD_TESTS:%=$(B)/tests/%): $(B)/tests/unit/cmd_fixture.o

# The dump tests share a fixture (tests/unit/dump_fixture.c): a directory
# per test, and dumps made by hand in the format.
DUMP_TESTS := test_dump test_dump_corrupt test_dump_write test_dump_lock
$(DUMP_TESTS:%=$(B)/tests/%): $(B)/tests/unit/dump_fixture.o

# The append-only file's tests share a fixture (tests/unit/aof_fixture.c): a
# directory per test, records made by hand, requests run with a log buffer.
AOF_TESTS := test_aof test_aof_replay test_aof_reader
$(AOF_TESTS:%=$(B)/tests/%): $(B)/tests/unit/aof_fixture.o $(B)/tests/unit/dump_fixture.o

# The RESP tests share a fixture (tests/unit/resp_fixture.c): parser cases
# fed the way a caller feeds them, however the input is split.
RESP_TESTS := test_resp test_resp_parser test_resp_reply
$(RESP_TESTS:%=$(B)/tests/%): $(B)/tests/unit/resp_fixture.o

# The store tests (test_store*.c) need no rule: they are white-box and
# include store.c, with their shared helpers, through
# tests/unit/store_fixture.h, so there is no fixture object to link.

# Runs one test binary and reports its name; stops make on failure.
define run_test
	@echo "==== $(1) $(2)"
	@$(1) $(2)
endef

# ==== The load generator ======================================================

# bench/loadgen.c, the tour's open-loop client (bench/README.md): a libuv
# program like stages 3 and 4, with hiredis's reply reader and the
# histogram of bench/hist.c. Built by `make` in every variant, so that the
# loadgen suite (tests/stages.mk) runs it sanitized too.
LOADGEN := $(B)/bin/loadgen

$(LOADGEN): $(B)/bench/loadgen.o $(B)/bench/hist.o $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(HIREDIS_LIBS) $(UV_LIBS) -lm

-include tests/stages.mk

ALL_TARGETS := $(LIBCOMMON) $(STAGE_BINS) $(LOADGEN) $(UNIT_BINS) $(EXTRA_TEST_BINS)

all: $(ALL_TARGETS)

# A recipe line cannot span lines inside a function call; a foreach that
# runs one command per binary joins them with this newline instead.
define newline


endef

test-unit: $(UNIT_BINS)
	$(foreach t,$(UNIT_BINS),$(call run_test,$(t))$(newline))

# The tutorial's and the tour's helper script, on fake servers; the check
# that every hunk of a stage diff is explained, on doctored tutorials.
test-scripts:
	$(call run_test,scripts/test-wait-listening.sh)
	$(call run_test,scripts/test-stage-diffs.sh)

test: test-unit test-scripts $(addprefix test-,$(STAGE_NAMES))
	@echo "==== all tests passed ($(VARIANT))"

check: test

# ==== Lint ===================================================================

LINT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build/*')

lint: | $(DEPS_STAMP)-lint $(DEPS_STAMP)-build
	scripts/check-layout.sh
	clang-format --dry-run -Werror $(LINT_FILES)
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
	  --inline-suppr --suppress=missingIncludeSystem -Icommon $(LINT_FILES)

format: | $(DEPS_STAMP)-lint
	clang-format -i $(LINT_FILES)

# ==== Fuzzing ================================================================

FUZZ_SECONDS ?= 60
FUZZ_BIN := build/fuzz/fuzz_resp
FUZZ_CFLAGS := -std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=all -Icommon

$(FUZZ_BIN): tests/fuzz/fuzz_resp.c $(COMMON_SRC) $(wildcard common/*.h) | $(DEPS_STAMP)-fuzz $(DEPS_STAMP)-build
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) tests/fuzz/fuzz_resp.c $(COMMON_SRC) -o $@

fuzz: $(FUZZ_BIN)
	@mkdir -p build/fuzz/corpus
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	  -artifact_prefix=build/fuzz/ build/fuzz/corpus tests/fuzz/corpus

# ==== The tour ================================================================

# bench/tour.sh measures the release build whatever SANITIZE says: it builds
# the stages, its load generator and its idle-connection holder in
# build/release/, installs what it needs once (scripts/deps.sh tour), runs,
# and writes TOUR_OUT (bench/results/; make test-docs sets build/docs/tour).
# QUICK=1 runs the reduced set; TOUR_ARGS passes more options, e.g.
# TOUR_ARGS="--only idle --servers stage3,redis" (bench/README.md).
BENCH_BINS := $(B)/bench/idle_hold

$(B)/bench/idle_hold: $(B)/bench/idle_hold.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@

tour-bins: $(STAGE_BINS) $(BENCH_BINS) $(LOADGEN)

TOUR_ARGS ?=
TOUR_OUT ?= bench/results

tour: | $(DEPS_STAMP)-tour
	@$(MAKE) --no-print-directory SANITIZE= tour-bins
	bash bench/tour.sh $(if $(filter-out 0,$(QUICK)),--quick) --bin-dir build/release/bin \
	  --hold-bin build/release/bench/idle_hold --loadgen-bin build/release/bin/loadgen \
	  --out $(TOUR_OUT) $(TOUR_ARGS)

# ==== Diffs between stages ===================================================

# make diff-1-2: what the port from stage 1 to stage 2 changes. git diff
# --no-index gives stable headers (no timestamps) and works outside a repo.
STAGE_DIR = $(firstword $(wildcard stage$(1)-*))
diff-%:
	@a=$(call STAGE_DIR,$(word 1,$(subst -, ,$*))); b=$(call STAGE_DIR,$(word 2,$(subst -, ,$*))); \
	if [ -z "$$a" ] || [ -z "$$b" ]; then echo "usage: make diff-A-B with stages A and B (1-4)" >&2; exit 2; fi; \
	git --no-pager diff --no-index --histogram --stat $$a $$b; \
	git --no-pager diff --no-index --histogram $$a $$b; true

# ==== Documentation ==========================================================

# docs/diffs/ holds the stage-to-stage diffs the tutorial quotes; check-diffs
# fails when they are stale, when a port goes over its budget of changed
# lines, when a change only moves whitespace, when TUTORIAL.md quotes a
# hunk that is not in them, or when a hunk's chapter does not mention it
# (scripts/stage-diffs.sh says why each budget, and the rule for hunks).
diffs:
	@scripts/stage-diffs.sh write

check-diffs:
	@scripts/stage-diffs.sh check

# Runs every command README.md and TUTORIAL.md show, in order, and compares
# the output where they show it (scripts/test-docs.sh, cram).
test-docs: all | $(DEPS_STAMP)-docs $(DEPS_STAMP)-test
	scripts/test-docs.sh

# ==== Exercises ==============================================================

# Every graded exercise of TUTORIAL.md has a checker, tests/exercises/N.M.sh
# (tests/exercises/lib.sh says how one works): `make check-exercise 1.3`
# builds what you changed, runs it and says PASS or NOT YET; `make
# check-exercises` runs them all. `make verify-exercises` (CI) proves each
# checker can fail and pass: NOT YET on the tree, PASS with its reference
# solution (N.M.patch), NOT YET with its decoy (N.M.decoy.patch). A NOT YET
# is a verdict, not a failure of make: only a checker that breaks (status 2)
# fails the target; tests/exercises/check.sh returns 1 for NOT YET.
EXERCISES := $(shell cd tests/exercises 2>/dev/null && ls [0-9]*.[0-9]*.sh 2>/dev/null | sed 's/\.sh$$//' | sort -V)
EXERCISE_GOALS := $(filter $(EXERCISES),$(MAKECMDGOALS))

check-exercise: | $(DEPS_STAMP)-build $(DEPS_STAMP)-test
	@if [ -z "$(EXERCISE_GOALS)" ]; then \
	  echo "usage: make check-exercise N.M  (N.M one of: $(EXERCISES))" >&2; exit 2; fi
	@tests/exercises/check.sh $(EXERCISE_GOALS) || [ $$? = 1 ]

check-exercises: | $(DEPS_STAMP)-build $(DEPS_STAMP)-test
	@tests/exercises/check.sh $(EXERCISES) || [ $$? = 1 ]

verify-exercises: | $(DEPS_STAMP)-build $(DEPS_STAMP)-test
	tests/exercises/verify.sh

# `make check-exercise 1.3`: the exercise's number is a goal too; it does
# nothing by itself.
ifneq ($(EXERCISE_GOALS),)
$(EXERCISE_GOALS):
	@:
endif

# ==== Housekeeping ============================================================

clean:
	rm -rf build

.PHONY: all test test-unit test-scripts check lint format fuzz tour tour-bins diffs check-diffs test-docs check-exercise check-exercises verify-exercises clean $(foreach s,$(STAGES),$(firstword $(subst -, ,$(s))))

-include $(shell find build -name '*.d' 2>/dev/null)
