# cgagent build.
#
#   make            build/libcgagent.so and build/cgagent
#   make deps       install missing Debian packages (no-op when all present)
#   make test       deps, build, layout + unit + integration + end-to-end tests
#   make check      handler lint, layout, unit tests under ASan+UBSan, then
#                   TSan; fuzz
#   make fuzz       every libFuzzer target FUZZ_SECONDS (60) each
#   make stress     the reliability suite, long form
#   make stress-asan   the reliability suite with the ASan+UBSan library
#                   (STRESS_FORM=long for the long form)
#   make check-layout  rooms and their one-way order, file sizes, headers, doc paths
#   make bench      cost against gperftools and no profiler (BENCH_ARGS=--quick)
#   make demo       profile a bundled workload and xz, print the reports
#   make install    PREFIX=/usr/local DESTDIR= (library, command, man pages)
#   make dist      build/cgagent-<version>-linux-<arch>.tar.gz, the portable
#                   tarball (glibc >= 2.17; dist/dist.mk, docs/install.md)
#   make dist-musl build/cgagent-<version>-linux-<arch>-musl.tar.gz, for musl
#                   (Alpine) programs (dist/musl.mk, docs/install.md)
#   make lambda-layer  build/cgagent-lambda-layer.zip, the AWS Lambda layer
#                   (docs/lambda.md)
#
# Layout of the build: every room's .c files are found by wildcard, so a
# new file needs no Makefile edit.  The rooms below the entry points
# (LIB_ROOMS, bottom first: the order scripts/check-layout.py enforces, see
# docs/internals.md) go into a static archive (build/libcgcore.a) that the
# injected object (preload/), the `cgagent` command (cli/) and every unit
# test link.

V ?= 0
WERROR ?= 1
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
# SANITIZER=address,undefined or SANITIZER=thread (used by `make check`).
SANITIZER ?=

CC ?= cc
PKG_CONFIG ?= pkg-config
PYTHON ?= python3

VERSION := 0.1.0

ifeq ($(V),0)
Q := @
say = @printf '  %-7s %s\n' $(1) $(2);
else
Q :=
say =
endif

PKGS := libunwind libcurl jansson zlib expat inih
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
# mbedTLS 2.28 on Debian ships no .pc file.
MBED_LIBS := -lmbedcrypto -lunwind-ptrace -lunwind-generic

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN += -Werror
endif

# JNI and JVMTI headers (core/runtime/, Java frames): the JDK's include
# directory, from openjdk-17-jdk-headless (make deps).
JAVA_HOME_DIR ?= $(shell d=$$(readlink -f $$(command -v javac 2>/dev/null) 2>/dev/null); \
                   [ -n "$$d" ] && dirname $$(dirname $$d))
JNI_CFLAGS := -I$(JAVA_HOME_DIR)/include -I$(JAVA_HOME_DIR)/include/linux

OPT ?= -O2 -g
CFLAGS_ALL := -std=gnu11 $(OPT) $(WARN) -fPIC -fvisibility=hidden \
              -D_GNU_SOURCE -DCGAGENT_VERSION='"$(VERSION)"' -I. $(JNI_CFLAGS) \
              $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
LDLIBS_ALL := $(PKG_LIBS) $(MBED_LIBS) -lm -lpthread -ldl -lrt $(LDLIBS)

ifneq ($(SANITIZER),)
CFLAGS_ALL += -fsanitize=$(SANITIZER) -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZER)
endif

LIB_ROOMS := core/base sigv4 sts core/sample core/symbols core/profile core/upload core/runtime \
             core/agent
CORE_SRC := $(foreach r,$(LIB_ROOMS),$(wildcard $(r)/*.c))
CLI_SRC := $(wildcard cli/*.c)
PRELOAD_SRC := $(wildcard preload/*.c)
UNIT_SRC := $(wildcard tests/unit/*_test.c)
WORKLOAD_SRC := $(wildcard tests/workloads/*.c)
WORKLOAD_CXX_SRC := $(wildcard tests/workloads/*.cc)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
CORE_OBJ := $(call obj,$(CORE_SRC))
CLI_OBJ := $(call obj,$(CLI_SRC))
PRELOAD_OBJ := $(call obj,$(PRELOAD_SRC))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
WORKLOAD_BIN := $(patsubst tests/workloads/%.c,$(BUILD)/workloads/%,$(WORKLOAD_SRC)) \
                $(patsubst tests/workloads/%.cc,$(BUILD)/workloads/%,$(WORKLOAD_CXX_SRC))

LIB := $(BUILD)/libcgagent.so
IMPL := $(BUILD)/libcgagent-impl.so
CLI := $(BUILD)/cgagent
CORE_A := $(BUILD)/libcgcore.a
# The shim applies the agent's own privilege rules (shim/impl_file.c), so
# it links that one object, which needs libc only.
SHIM_OBJ := $(call obj,$(wildcard shim/*.c) core/agent/config_privilege.c)
BRIDGE_OBJ := $(call obj,preload/bridge.c)
PRELOAD_OBJ := $(filter-out $(BRIDGE_OBJ),$(PRELOAD_OBJ))

# `make dist`, the portable build, and the glibc pins every shim is built
# with (dist/dist.mk; docs/install.md).
include dist/dist.mk

# Two libraries by default: libcgagent.so, the shim users preload, and
# libcgagent-impl.so beside it, the agent, which the shim opens with
# RTLD_DEEPBIND so that its calls never bind to a program's own copies of
# its libraries (docs/security.md).  Sanitizer builds keep one library:
# their runtimes interpose malloc through the program's scope and refuse
# RTLD_DEEPBIND.
ifeq ($(SANITIZER),)
SPLIT := 1
endif

.PHONY: all deps test test-unit test-e2e test-emulator check check-layout lint-handler \
        fuzz fuzz-bins stress stress-asan bench demo install lambda-layer uninstall clean workloads unit-bins
.DEFAULT_GOAL := all

all: $(LIB) $(CLI) $(if $(SPLIT),$(IMPL))

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(CORE_A): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

# -z nodelete: a dlclose of the agent must never unmap the signal handler.
# The version scripts export nothing but the interposed libc entry points
# (and, split, the shim's bridge and the implementation's allocator,
# preload/bridge.h).
ifeq ($(SPLIT),1)
$(IMPL): $(PRELOAD_OBJ) $(BRIDGE_OBJ) $(CORE_A) preload/libcgagent.map preload/impl.map
	$(call say,LD,$@)$(CC) -shared -o $@ $(PRELOAD_OBJ) $(BRIDGE_OBJ) $(CORE_A) \
	    -Wl,--version-script=preload/impl.map -Wl,-z,nodelete \
	    -Wl,-z,now -Wl,--as-needed $(LDFLAGS) $(LDLIBS_ALL)

# libunwind is a dependency of the shim so that it loads with the program
# and its thread-local cache lives in static TLS (shim/shim.c).
$(LIB): $(SHIM_OBJ) shim/libcgagent.map
	$(call say,LD,$@)$(CC) -shared -o $@ $(SHIM_OBJ) \
	    -Wl,--version-script=shim/libcgagent.map -Wl,-z,nodelete \
	    -Wl,-z,now -Wl,--no-undefined $(LDFLAGS) -Wl,--no-as-needed \
	    $(if $(PORTABLE),,-lunwind) $(SHIM_LIBS)
else
$(LIB): $(PRELOAD_OBJ) $(CORE_A) preload/libcgagent.map
	$(call say,LD,$@)$(CC) -shared -o $@ $(PRELOAD_OBJ) $(CORE_A) \
	    -Wl,--version-script=preload/libcgagent.map -Wl,-z,nodelete \
	    -Wl,-z,now -Wl,--no-undefined -Wl,--as-needed $(LDFLAGS) $(LDLIBS_ALL)
endif

$(CLI): $(CLI_OBJ) $(CORE_A)
	$(call say,LD,$@)$(CC) -o $@ $(CLI_OBJ) $(CORE_A) $(LDFLAGS) $(LDLIBS_ALL)

# Unit tests find their data (tests/data/) by absolute path, so a test
# binary runs from any directory and never looks outside the repository.
$(BUILD)/tests/%: tests/unit/%.c $(CORE_A)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CFLAGS_ALL) -DCG_TEST_DATA_DIR='"$(CURDIR)/tests/data"' \
	    -o $@ $< $(CORE_A) $(LDFLAGS) \
	    $(LDLIBS_ALL) $(shell $(PKG_CONFIG) --libs cmocka)

# *_wipe_test binaries check that secrets are wiped before they are freed:
# every free/realloc of the agent's objects (and libcurl's symbols, found
# with dlsym) goes through the test first (tests/unit/wipe_check.h).
$(BUILD)/tests/%_wipe_test: LDFLAGS += -Wl,--wrap=free -Wl,--wrap=realloc -Wl,--wrap=dlsym

# Counts libunwind's unw_step calls: libunwind's own calls bind to the
# test's definition only when the program exports it.
$(BUILD)/tests/plt_unwind_fast_test: LDFLAGS += -Wl,--export-dynamic-symbol=_ULx86_64_step

# Workloads are the programs we profile in tests: built the way users build
# (no -fno-omit-frame-pointer), so unwinding must use DWARF CFI.
$(BUILD)/workloads/%: tests/workloads/%.c $(wildcard tests/workloads/*.h)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) -std=gnu11 -O2 -g -fomit-frame-pointer \
	    -D_GNU_SOURCE $(WORKLOAD_LDFLAGS) -o $@ $< -lpthread -lm -ldl

# Exports its own jansson and mbedTLS functions, as a program that links
# them statically with -rdynamic does (tests/stress/test_own_symbols.py).
$(BUILD)/workloads/own_symbols: WORKLOAD_LDFLAGS := -rdynamic
# Exports OpenSSL and zlib names, for libcurl to (not) bind to (same test).
$(BUILD)/workloads/own_tls_symbols: WORKLOAD_LDFLAGS := -rdynamic

# The setuid probe links the agent (the loader ignores LD_PRELOAD paths in
# setuid programs) and finds it by absolute RUNPATH ($$ORIGIN is ignored
# there too).
$(BUILD)/workloads/setuid_probe: tests/workloads/setuid_probe.c $(LIB)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) -std=gnu11 -O2 -g -D_GNU_SOURCE -o $@ $< \
	    -Wl,--no-as-needed -L$(BUILD) -lcgagent -Wl,-rpath,$(abspath $(BUILD)) $(LDFLAGS)

$(BUILD)/workloads/%: tests/workloads/%.cc
	@mkdir -p $(dir $@)
	$(call say,CXX,$<)$(CXX) -std=gnu++17 -O2 -g -fomit-frame-pointer \
	    -o $@ $< -lpthread

workloads: $(WORKLOAD_BIN)
unit-bins: $(UNIT_BIN)

deps:
	$(Q)sh scripts/deps.sh

# The portable tarball is built first (tests/e2e/test_dist.py checks it;
# without Debian's archive its tests skip, saying why) and the end-to-end
# suite runs a second time with its agent (dist/dist.mk, test-dist).
test: deps
	$(Q)$(MAKE) --no-print-directory all unit-bins workloads
	$(Q)if command -v $(FUZZ_CC) >/dev/null 2>&1; then \
	    $(MAKE) --no-print-directory fuzz-bins; fi
	$(Q)$(MAKE) --no-print-directory dist || echo "test: make dist failed (above)"
	$(Q)$(MAKE) --no-print-directory dist-musl || echo "test: make dist-musl failed (above)"
	$(Q)status=0; $(PYTHON) tests/run.py --build $(BUILD) || status=1; \
	if [ -f $(DIST_TGZ) ]; then \
	    echo "== e2e with the portable tarball's agent"; \
	    $(MAKE) --no-print-directory test-dist || status=1; fi; \
	exit $$status

# The reliability suite in its long form (tests/stress/, CGAGENT_STRESS=long);
# `make test` runs its short form.
stress: deps
	$(Q)$(MAKE) --no-print-directory all unit-bins workloads
	$(Q)CGAGENT_STRESS=long $(PYTHON) tests/run.py --build $(BUILD) --only stress

# The same suite with the ASan+UBSan build of libcgagent.so (build/asan, as
# `make check` builds it) in the real programs: the sanitizer runtime goes
# first in LD_PRELOAD (tests/e2e/profiles.py, CGAGENT_PRELOAD_FIRST), UB is
# fatal, and a report on stderr fails the test that reads it.  Leak
# checking is off: libcurl's dependencies leave their caches at exit (as
# in scripts/check-preload.sh).
STRESS_FORM ?= short
stress-asan: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan SANITIZER=address,undefined \
	    OPT="-O1 -g" all workloads
	$(Q)CGAGENT_STRESS=$(STRESS_FORM) CGAGENT_PRELOAD_FIRST=$$($(CC) -print-file-name=libasan.so) \
	    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    $(PYTHON) tests/run.py --build build/asan --only stress

test-unit: unit-bins
	$(Q)$(PYTHON) tests/run.py --build $(BUILD) --only unit

# Sanitizer builds live in their own trees so they never mix with build/.
check: deps
	$(Q)$(MAKE) --no-print-directory lint-handler
	$(Q)$(MAKE) --no-print-directory check-layout
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan \
	    SANITIZER=address,undefined OPT="-O1 -g" all unit-bins workloads
	$(Q)UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	    $(PYTHON) tests/run.py --build build/asan --only unit
	$(Q)sh scripts/check-preload.sh build/asan asan
	$(Q)$(PYTHON) scripts/check-upload.py build/asan
	$(Q)$(MAKE) --no-print-directory BUILD=build/tsan SANITIZER=thread \
	    OPT="-O1 -g" unit-bins
	$(Q)TSAN_OPTIONS=halt_on_error=1 \
	    $(PYTHON) tests/run.py --build build/tsan --only unit
	$(Q)$(MAKE) --no-print-directory fuzz

lint-handler:
	$(Q)sh scripts/lint-handler.sh

# Include edges always; link edges when $(BUILD) has objects.
check-layout:
	$(Q)$(PYTHON) scripts/check-layout.py --build $(BUILD)

# Fuzzing: every tests/fuzz/*_fuzz.c is a libFuzzer target linked with the
# whole core built by clang with ASan+UBSan (UB is fatal) and libFuzzer's
# coverage, in build/fuzz/.  `make fuzz` runs each for FUZZ_SECONDS
# (FUZZ_SECONDS=600 for the long runs) from its seed corpus
# tests/fuzz/corpus/NAME/ (new inputs go to build/fuzz/corpus/NAME/, the
# seeds stay as they are) and prints executions and coverage; `make test`
# runs each over its seeds only (tests/fuzz/test_corpus.py).
FUZZ_SRC := $(wildcard tests/fuzz/*_fuzz.c)
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_DIR := build/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -DCGAGENT_VERSION='"$(VERSION)"' -I. \
               $(JNI_CFLAGS) $(PKG_CFLAGS) -fno-omit-frame-pointer $(FUZZ_SAN) -MMD -MP
FUZZ_CORE_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(CORE_SRC))
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRC))

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,FUZZCC,$<)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/libcgcore.a: $(FUZZ_CORE_OBJ)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/%_fuzz: tests/fuzz/%_fuzz.c tests/fuzz/fuzz_util.h $(FUZZ_DIR)/libcgcore.a
	$(call say,FUZZLD,$@)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(FUZZ_DIR)/libcgcore.a $(PKG_LIBS) $(MBED_LIBS) -lm -lpthread -ldl -lrt

fuzz-bins: $(FUZZ_BIN)

fuzz: deps
	$(Q)$(MAKE) --no-print-directory fuzz-bins
	$(Q)for b in $(FUZZ_BIN); do \
	    n=$$(basename $$b); mkdir -p $(FUZZ_DIR)/corpus/$$n; \
	    echo "  FUZZ    $$n ($(FUZZ_SECONDS) s)"; \
	    $$b -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	        -artifact_prefix=$(FUZZ_DIR)/$$n- -print_final_stats=1 \
	        $(FUZZ_DIR)/corpus/$$n tests/fuzz/corpus/$$n \
	        >$(FUZZ_DIR)/$$n.log 2>&1 || { tail -40 $(FUZZ_DIR)/$$n.log; exit 1; }; \
	    grep -E '^#[0-9]+ *DONE' $(FUZZ_DIR)/$$n.log | tail -1; \
	done

# Programs only the bench runs, built like the workloads.
$(BUILD)/bench/%: tests/bench/%.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) -std=gnu11 -O2 -g -fomit-frame-pointer \
	    -D_GNU_SOURCE -o $@ $< -lpthread -ldl

# Libraries the bench preloads or loads: signal_floor.so (an empty SIGPROF
# handler at 100 Hz, the "signals only" line), cost_meter.so (what a
# profiler's own code spends) and hop.so (signal_cost's busy-process case
# loads copies of it).
$(BUILD)/bench/%.so: tests/bench/%.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) -std=gnu11 -O2 -g -fomit-frame-pointer -fPIC -shared -o $@ $<

bench: deps all workloads $(BUILD)/bench/signal_cost $(BUILD)/bench/hop.so \
       $(BUILD)/bench/signal_floor.so $(BUILD)/bench/cost_meter.so $(BUILD)/calltree_bench
	$(Q)$(PYTHON) tests/bench/bench.py --build $(BUILD) $(BENCH_ARGS)

demo: deps
	$(Q)$(MAKE) --no-print-directory all workloads
	$(Q)sh scripts/demo.sh $(BUILD)

# The Lambda layer: the wrapper and the portable tarball's agent and
# command, no other library (scripts/lambda-layer.py; docs/lambda.md).
lambda-layer: dist
	$(Q)$(PYTHON) scripts/lambda-layer.py --dist $(DIST_TGZ) --output $(BUILD)/cgagent-lambda-layer.zip

MANDIR ?= $(PREFIX)/share/man

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 0644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libcgagent.so
	$(if $(SPLIT),install -m 0644 $(IMPL) $(DESTDIR)$(PREFIX)/lib/libcgagent-impl.so)
	install -m 0755 $(CLI) $(DESTDIR)$(PREFIX)/bin/cgagent
	install -m 0644 man/cgagent.1 $(DESTDIR)$(MANDIR)/man1/cgagent.1
	install -m 0644 man/cgagent.conf.5 $(DESTDIR)$(MANDIR)/man5/cgagent.conf.5

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libcgagent.so $(DESTDIR)$(PREFIX)/lib/libcgagent-impl.so \
	    $(DESTDIR)$(PREFIX)/bin/cgagent \
	    $(DESTDIR)$(MANDIR)/man1/cgagent.1 $(DESTDIR)$(MANDIR)/man5/cgagent.conf.5

clean:
	rm -rf build

# (Not the bundled libraries' sources under $(BUILD)/dist/deps: dist/dist.mk.)
-include $(shell find $(BUILD) $(FUZZ_DIR) -path '*/dist/deps' -prune -o -name '*.d' -type f \
    -print 2>/dev/null)

$(BUILD)/calltree_bench: tests/bench/calltree_bench.c $(CORE_A)
	$(call say,CC,$<)$(CC) $(CFLAGS_ALL) -o $@ $< $(CORE_A) $(LDFLAGS) $(LDLIBS_ALL)
