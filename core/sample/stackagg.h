/*
 * stackagg.h - counts of unique raw stacks (program counters) per count
 * key, between two reports.
 *
 * The agent thread drains the rings into this table; at report time each
 * unique stack is symbolized once and added to the call tree.  Keeping raw
 * PCs until then means symbolization work scales with unique stacks, not
 * with samples.
 *
 * Owns: copies of the stacks' PCs and their counts.
 * Thread safety: none; owned by the agent thread.
 * Signal safety: none (it allocates).
 */
#ifndef CG_STACKAGG_H
#define CG_STACKAGG_H

#include <stddef.h>
#include <stdint.h>

struct cg_stackagg;

/* One unique stack as handed to cg_stackagg_for_each callbacks. */
struct cg_stack_view {
    const uint64_t *pcs;   /* leaf first; pcs[0] is the interrupted PC */
    size_t depth;
    unsigned key;          /* enum cg_count_key */
    unsigned flags;        /* CG_REC_* from ring.h (TRUNCATED, UNWIND_FAILED) */
    uint64_t count;
};

struct cg_stackagg *cg_stackagg_new(void);
void cg_stackagg_free(struct cg_stackagg *agg);

/* Adds `count` samples of the stack.  Copies pcs.  Returns 0 or CG_ENOMEM. */
int cg_stackagg_add(struct cg_stackagg *agg, const uint64_t *pcs, size_t depth,
                    unsigned key, unsigned flags, uint64_t count);

void cg_stackagg_for_each(const struct cg_stackagg *agg,
                          void (*fn)(const struct cg_stack_view *stack, void *ctx),
                          void *ctx);

/* Drops every stack, keeping allocated capacity. */
void cg_stackagg_clear(struct cg_stackagg *agg);

/* Moves all stacks of src into dst (src ends empty). */
int cg_stackagg_merge_into(struct cg_stackagg *dst, struct cg_stackagg *src);

size_t cg_stackagg_unique(const struct cg_stackagg *agg);
uint64_t cg_stackagg_samples(const struct cg_stackagg *agg); /* sum of counts */
size_t cg_stackagg_bytes(const struct cg_stackagg *agg);

#endif
