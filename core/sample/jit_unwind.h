/*
 * jit_unwind.h - unwind tables for generated call trampolines, so the
 * SIGPROF handler's unw_backtrace walks through them on its fast path.
 *
 * CPython >= 3.12 with the perf trampoline calls every Python function
 * through a copy of one tiny stub (x86-64: sub $8,%rsp; call *%rcx;
 * add $8,%rsp; ret), thousands of copies back to back in 64 KiB mmap'd
 * arenas.  No ELF object covers them, so libunwind has no CFI there: its
 * fast trace gives up at the first stub and unw_backtrace redoes the
 * whole stack with unw_step (a global lock and two sigprocmask calls per
 * frame), which still stops at the stub.  Registering one FDE per arena
 * with libunwind (_U_dyn_register, format UNW_INFO_FORMAT_IP_OFFSET)
 * fixes both: "CFA = rsp + 16, return address at CFA - 8" holds at every
 * return address inside a stub, which is what a caller's frame shows.
 *
 * The rule is wrong for the stub's first and last instructions (before
 * the sub, at the ret), where a sample can be interrupted: the handler
 * asks cg_jit_unwind_leaf_unsafe_sigsafe() and keeps only the PC there.
 *
 * Owns: a fixed table of registered regions (no allocation; regions are
 * never unregistered: CPython frees its arenas only at exit).
 * Thread safety: cg_jit_unwind_register() from any thread (serialised by
 * a mutex); the lookups from any thread or handler.
 * Signal safety: functions named *_sigsafe are async-signal-safe and
 * lock-free; the others are not (libunwind's registration takes a lock).
 */
#ifndef CG_JIT_UNWIND_H
#define CG_JIT_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The shape of one stub: the region is copies of the stub every
 * `copy_bytes` (the stub and any padding after it); inside each copy, PCs in [body_start, body_end) have
 * CFA = rsp + cfa_offset with the return address at CFA - 8 and every
 * other register unchanged. */
struct cg_tramp_layout {
    size_t copy_bytes;
    size_t body_start;
    size_t body_end;
    uint8_t cfa_offset;
};

/* Most regions registered (64 KiB arenas: 4 MiB of stubs, about 380,000
 * Python code objects); later regions are refused with CG_EFULL. */
#define CG_JIT_UNWIND_MAX_REGIONS 64

/* Recognises CPython's x86-64 perf trampoline in `code` (the stub's
 * bytes, `n` of them, optionally starting with endbr64).  Returns true
 * and fills *out (copy_bytes = n: set it to the region's stride), or
 * false for any other code. */
bool cg_tramp_layout_recognise(const uint8_t *code, size_t n, struct cg_tramp_layout *out);

/* The distance between copies when [start, start+len) begins with two
 * copies of the stub `tmpl` (`code_bytes` long): back to back (CPython
 * 3.12) or each at a multiple of 16, 32 or 64 bytes (3.13 pads each copy
 * to 16).  0 when the region does not start that way. */
size_t cg_tramp_region_stride(const uint8_t *start, size_t len, const uint8_t *tmpl,
                              size_t code_bytes);

/* Registers unwind info for [start, start+len) with libunwind.  Returns
 * 0; CG_EFULL when the table is full; CG_EINVAL for an empty region or a
 * layout it cannot describe; 0 without doing anything when the region is
 * already registered. */
int cg_jit_unwind_register(uintptr_t start, size_t len, const struct cg_tramp_layout *l);

/* True when `pc`, an interrupted PC, lies in a registered region outside
 * its copy's body, where the registered rule does not hold. */
bool cg_jit_unwind_leaf_unsafe_sigsafe(uintptr_t pc);

/* The rule at lookup address `addr` (an interrupted PC or a return
 * address minus one) inside a registered region's copy body: CFA = RSP +
 * *cfa_offset, the return address at CFA - 8, no other register saved.
 * False outside every region, or outside a copy's body. */
bool cg_jit_unwind_rule_sigsafe(uintptr_t addr, unsigned *cfa_offset);

/* Regions registered so far. */
size_t cg_jit_unwind_regions(void);

#endif
