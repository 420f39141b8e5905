# tests/stages.mk: which suites run against which stage.
#
# Every suite is one CUnit binary built from tests/suites/NAME.c and the
# helpers in tests/support/; it takes the path of the server binary to test
# as its argument. `make test-stageN` runs the unit tests, then each suite
# listed here for stage N. A stage with no server.c yet is skipped.

# The conformance suite, one binary per topic (tests/suites/conformance_*.c).
CONFORMANCE := conformance_commands conformance_protocol conformance_clients \
  conformance_persistence conformance_shutdown conformance_aof

# thread_departed and loop_clients hold what two stages of one model share.
SUITES_stage1-threads := $(CONFORMANCE) stage1_threads thread_departed
SUITES_stage2-pool := $(CONFORMANCE) stage2_pool thread_departed
# loadgen (the tour's open-loop load generator) is tested against stage 3,
# whose DEBUG SLEEP stalls every client: see tests/suites/loadgen.c.
SUITES_stage3-eventloop := $(CONFORMANCE) stage3_eventloop stage3_aof loop_clients loadgen
SUITES_stage4-offload := $(CONFORMANCE) stage4_offload stage4_jobs loop_clients \
  stage4_shutdown stage4_watchdog stage4_save stage4_aof

# ---- how suites are built and run (no need to edit below) ----

SUPPORT_OBJ := $(patsubst %.c,$(B)/%.o,$(wildcard tests/support/*.c))
SUITE_SRC := $(wildcard tests/suites/*.c)
SUITE_BINS := $(SUITE_SRC:tests/suites/%.c=$(B)/tests/suite_%)
EXTRA_TEST_BINS += $(SUITE_BINS)

$(B)/tests/suite_%: $(B)/tests/suites/%.o $(SUPPORT_OBJ) $(HARNESS_OBJ) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(CUNIT_LIBS) $(HIREDIS_LIBS) -lpthread

# stage1-threads -> stage1
STAGE_NAMES := $(foreach s,$(STAGES),$(firstword $(subst -, ,$(s))))

define stage_test_rules
test-$(firstword $(subst -, ,$(1))): test-unit $(B)/bin/$(1) $(SUITES_$(1):%=$(B)/tests/suite_%)
	$(foreach t,$(SUITES_$(1)),$(call run_test,$(B)/tests/suite_$(t),$(B)/bin/$(1))
	)
	@echo "==== $(1): all suites passed ($(VARIANT))"
.PHONY: test-$(firstword $(subst -, ,$(1)))
endef
$(foreach s,$(STAGES),$(eval $(call stage_test_rules,$(s))))

# Keep the objects make would otherwise delete as intermediates after each
# link, so that a second run does not rebuild them.
.SECONDARY: $(SUPPORT_OBJ) $(HARNESS_OBJ) $(SUITE_SRC:tests/suites/%.c=$(B)/tests/suites/%.o)

# Stage 3's suite runs one session under valgrind (nothing definitely lost):
# install it rather than let that test skip.
test-stage3: | $(DEPS_STAMP)-valgrind

# The loadgen suite runs the loadgen built in the same variant.
test-stage3: $(LOADGEN)
