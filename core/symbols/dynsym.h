/*
 * dynsym.h - where a loaded object's exported functions lie in memory,
 * from its dynamic symbol table (.dynsym) and GNU hash table, as the
 * dynamic loader mapped them.
 *
 * For start-up work that needs a few functions' address ranges (dladdr1
 * gives a symbol's size too, but scans the whole table per call: about a
 * million instructions for a dozen libc names, paid by every process).
 *
 * Owns: nothing; reads the loader's mappings in place.
 * Thread safety: reentrant (uses dl_iterate_phdr).
 * Signal safety: none.
 */
#ifndef CG_DYNSYM_H
#define CG_DYNSYM_H

#include <stddef.h>
#include <stdint.h>

struct cg_code_range {
    uintptr_t start, end; /* [start, end) */
};

/* Fills `out` with the ranges of the functions `names[0..n_names)` exported
 * by the first loaded object whose file name contains `object` (e.g.
 * "/libc.so.6"), every version of a name included.  Symbols of size 0 are
 * skipped.  Returns the number of ranges written (at most `max`); 0 when
 * the object is not loaded or has no GNU hash table. */
size_t cg_dynsym_ranges(const char *object, const char *const *names, size_t n_names,
                        struct cg_code_range *out, size_t max);

#endif
