/*
 * frame_rules.c - the rule table and the handler's walk.
 *
 * DESIGN: a direct-mapped table indexed by a multiplicative hash of the
 * lookup key (an address, or a 16-byte granule of code that a whole
 * unwind-table row covers); a learned rule replaces whatever held its
 * slot.  One
 * writer publishes an entry seqlock-style: key := 0, release fence, rule,
 * key := addr (release); a reader loads key (acquire), rule (acquire) and
 * key again, and believes the rule only if both keys are its address.
 *
 * The musl build also steps through signal frames in the walk: musl's
 * trampoline has no unwind table row, so no rule could be learned for
 * it; its step reads the interrupted registers from the ucontext
 * (core/sample/sigreturn.h).  A walk that took that step keeps no memo:
 * the memo's replay checks the stack words of return-address steps only.
 */
#include "core/sample/frame_rules.h"
#include "core/sample/frame_rules_internal.h"

#include "core/sample/cfi_row.h"
#include "core/sample/jit_unwind.h"
#ifdef CG_MUSL
#include "core/sample/sigreturn.h"
#endif

#include <stdlib.h>
#include <sys/mman.h>

/* 512 entries of 16 bytes: one page of the table (see key_slot). */
#define PAGE_ENTRIES_LOG2 9

/* The x86-64 psABI's red zone: the bytes below RSP a signal leaves alone. */
#define CG_RED_ZONE 128

/* Below this a "return address" is no code: libunwind stops there too. */
#define CG_LOWEST_CODE 0x4000

struct cg_frame_rules *cg_frame_rules_new(unsigned log2_entries)
{
    if (log2_entries < PAGE_ENTRIES_LOG2 || log2_entries > 24)
        return NULL;
    struct cg_frame_rules *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    size_t bytes = sizeof(struct cg_rule_entry) << log2_entries;
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        free(r);
        return NULL;
    }
    r->entries = m;
    r->log2_entries = log2_entries;
    cg_cfi_images_init(&r->images, CG_CFI_IMAGES_CAP);
    return r;
}

void cg_frame_rules_free(struct cg_frame_rules *r)
{
    if (!r)
        return;
    cg_frame_learner_free(r->learner);
    cg_cfi_images_cleanup(&r->images);
    munmap(r->entries, sizeof(struct cg_rule_entry) << r->log2_entries);
    free(r);
}

/* The table is made of pages of 512 entries (8 KiB), and all the keys of
 * one 4 KiB page of code land in one of two table pages (each chosen by
 * its own hash of the code page): a granule in the first half, at its
 * place in the code page (granules of one code page never collide); an
 * address in the second half, hashed.  The table's pages are touched
 * (faulted in, zeroed) only for code that is sampled, a few dozen pages,
 * where a hash over the whole table touched every page of it within the
 * first rows, and a stack walk through hot code stays on a few pages of
 * the TLB.  Two code pages often share a table page; with two ways, a
 * rule is pushed out only when both of its slots are taken. */
static const uint64_t way_hash[2] = {0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full};

/* A granule's key: code addresses are below 2^63, so the top bit keeps
 * granule keys apart from address keys. */
#define GRANULE_BIT (1ull << 63)
static inline uint64_t granule_key(uint64_t addr)
{
    return (addr >> CG_GRANULE_SHIFT) | GRANULE_BIT;
}

/* The slot of a key in one of its two ways. */
static inline size_t key_slot(const struct cg_frame_rules *r, uint64_t key, unsigned way)
{
    bool granule = key & GRANULE_BIT;
    uint64_t addr = granule ? key << CG_GRANULE_SHIFT : key;
    /* Shifting by 63 - bits (never 64) keeps a one-page table defined. */
    unsigned bits = r->log2_entries - PAGE_ENTRIES_LOG2;
    size_t page = (size_t)((((addr >> 12) * way_hash[way]) >> 1) >> (63 - bits))
                  << PAGE_ENTRIES_LOG2;
    if (granule)
        return page | (size_t)((addr >> CG_GRANULE_SHIFT) & 0xff);
    return page | 256 | (size_t)((addr * way_hash[0]) >> 56);
}

static inline uint64_t lookup_slot_sigsafe(const struct cg_frame_rules *r, size_t slot,
                                           uint64_t key)
{
    const struct cg_rule_entry *e = &r->entries[slot];
    if (atomic_load_explicit(&e->key, memory_order_acquire) != key)
        return 0;
    /* Acquire: the second load of key stays after this one, and reading
     * a rule the writer stored after its release fence makes its key := 0
     * visible to that load. */
    uint64_t rule = atomic_load_explicit(&e->rule, memory_order_acquire);
    if (atomic_load_explicit(&e->key, memory_order_relaxed) != key)
        return 0;
    return rule;
}

static inline uint64_t lookup_key_sigsafe(const struct cg_frame_rules *r, uint64_t key)
{
    uint64_t rule = lookup_slot_sigsafe(r, key_slot(r, key, 0), key);
    return rule ? rule : lookup_slot_sigsafe(r, key_slot(r, key, 1), key);
}

/* The granule first: a row's rule holds for every address in it, and
 * most lookups (leaf PCs, return addresses in a function's body) find
 * one; addresses at a row's edges have entries of their own. */
static inline uint64_t lookup_inline(const struct cg_frame_rules *r, uint64_t addr)
{
    uint64_t rule = lookup_key_sigsafe(r, granule_key(addr));
    return rule ? rule : lookup_key_sigsafe(r, addr);
}

uint64_t cg_frame_rules_lookup_sigsafe(const struct cg_frame_rules *r, uint64_t addr)
{
    return lookup_inline(r, addr);
}

/* Stores key's rule in the way that holds key already, else in an empty
 * one, else over one of the two (alternating with the evictions). */
static void store_key(struct cg_frame_rules *r, uint64_t key, uint64_t rule)
{
    size_t slots[2] = {key_slot(r, key, 0), key_slot(r, key, 1)};
    uint64_t k0 = atomic_load_explicit(&r->entries[slots[0]].key, memory_order_relaxed);
    uint64_t k1 = atomic_load_explicit(&r->entries[slots[1]].key, memory_order_relaxed);
    unsigned way = k0 == key ? 0 : k1 == key ? 1 : k0 == 0 ? 0 : k1 == 0 ? 1
                                                                : (unsigned)(r->stats.evicted & 1);
    struct cg_rule_entry *e = &r->entries[slots[way]];
    uint64_t old = way ? k1 : k0;
    if (old != 0 && old != key)
        r->stats.evicted++;
    atomic_store_explicit(&e->key, 0, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&e->rule, rule, memory_order_relaxed);
    atomic_store_explicit(&e->key, key, memory_order_release);
}

void cg_frame_rules_store(struct cg_frame_rules *r, uint64_t addr, uint64_t rule)
{
    store_key(r, addr, rule);
}

bool cg_frame_rules_store_row(struct cg_frame_rules *r, uint64_t addr, uint64_t start,
                              uint64_t end, uint64_t rule)
{
    const uint64_t g = 1u << CG_GRANULE_SHIFT, reach = g * CG_GRANULES_PER_ROW / 2;
    uint64_t lo = addr - start > reach ? addr - reach : start;
    uint64_t hi = end - addr > reach ? addr + reach : end;
    bool covered = false;
    for (uint64_t at = (lo + g - 1) & ~(g - 1); at + g <= hi && at >= lo; at += g) {
        store_key(r, granule_key(at), rule);
        covered |= at == (addr & ~(g - 1));
    }
    return covered;
}

enum cg_frame_rule_state cg_frame_rules_state(const struct cg_frame_rules *r, uint64_t addr)
{
    uint64_t rule = cg_frame_rules_lookup_sigsafe(r, addr);
    if (rule == 0)
        return CG_FRAME_RULE_UNKNOWN;
    return cg_rule_kind(rule) == CG_RULE_NONE ? CG_FRAME_RULE_REFUSED : CG_FRAME_RULE_KNOWN;
}

void cg_frame_rules_clear(struct cg_frame_rules *r)
{
    cg_frame_learner_forget(r->learner);
    cg_cfi_images_forget(&r->images);
    atomic_fetch_add_explicit(&r->gen, 1, memory_order_release);
    /* Dropping the pages reads back as zeros (every key empty) without
     * faulting in the pages no rule ever used.  A reader racing with it
     * sees a whole old entry or a miss, as with any store. */
    size_t bytes = sizeof(struct cg_rule_entry) << r->log2_entries;
    if (madvise(r->entries, bytes, MADV_DONTNEED) != 0) {
        size_t n = (size_t)1 << r->log2_entries;
        for (size_t i = 0; i < n; i++)
            atomic_store_explicit(&r->entries[i].key, 0, memory_order_relaxed);
    }
    atomic_thread_fence(memory_order_release);
}

size_t cg_frame_rules_bytes(const struct cg_frame_rules *r)
{
    return r ? r->images.bytes : 0;
}

void cg_frame_rules_stats(const struct cg_frame_rules *r, struct cg_frame_rules_stats *out)
{
    *out = r->stats;
}

/* A word of the stack at a (8-byte aligned or not) address the caller has
 * checked lies inside the thread's stack.  Saved registers and return
 * addresses sit between a frame's locals, so ASan must not judge the read
 * (libunwind, which reads the same words, is not instrumented either). */
__attribute__((no_sanitize_address)) static inline uint64_t stack_word(uint64_t at)
{
    uint64_t v;
    __builtin_memcpy(&v, (const void *)(uintptr_t)at, sizeof(v));
    return v;
}

/* The rule at key from its object's compiled unwind rows, or from a
 * generated trampoline's or PLT's registered rule (the linker describes
 * a PLT with a DWARF expression, which no row holds; libpython calls its
 * own functions through 1,400 PLT entries), or 0. */
static uint64_t table_rule_sigsafe(const struct cg_frame_rules *r, uint64_t key)
{
    struct cg_cfi_row row;
    if (cg_cfi_images_row_sigsafe(&r->images, key, &row))
        return cg_rule_of_row(&row);
    unsigned cfa;
    if (cg_jit_unwind_rule_sigsafe((uintptr_t)key, &cfa))
        return cg_rule_pack(CG_RULE_RSP, (int32_t)cfa, CG_RBP_KEPT);
    return 0;
}

#define MEMO_AT(frames, k) (&(frames)[(k) % CG_WALK_MEMO_FRAMES])

/* Frames [k, n) of the last walk, if every stack word they were read
 * from still holds what it held then (and the word that ended the walk
 * still ends it).  Writes their PCs to out. */
static bool replay_sigsafe(const struct cg_walk_memo *memo, uint32_t k, uint64_t lo,
                           uint64_t hi, uint64_t *out, size_t room)
{
    const struct cg_walk_frame *old = memo->f[memo->live];
    if (memo->n - k > room)
        return false;
    for (uint32_t m = k; m < memo->n; m++) {
        const struct cg_walk_frame *f = MEMO_AT(old, m);
        if (m + 1 < memo->n) {
            const struct cg_walk_frame *next = MEMO_AT(old, m + 1);
            if (next->sp - 8 < lo || next->sp > hi || stack_word(next->sp - 8) != next->pc)
                return false;
            if (f->bp_at && (f->bp_at < lo || f->bp_at > hi - 8 || stack_word(f->bp_at) != next->bp))
                return false;
        }
        out[m - k] = f->pc;
    }
    if (memo->tail_at && (memo->tail_at < lo || memo->tail_at > hi - 8 ||
                          stack_word(memo->tail_at) >= CG_LOWEST_CODE))
        return false;
    return true;
}

/* A complete walk of n frames, their states in the scratch buffer,
 * becomes the memo: which frames' rest depends on the RBP they start
 * with is worked out from the root. */
static void memo_keep_sigsafe(struct cg_walk_memo *memo, uint64_t gen, size_t n, uint64_t tail_at)
{
    struct cg_walk_frame *fresh = memo->f[memo->live ^ 1];
    uint32_t first = n > CG_WALK_MEMO_FRAMES ? (uint32_t)(n - CG_WALK_MEMO_FRAMES) : 0;
    bool dep = false;
    for (size_t i = n; i-- > first;) {
        struct cg_walk_frame *f = MEMO_AT(fresh, i);
        dep = f->uses_bp || (f->bp_at == 0 && dep);
        f->uses_bp = dep;
    }
    memo->first = first;
    memo->n = (uint32_t)n;
    memo->tail_at = tail_at;
    memo->live ^= 1;
    memo->gen = gen;
}

enum cg_walk_result cg_frame_rules_walk_sigsafe(const struct cg_frame_rules *r,
                                                const struct cg_frame_regs *regs,
                                                uint64_t stack_lo, uint64_t stack_hi,
                                                uint64_t *pcs, size_t max, size_t *depth,
                                                unsigned *from_tables,
                                                struct cg_walk_memo *memo)
{
    uint64_t pc = regs->pc, sp = regs->sp, bp = regs->bp, key = pc;
    uint64_t last_key = 0, last_rule = 0; /* key 0 is never looked up */
    size_t n = 0;
#ifdef CG_MUSL
    bool crossed = false; /* stepped through a signal frame */
#else
    const bool crossed = false;
#endif
    *depth = 0;
    *from_tables = 0;
    /* Reads only between the interrupted stack pointer and the stack's
     * top: that memory is mapped whatever the thread did below it. */
    if (sp < stack_lo || sp >= stack_hi)
        return CG_WALK_MISS;
    uint64_t lo = sp;
    /* The last walk, if made with the rules as they are (0: no memo). */
    uint64_t gen = atomic_load_explicit(&r->gen, memory_order_acquire) + 1;
    struct cg_walk_frame *scratch = memo ? memo->f[memo->live ^ 1] : NULL;
    const struct cg_walk_frame *old = memo && memo->gen == gen ? memo->f[memo->live] : NULL;
    /* Its frame 0 is not matched: a leaf's rule is looked up at its PC,
     * any other frame's at its return address minus one. */
    uint32_t k = old ? (memo->first > 1 ? memo->first : 1) : 0;
    for (;;) {
        if (n == max) {
            *depth = n;
            return CG_WALK_FULL;
        }
        if (old && n > 0) {
            /* Stack pointers grow from leaf to root in both walks. */
            while (k < memo->n && MEMO_AT(old, k)->sp < sp)
                k++;
            const struct cg_walk_frame *o = k < memo->n ? MEMO_AT(old, k) : NULL;
            if (o && o->sp == sp && o->pc == pc && (!o->uses_bp || o->bp == bp)) {
                if (replay_sigsafe(memo, k, lo, stack_hi, &pcs[n], max - n)) {
                    *depth = n + (memo->n - k);
                    return CG_WALK_DONE;
                }
                old = NULL; /* the stack changed under it: walk on */
            }
        }
        struct cg_walk_frame *fr = scratch ? MEMO_AT(scratch, n) : NULL;
        if (fr)
            *fr = (struct cg_walk_frame){pc, sp, bp, 0, 0, 0};
        pcs[n++] = pc;
        *depth = n;
#ifdef CG_MUSL
        /* Before any rule: the trampoline's address is libc's, whose
         * frames end the walk (core/sample/frame_learn.c). */
        if (cg_sigreturn_step_sigsafe(&pc, &sp, &bp, lo, stack_hi)) {
            crossed = true;
            if (pc < CG_LOWEST_CODE)
                return CG_WALK_MISS;
            key = pc; /* an interrupted PC, not a return address */
            continue;
        }
#endif
        /* Recursion repeats a return address: one lookup for the run. */
        if (key != last_key) {
            last_rule = lookup_inline(r, key);
            last_key = key;
            /* Not learned yet: the object's compiled rows, if any. */
            if (!last_rule && (last_rule = table_rule_sigsafe(r, key)) != 0)
                ++*from_tables;
        }
        uint64_t rule = last_rule;
        enum cg_rule_kind kind = cg_rule_kind(rule);
        if (kind == CG_RULE_END) {
            if (memo && !crossed)
                memo_keep_sigsafe(memo, gen, n, 0);
            return CG_WALK_DONE;
        }
        if (kind != CG_RULE_RSP && kind != CG_RULE_RBP)
            return CG_WALK_MISS;
        uint64_t cfa = (kind == CG_RULE_RSP ? sp : bp) + (uint64_t)(int64_t)cg_rule_cfa_off(rule);
        /* The caller's frame is above this one, and the return address
         * slot inside the stack. */
        if (cfa <= sp || cfa - 8 < lo || cfa > stack_hi)
            return CG_WALK_MISS;
        uint64_t ra = stack_word(cfa - 8);
        int16_t rbp_off = cg_rule_rbp_off(rule);
        if (fr)
            fr->uses_bp = kind == CG_RULE_RBP;
        if (rbp_off != CG_RBP_KEPT) {
            uint64_t at = cfa + (uint64_t)(int64_t)rbp_off;
            /* In the interrupted function's epilogue the tables still
             * name RBP's save slot after `pop %rbp` has moved RSP past
             * it (compilers emit no restore there).  The slot is then in
             * the 128-byte red zone below RSP, which the kernel leaves
             * alone when it builds the signal frame, so it still holds
             * the value popped: read it there, as libunwind does.  One
             * leaf sample in ten or so is in an epilogue, and each went
             * to libunwind's walk before. */
            uint64_t floor = n == 1 && lo - stack_lo >= CG_RED_ZONE ? lo - CG_RED_ZONE : lo;
            if (at < floor || at > stack_hi - 8)
                return CG_WALK_MISS;
            bp = stack_word(at);
            if (fr)
                fr->bp_at = at;
        }
        sp = cfa;
        pc = ra;
        if (pc < CG_LOWEST_CODE) {
            if (memo && !crossed)
                memo_keep_sigsafe(memo, gen, n, cfa - 8);
            return CG_WALK_DONE;
        }
        key = pc - 1;
    }
}
