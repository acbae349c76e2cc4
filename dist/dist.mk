# The portable build: `make dist` (docs/install.md).
#
#   make dist      build/cgagent-<version>-linux-x86_64.tar.gz
#
# One tarball for every glibc since GLIBC_FLOOR: the agent and the command
# are built a second time, in $(DIST_DIR)/build with PORTABLE=1, where
#   - every object (the bundled libraries' too) is compiled with
#     -include glibc-pins.h (dist/glibc_pins.py), which binds each glibc
#     function to its oldest version no newer than the floor;
#   - functions glibc only has in newer versions are replaced
#     (core/base/glibc_floor.c, compiled in only here);
#   - the libraries of dist/deps.lock are linked in statically
#     (dist/build-deps.sh builds them once, from Debian's sources), and
#     nothing outside glibc is a DT_NEEDED: libcurl is loaded at run time;
#   - libdl, libpthread and librt are named as DT_NEEDED: their functions
#     moved into libc in glibc 2.34, so an older glibc finds them there.
# dist/check_portable.py then checks every ELF file of the tarball
# (tests/e2e/test_dist.py runs it too).
#
# The stock build also compiles the shim with the pins (SHIM_PINS below),
# so that libcgagent.so loads under any glibc since the floor and says in
# one line that the agent is off, instead of a loader error that stops the
# program.

GLIBC_FLOOR := 2.17
DIST_ARCH := $(shell uname -m)
DIST_DIR := $(BUILD)/dist
DIST_NAME := cgagent-$(VERSION)-linux-$(DIST_ARCH)
DIST_TGZ := $(BUILD)/$(DIST_NAME).tar.gz
DIST_PINS_ARGS = --floor $(GLIBC_FLOOR) --exclude preload/impl.map --exclude shim/libcgagent.map

# The shim's pins, in every build.
SHIM_PINS := $(BUILD)/glibc-pins.h
$(SHIM_PINS): dist/glibc_pins.py preload/impl.map shim/libcgagent.map
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)$(PYTHON) dist/glibc_pins.py $(DIST_PINS_ARGS) >$@.tmp && mv $@.tmp $@
$(SHIM_OBJ): $(SHIM_PINS)
$(SHIM_OBJ): CFLAGS_ALL += -include $(SHIM_PINS)
# The shim's own copy of the replacements (core/base/glibc_floor.c: stat
# and fstat are functions only since glibc 2.33).
SHIM_FLOOR_OBJ := $(BUILD)/obj/shim-floor/glibc_floor.o
$(SHIM_FLOOR_OBJ): core/base/glibc_floor.c $(SHIM_PINS)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CFLAGS_ALL) -include $(SHIM_PINS) -DCG_GLIBC_FLOOR=1 -c -o $@ $<
SHIM_OBJ += $(SHIM_FLOOR_OBJ)
# dlopen and dlsym are libdl's before glibc 2.34.
SHIM_LIBS := -l:libdl.so.2

ifeq ($(PORTABLE),1)
# Set by the dist target below: where the bundled libraries are installed.
DIST_PREFIX ?= $(error PORTABLE=1 is set by `make dist` only)
PKG_CFLAGS = -I$(DIST_PREFIX)/include
CFLAGS_ALL += -include $(SHIM_PINS) -DCG_GLIBC_FLOOR=1
$(CORE_OBJ) $(CLI_OBJ) $(PRELOAD_OBJ) $(BRIDGE_OBJ): $(SHIM_PINS)
DIST_ARCHIVES := $(addprefix $(DIST_PREFIX)/lib/,libunwind-ptrace.a libunwind-generic.a \
                 libunwind.a libjansson.a libexpat.a libinih.a libmbedcrypto.a libz.a)
LDLIBS_ALL := $(DIST_ARCHIVES) -lelf -Wl,--no-as-needed -l:libpthread.so.0 -l:libdl.so.2 \
              -l:librt.so.1 -lm -Wl,--as-needed
# No libunwind beside the shim: the implementation carries its own
# (dist/build-deps.sh says how its thread-local cache stays safe).
SHIM_LIBS := -l:libdl.so.2
LDFLAGS += -Wl,--exclude-libs,ALL
# The command's start file calls glibc 2.34's __libc_start_main
# (cli/glibc_start.c).
$(CLI): LDFLAGS += -Wl,--wrap=__libc_start_main
endif

.PHONY: dist
dist: deps
	$(Q)rm -f $(DIST_TGZ)
	$(Q)$(MAKE) --no-print-directory $(SHIM_PINS)
	$(Q)sh dist/build-deps.sh $(abspath $(DIST_DIR)/deps) $(abspath $(SHIM_PINS)) $(CC)
	$(Q)$(MAKE) --no-print-directory BUILD=$(DIST_DIR)/build PORTABLE=1 \
	    DIST_PREFIX=$(abspath $(DIST_DIR)/deps/prefix) all
	$(Q)$(PYTHON) dist/package.py --build $(DIST_DIR)/build --deps $(DIST_DIR)/deps \
	    --name $(DIST_NAME) --output $(DIST_TGZ) --floor $(GLIBC_FLOOR)

# The end-to-end suite again, with the tarball's agent and command
# (tests/e2e/profiles.py, CGAGENT_DIST); the workloads are the stock
# build's.  `make test` runs it after the whole suite when the tarball
# could be built.
DIST_UNPACKED := $(DIST_DIR)/unpacked
.PHONY: test-dist
test-dist: workloads
	$(Q)test -f $(DIST_TGZ) || { echo "test-dist: no $(DIST_TGZ): run make dist"; exit 1; }
	$(Q)rm -rf $(DIST_UNPACKED) && mkdir -p $(DIST_UNPACKED) && tar -xzf $(DIST_TGZ) -C $(DIST_UNPACKED)
	$(Q)CGAGENT_DIST=$(abspath $(DIST_UNPACKED)/$(DIST_NAME)) $(PYTHON) tests/run.py \
	    --build $(BUILD) --only e2e

# `make dist-musl`, the musl build (dist/musl.mk).
include dist/musl.mk
