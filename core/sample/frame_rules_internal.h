/*
 * frame_rules_internal.h - the table of core/sample/frame_rules.c, shared
 * with the rule learner (frame_learn.c) and the tests.
 *
 * Owns: nothing (declarations).
 * Thread safety: as frame_rules.h.
 * Signal safety: the inline readers are async-signal-safe.
 */
#ifndef CG_FRAME_RULES_INTERNAL_H
#define CG_FRAME_RULES_INTERNAL_H

#include "core/sample/cfi_image.h"
#include "core/sample/frame_rules.h"

#include <stdatomic.h>
#include <stdint.h>

/* A rule packed in one word: bits 0-31 the CFA offset (signed), bits
 * 32-47 where RBP was saved relative to the CFA (signed; CG_RBP_KEPT: not
 * saved), bits 48-55 the kind. */
enum cg_rule_kind {
    CG_RULE_EMPTY = 0,
    CG_RULE_RSP = 1,    /* CFA = RSP + offset */
    CG_RULE_RBP = 2,    /* CFA = RBP + offset */
    CG_RULE_END = 3,    /* the outermost frame: the stack ends here */
    CG_RULE_NONE = 4,   /* no rule of this shape: unwind with libunwind */
};
#define CG_RBP_KEPT INT16_MIN

static inline uint64_t cg_rule_pack(enum cg_rule_kind kind, int32_t cfa_off, int16_t rbp_off)
{
    return (uint64_t)(uint32_t)cfa_off | (uint64_t)(uint16_t)rbp_off << 32 |
           (uint64_t)kind << 48;
}

static inline enum cg_rule_kind cg_rule_kind(uint64_t rule)
{
    return (enum cg_rule_kind)((rule >> 48) & 0xff);
}

static inline int32_t cg_rule_cfa_off(uint64_t rule) { return (int32_t)(uint32_t)rule; }
static inline int16_t cg_rule_rbp_off(uint64_t rule) { return (int16_t)(uint16_t)(rule >> 32); }

struct cg_rule_entry {
    _Atomic uint64_t key;  /* lookup address; 0 while empty or being written */
    _Atomic uint64_t rule;
};

struct cg_frame_learner;

struct cg_frame_rules {
    struct cg_rule_entry *entries;
    unsigned log2_entries;
    struct cg_cfi_images images;       /* tables the walk reads on a miss */
    _Atomic uint64_t gen;              /* bumped by clear: walk memos expire */
    struct cg_frame_rules_stats stats; /* the writer's */
    struct cg_frame_learner *learner;  /* the writer's, made on first use */
};

/* The learner's libunwind address space (frame_learn.c); forget drops
 * what it cached of the unwind tables. */
void cg_frame_learner_free(struct cg_frame_learner *l);
void cg_frame_learner_forget(struct cg_frame_learner *l);

/* Stores one rule (the writer only). */
void cg_frame_rules_store(struct cg_frame_rules *r, uint64_t addr, uint64_t rule);

/* Stores a rule that holds for every address of [start, end) (a row of
 * the unwind table): once for each 16-byte granule wholly inside it, at
 * most CG_GRANULES_PER_ROW granules around `addr` (the writer only).
 * Returns whether addr's own granule was among them (if not, addr needs
 * an entry of its own). */
#define CG_GRANULE_SHIFT 4
#define CG_GRANULES_PER_ROW 64
bool cg_frame_rules_store_row(struct cg_frame_rules *r, uint64_t addr, uint64_t start,
                              uint64_t end, uint64_t rule);

/* The rule libunwind's step at addr implies (CG_RULE_NONE when none
 * fits), stored nowhere: the learner's fallback after the unwind table's
 * rows, and the reference the tests hold those rows to. */
uint64_t cg_frame_rules_libunwind_rule(struct cg_frame_rules *r, uint64_t addr);

/* The packed rule of a row of an unwind table (core/sample/cfi_row.h). */
struct cg_cfi_row;
uint64_t cg_rule_of_row(const struct cg_cfi_row *row);

/* The rule at addr, its own or its granule's, or 0 (CG_RULE_EMPTY) when
 * the table has neither. */
uint64_t cg_frame_rules_lookup_sigsafe(const struct cg_frame_rules *r, uint64_t addr);

#endif
