/*
 * plt_unwind.h - the shape of a loaded PLT section, so the unwinder can be
 * told a plain rule for it (core/sample/jit_unwind.h registers the rule).
 *
 * A shared library that calls its own exported functions (libpython does,
 * thousands of times per Python function call) goes through its PLT.  The
 * linker's CFI for .plt is a DWARF expression ("CFA = rsp + 8, or + 16
 * after the push"), which libunwind's fast trace cannot use: every sample
 * interrupted in a PLT entry redoes the whole stack with unw_step (a
 * global lock and two sigprocmask calls per frame).  Each entry's
 * `jmp *GOT(%rip)` (and everything before the lazy-binding push) has the
 * plain rule "CFA = rsp + 8, return address at CFA - 8", which the fast
 * trace caches like any other frame.
 *
 * Owns: nothing.
 * Thread safety: pure functions.
 * Signal safety: none needed (called at start-up).
 */
#ifndef CG_PLT_UNWIND_H
#define CG_PLT_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cg_tramp_layout;

/* Recognises the x86-64 PLT section `sec` (its loaded bytes, `size` of
 * them, entries `entsize` bytes apart: 8 or 16).  The first entry may be
 * PLT0 (`push GOT+8; jmp *GOT+16`), which is left out.  Every other entry
 * must have the same instructions (operands aside), from this set:
 * endbr64, [bnd] jmp *rel32(%rip), push $imm32, [bnd] jmp rel32, then
 * padding.  On success returns true, sets *first to the offset of the
 * first described entry and fills *out: copy_bytes = entsize, body
 * [0, end of the push) or the whole entry when there is no push,
 * cfa_offset 8.  False for anything else. */
bool cg_plt_layout_recognise(const uint8_t *sec, size_t size, size_t entsize, size_t *first,
                             struct cg_tramp_layout *out);

#endif
