/*
 * cfi_row.h - the row of a loaded object's DWARF call-frame table that
 * holds a code address: how to step out of a frame there, and for which
 * range of addresses that stays true.
 *
 * The handler's stack walk (core/sample/frame_rules.h) needs a rule per
 * code address.  A sampled leaf PC is nearly always new (a hot loop has
 * dozens of instructions), so learning rules address by address left
 * short programs on libunwind for most of their samples.  A CFA rule,
 * though, holds for a whole row of the table, usually a function's whole
 * body: one row learned covers every PC of the loop.  libunwind answers
 * for one address and does not say how far its answer holds, and libdw
 * reads CFI from the library's file, which may have been replaced on
 * disk since it was loaded; this reads the tables the process runs with,
 * in memory, through a fault-proof reader.
 *
 * Only the shapes the walk applies are answered (x86-64: CFA = RSP or RBP
 * + offset, the return address at CFA - 8, RBP kept or saved at CFA + k,
 * or "the stack ends here"); anything else (signal frames, DWARF
 * expressions, PLT stubs, objects without .eh_frame_hdr) is refused, and
 * the caller asks libunwind.
 *
 * Owns: nothing (reads through the caller's reader and its caches).
 * Thread safety: one reader per thread; the tables are read-only.  A
 * reader must be reset when an object is unloaded.
 * Signal safety: none (dl_iterate_phdr, system calls); the agent thread.
 */
#ifndef CG_CFI_ROW_H
#define CG_CFI_ROW_H

#include "core/sample/own_mem.h"

#include <stdint.h>

enum cg_cfi_cfa {
    CG_CFI_CFA_RSP = 1, /* CFA = RSP + cfa_off */
    CG_CFI_CFA_RBP = 2, /* CFA = RBP + cfa_off */
    CG_CFI_END = 3,     /* return address undefined: the outermost frame */
};

#define CG_CFI_RBP_KEPT INT16_MIN

struct cg_cfi_row {
    uint64_t start, end; /* the row holds for [start, end) */
    enum cg_cfi_cfa cfa;
    int32_t cfa_off;
    int16_t rbp_off; /* RBP saved at CFA + rbp_off, or CG_CFI_RBP_KEPT */
};

/* The reader's caches: memory lines, and where the search tables of the
 * last few objects lie (finding one walks the loader's list, about 2.6 us
 * here, more than the search itself). */
#define CG_CFI_OBJECTS 8
struct cg_cfi_reader {
    struct cg_own_mem mem;
    struct {
        uint64_t lo, hi;        /* the object's code segment; hi 0: empty */
        uint64_t hdr, table, n; /* .eh_frame_hdr, its table and entries */
    } objects[CG_CFI_OBJECTS];
    unsigned next; /* the entry the next new object replaces */
};

/* Forgets everything cached (an object was unloaded). */
void cg_cfi_reader_reset(struct cg_cfi_reader *rd);

/* Finds the row holding addr in the unwind table of the loaded object
 * whose code holds addr.  Returns true with *row filled; false when no
 * table covers addr or the row is not of a shape above. */
bool cg_cfi_row_find(struct cg_cfi_reader *rd, uint64_t addr, struct cg_cfi_row *row);

/* Every row of the FDE at fde_at, read from a copy of the object's
 * tables (cfi_image.h), in address order: fn gets each one (ok false when
 * it is not of a shape above; then only start and end are set) until it
 * returns false.  [*begin, *end) is the FDE's range.  Returns false on a
 * malformed entry or program. */
struct cg_cfi_raw;
bool cg_cfi_fde_rows(const struct cg_cfi_raw *raw, uint64_t fde_at,
                     bool (*fn)(void *ctx, const struct cg_cfi_row *row, bool ok), void *ctx,
                     uint64_t *begin, uint64_t *end);

/* The same from a given FDE (the search done): for the fuzz target. */
bool cg_cfi_row_of_fde(struct cg_own_mem *mem, uint64_t fde_at, uint64_t addr,
                       struct cg_cfi_row *row);

#endif
