/*
 * frame_rules.h - how to step out of a frame at a given code address,
 * learned once on the agent thread and then applied by the SIGPROF
 * handler without libunwind.
 *
 * libunwind's unw_backtrace costs the handler about 100 instructions per
 * frame (its trace cache) plus a context save and cursor set-up, and on a
 * virtual machine several microseconds a sample once its code and its
 * 256 KiB per-thread table are out of the caches.  Almost every x86-64
 * frame steps the same way: CFA = RSP or RBP + offset, the return address
 * at CFA - 8, RBP either untouched or saved at CFA + k.  This table keeps
 * that rule per code address (the interrupted PC, or a return address
 * minus one), shared by all threads; the handler walks a stack with it in
 * a few instructions a frame, reading only inside the thread's own stack.
 * A code address the table does not know is stepped from its object's
 * compiled unwind rows (core/sample/cfi_image.h) once the agent has
 * built them, else sends the sample down the old path (unw_backtrace);
 * either way the agent thread learns the rules of that sample's
 * addresses when it drains it (cg_frame_rules_learn): from the
 * row of the object's unwind table that holds the address
 * (core/sample/cfi_row.h), stored for every 16-byte granule of code the
 * row covers, so the other PCs of a hot loop need no learning of their
 * own; where no row of that shape exists, by asking libunwind to step an
 * imaginary frame at that address and seeing where it read.  Frames
 * neither can step, or that do not fit the shape above (signal frames,
 * DWARF expressions), stay on the old path.
 *
 * Owns: the table (mmap'd at cg_frame_rules_new, never resized) and the
 * compiled rows.
 * Thread safety: one writer (learn, clear), the agent thread; any number
 * of readers.  An entry is published seqlock-style, so a reader sees a
 * whole rule or a miss.
 * Signal safety: cg_frame_rules_walk_sigsafe() is async-signal-safe and
 * lock-free; the others are not.
 */
#ifndef CG_FRAME_RULES_H
#define CG_FRAME_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cg_frame_rules;

/* A table with room for 2^log2_entries rules (16 bytes each; at least
 * 2^9, one page). */
struct cg_frame_rules *cg_frame_rules_new(unsigned log2_entries);
void cg_frame_rules_free(struct cg_frame_rules *r);

/* The registers the walk starts from: those of the interrupted context. */
struct cg_frame_regs {
    uint64_t pc, sp, bp;
};

/* The last complete walk of one thread, root side: a sample whose walk
 * reaches one of its frames in the same state (code address, stack
 * pointer, and frame pointer where the rest depends on it) takes the rest
 * from it, once the stack words the rest was read from are checked to
 * hold the same values.  A program's outer frames (main, the
 * interpreter's start-up, a thread's start routine) are the same sample
 * after sample: checking their few stack words costs less than looking
 * up each one's rule in a table the program's own work has pushed out of
 * the caches since the last sample.  The result is exactly the walk's.
 * One per thread, used only by that thread's handler; zeroed is empty. */
#define CG_WALK_MEMO_FRAMES 32
struct cg_walk_frame {
    uint64_t pc, sp, bp;
    uint64_t bp_at;   /* where this frame's step read the caller's RBP; 0: kept */
    uint32_t uses_bp; /* the step used RBP (a CFA from it), or the rest does */
    uint32_t pad;
};
struct cg_walk_memo {
    uint64_t gen;      /* the rule table's generation it was walked with; 0: empty */
    uint32_t first, n; /* frames [first, n) of that walk are held */
    uint32_t live;     /* which of the buffers holds them */
    uint32_t pad;
    uint64_t tail_at;  /* the stack word whose "no code" value ended it; 0:
                          it ended at an outermost frame's rule */
    struct cg_walk_frame f[2][CG_WALK_MEMO_FRAMES]; /* frame k at [k % FRAMES] */
};

enum cg_walk_result {
    CG_WALK_DONE = 0,   /* the whole stack, ended by an outermost frame */
    CG_WALK_FULL = 1,   /* max frames filled: the root side is cut */
    CG_WALK_MISS = 2,   /* an address without a rule: use libunwind */
};

/* Walks from regs, writing the PC and then each return address to pcs
 * (what unw_backtrace gives from the interrupted frame on).  Every read
 * stays inside [stack_lo, stack_hi): a stack pointer or a frame outside
 * it ends the walk as a miss, never as a fault.  An address not learned
 * yet is stepped with its object's compiled unwind rows where there are
 * some (cg_frame_rules_copy_tables); *from_tables counts those frames
 * (the agent should learn them).  memo (NULL: none) is the thread's last
 * walk, used and updated as its comment says.  *depth is set in all
 * cases. */
enum cg_walk_result cg_frame_rules_walk_sigsafe(const struct cg_frame_rules *r,
                                                const struct cg_frame_regs *regs,
                                                uint64_t stack_lo, uint64_t stack_hi,
                                                uint64_t *pcs, size_t max, size_t *depth,
                                                unsigned *from_tables,
                                                struct cg_walk_memo *memo);

/* What the table holds for a lookup address (the interrupted PC of a
 * leaf, a return address minus one). */
enum cg_frame_rule_state {
    CG_FRAME_RULE_UNKNOWN = 0, /* not learned (or forgotten) */
    CG_FRAME_RULE_KNOWN = 1,   /* a rule, or "the stack ends here" */
    CG_FRAME_RULE_REFUSED = 2, /* no rule fits: the walk stops here */
};
enum cg_frame_rule_state cg_frame_rules_state(const struct cg_frame_rules *r, uint64_t addr);

/* Learns the rule at lookup address `addr` of code in a loaded object and
 * stores it, or stores that none fits.  Returns true when a rule was
 * stored. */
bool cg_frame_rules_learn(struct cg_frame_rules *r, uint64_t addr);

/* Compiles the unwind rows of the loaded object whose code holds addr
 * (core/sample/cfi_image.h), so the walk steps its frames before their
 * rules are learned.  Returns true when rows cover addr.  At most
 * CG_CFI_IMAGES_CAP bytes are kept in all. */
#define CG_CFI_IMAGES_CAP (8u << 20)
bool cg_frame_rules_copy_tables(struct cg_frame_rules *r, uint64_t addr);

/* Forgets every rule (a library was unloaded: its addresses may hold other
 * code now), and the copied tables of objects no longer loaded. */
void cg_frame_rules_clear(struct cg_frame_rules *r);

/* Bytes of compiled unwind tables held (the rule table itself is fixed). */
size_t cg_frame_rules_bytes(const struct cg_frame_rules *r);

/* For tests and docs: how many rules were learned, refused, replaced. */
struct cg_frame_rules_stats {
    uint64_t learned, refused, evicted;
    uint64_t rows; /* of the learned: read from the unwind table's rows */
};
void cg_frame_rules_stats(const struct cg_frame_rules *r, struct cg_frame_rules_stats *out);

#endif
