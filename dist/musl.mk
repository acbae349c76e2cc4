# The musl build: `make dist-musl` (docs/install.md, "musl (Alpine)").
#
#   make dist-musl   build/cgagent-<version>-linux-<arch>-musl.tar.gz
#
# The agent and the command built a second time, in $(MUSL_DIR)/build
# with MUSL=1 and CC=musl-gcc (Debian's musl-tools), for programs whose
# interpreter is musl's /lib/ld-musl-<arch>.so.1 (Alpine and its images):
#   - one library, lib/libcgagent.so, as the sanitizer builds have (SPLIT
#     empty): musl's dlopen has no RTLD_DEEPBIND, which the glibc build's
#     shim needs to keep the agent's libraries apart from the program's;
#     the bundled libraries are hidden inside it instead
#     (--exclude-libs), and the version script exports only the
#     interposed libc entry points (preload/libcgagent.map);
#   - the libraries of dist/deps.lock built with musl-gcc
#     (dist/build-deps.sh with no glibc pins), linked in statically;
#     libcurl is loaded at run time as in every build (Alpine's
#     libcurl.so.4 is musl's own);
#   - -DCG_MUSL=1 selects the code musl needs (core/sample/sigreturn.c,
#     core/sample/loaded_objects.c, and a few glibc-only names);
#   - --wrap=dl_iterate_phdr sends every call of it, libunwind's too,
#     through core/sample/loaded_objects.c, so that the SIGPROF handler
#     never takes musl's loader lock (that file says why);
#   - the command, bin/cgagent, is static (below).
# dist/package.py --musl packs it; tests/e2e/test_musl.py tests it with
# programs built by musl-gcc.

MUSL_CC ?= musl-gcc
MUSL_DIR := $(BUILD)/dist-musl
MUSL_NAME := $(DIST_NAME)-musl
MUSL_TGZ := $(BUILD)/$(MUSL_NAME).tar.gz

# musl-gcc searches musl's headers only (-nostdinc).  The agent also needs
# the kernel's (linux/futex.h, linux/capability.h) and libcurl's types
# (core/base/curl_load.h): both are libc-neutral, and a directory of links
# to them is searched after musl's.  Never glibc's own include directory.
MUSL_INCLUDE := $(MUSL_DIR)/include
MUSL_HEADER_DIRS := /usr/include/linux /usr/include/asm-generic \
                    /usr/include/$(DIST_ARCH)-linux-gnu/asm /usr/include/$(DIST_ARCH)-linux-gnu/curl

ifeq ($(MUSL),1)
# Set by the dist-musl target below: where the bundled libraries are.
MUSL_PREFIX ?= $(error MUSL=1 is set by `make dist-musl` only)
# Their headers, not the host's (the sub-make runs with PKG_CONFIG=false:
# the host's pkg-config names glibc's directories); musl_compat.h declares
# what musl lacks of glibc's names (core/base/musl_compat.c).
CFLAGS_ALL += -DCG_MUSL=1 -include core/base/musl_compat.h -I$(MUSL_PREFIX)/include \
              -idirafter $(MUSL_INCLUDE)
# libm, libdl, libpthread and librt are all in musl's one libc.so.
LDLIBS_ALL := $(addprefix $(MUSL_PREFIX)/lib/,libunwind-ptrace.a libunwind-generic.a \
              libunwind.a libjansson.a libexpat.a libinih.a libmbedcrypto.a libz.a)
# --eh-frame-hdr: Debian's musl-gcc wrapper leaves it out (its specs replace
# gcc's link line), and without the .eh_frame_hdr search table libunwind
# would read the library's file to find its frames, from the handler.
LDFLAGS += -Wl,--exclude-libs,ALL -Wl,--wrap=dl_iterate_phdr -Wl,--eh-frame-hdr
# The command links musl in: a static program runs on glibc and musl
# images alike, so one `cgagent run` serves as every image's entrypoint
# wrapper (it picks the agent by the program's libc, cli/target_libc.h).
# What it gives up: dlopen, so `cgagent check` cannot load libcurl for its
# network stages (the glibc build's command can).
$(CLI): LDFLAGS += -static
endif

.PHONY: dist-musl
dist-musl: deps
	$(Q)command -v $(MUSL_CC) >/dev/null 2>&1 || \
	    { echo "dist-musl: $(MUSL_CC) not found (Debian's musl-tools: make deps)" >&2; exit 1; }
	$(Q)sh dist/build-deps.sh $(abspath $(MUSL_DIR)/deps) none $(MUSL_CC)
	$(Q)rm -rf $(MUSL_INCLUDE) && mkdir -p $(MUSL_INCLUDE) && \
	    for d in $(MUSL_HEADER_DIRS); do \
	        [ -d $$d ] || { echo "dist-musl: $$d missing (make deps)" >&2; exit 1; }; \
	        ln -s $$d $(MUSL_INCLUDE)/$$(basename $$d); done
	$(Q)$(MAKE) --no-print-directory BUILD=$(MUSL_DIR)/build MUSL=1 CC=$(MUSL_CC) SPLIT= \
	    PKG_CONFIG=false MUSL_INCLUDE=$(abspath $(MUSL_INCLUDE)) \
	    MUSL_PREFIX=$(abspath $(MUSL_DIR)/deps/prefix) all
	$(Q)$(PYTHON) dist/package.py --musl --build $(MUSL_DIR)/build --deps $(MUSL_DIR)/deps \
	    --name $(MUSL_NAME) --output $(MUSL_TGZ)
