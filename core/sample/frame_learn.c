/*
 * frame_learn.c - the rule of one code address, from libunwind's own
 * reading of the unwind tables.
 *
 * DESIGN: libunwind's generic API (as core/sample/wall.c uses it) steps
 * an imaginary frame at the address whose RSP and RBP point into an
 * address range no process can map (non-canonical x86-64 addresses).
 * Reads there answer with the address itself, marked; every other read is
 * real memory (the unwind tables, through core/sample/own_mem.h).  After
 * one step, the new RSP is the CFA, the new RIP tells where the return
 * address was read, and the new RBP either is the old one or tells where
 * it was saved.  RSP and RBP start 1.75 GiB apart, so the CFA tells
 * which of them it was computed from.  Generated trampolines (core/sample/
 * jit_unwind.h) have their registered rule.  Anything else (no unwind table, a CFA in
 * another register, a return address not at CFA - 8, signal frames,
 * libunwind's frame-pointer guesses) is stored as "no rule".
 *
 * Except, in the musl build, an address in musl's libc.so that no table
 * covers: musl is built without unwind tables, so nothing (libunwind
 * included) can step out of its frames, and "no rule" would send every
 * sample through one to libunwind for good (main's caller and every
 * thread's start are libc frames).  There the stack is taken to end: the
 * root of a program's stacks is the libc frame that called main or the
 * thread's start routine, and a sample inside libc keeps that frame
 * alone (docs/install.md, "musl", says so).
 */
#include "core/sample/frame_rules.h"
#include "core/sample/frame_rules_internal.h"

#include "core/base/error.h"
#include "core/sample/cfi_row.h"
#include "core/sample/jit_unwind.h"
#include "core/sample/own_mem.h"
#include "core/sample/unwind_table.h"
#ifdef CG_MUSL
#include "core/sample/sigreturn.h"
#endif

#include <libunwind.h>
#include <stdlib.h>

#define SYNTH_BASE 0xa000000000000000ull
#define SYNTH_SPAN 0x0000001000000000ull
#define SYNTH_MARK 0x0055000000000000ull

struct cg_frame_learner {
    unw_addr_space_t as;
    uint64_t ip, sp, bp;     /* the imaginary frame's registers */
    bool found_info;         /* find_proc_info found an unwind table entry */
    struct cg_own_mem mem;   /* unwind tables only (synthetic reads are
                                not cached): reset when libraries change */
    struct cg_cfi_reader cfi; /* the rows' reader: reset likewise */
};

void cg_frame_learner_forget(struct cg_frame_learner *l)
{
    if (!l)
        return;
    cg_own_mem_reset(&l->mem);
    cg_cfi_reader_reset(&l->cfi);
    unw_flush_cache(l->as, 0, 0);
}

static bool synthetic(uint64_t a)
{
    return a - SYNTH_BASE < SYNTH_SPAN;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
    (void)as;
    struct cg_frame_learner *l = arg;
    if (write)
        return -UNW_EINVAL;
    if (synthetic(addr)) {
        *val = addr ^ SYNTH_MARK;
        return 0;
    }
    return cg_own_mem_read(&l->mem, addr, val, sizeof(*val)) ? 0 : -UNW_EINVAL;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
    (void)as;
    struct cg_frame_learner *l = arg;
    if (write)
        return -UNW_EINVAL;
    *val = reg == UNW_X86_64_RIP ? l->ip : reg == UNW_X86_64_RSP ? l->sp
         : reg == UNW_X86_64_RBP ? l->bp : 0;
    return 0;
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need,
                          void *arg)
{
    struct cg_frame_learner *l = arg;
    int rc = cg_unwind_table_search(as, ip, pi, need, arg);
    if (rc == CG_ENOTFOUND || rc == CG_EPARSE)
        return -UNW_ENOINFO;
    if (rc == 0 && ip == l->ip)
        l->found_info = true;
    return rc;
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
    /* libunwind frees table-format unwind info itself (see wall.c). */
    (void)as, (void)pi, (void)arg;
}

static struct cg_frame_learner *learner_new(void)
{
    struct cg_frame_learner *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    static unw_accessors_t acc = {
        .find_proc_info = find_proc_info,
        .put_unwind_info = put_unwind_info,
        .get_dyn_info_list_addr = cg_unwind_no_dyn_info,
        .access_mem = access_mem,
        .access_reg = access_reg,
        .access_fpreg = cg_unwind_no_fpreg,
        .resume = cg_unwind_no_resume,
    };
    if (!(l->as = unw_create_addr_space(&acc, 0))) {
        free(l);
        return NULL;
    }
    /* Each address is stepped once: a cache would only cost memory, and
     * find_proc_info must run to say whether a table covers it. */
    unw_set_caching_policy(l->as, UNW_CACHE_NONE);
    return l;
}

void cg_frame_learner_free(struct cg_frame_learner *l)
{
    if (!l)
        return;
    unw_destroy_addr_space(l->as);
    free(l);
}

/* One step of the imaginary frame (ip, sp, bp).  Returns 1 with the new
 * RSP, RIP and RBP, 0 at the outermost frame, or -1. */
static int step(struct cg_frame_learner *l, uint64_t ip, uint64_t sp, uint64_t bp,
                uint64_t out[3])
{
    l->ip = ip;
    l->sp = sp;
    l->bp = bp;
    unw_cursor_t c;
    if (unw_init_remote(&c, l->as, l) != 0)
        return -1;
    int rc = unw_step(&c);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return 0;
    unw_word_t v[3];
    if (unw_get_reg(&c, UNW_X86_64_RSP, &v[0]) != 0 || unw_get_reg(&c, UNW_REG_IP, &v[1]) != 0 ||
        unw_get_reg(&c, UNW_X86_64_RBP, &v[2]) != 0)
        return -1;
    out[0] = v[0];
    out[1] = v[1];
    out[2] = v[2];
    return 1;
}

/* The imaginary frame's RSP and RBP: far enough apart that a CFA names
 * the register it was computed from (frames are far smaller than 16 MiB). */
#define PROBE_SP (SYNTH_BASE + 0x10000000ull)
#define PROBE_BP (SYNTH_BASE + 0x80000000ull)
#define PROBE_REACH 0x1000000ull

/* The rule that explains the step (new RSP, RIP, RBP), or a CG_RULE_NONE
 * rule. */
static uint64_t classify(const uint64_t got[3])
{
    uint64_t none = cg_rule_pack(CG_RULE_NONE, 0, 0);
    uint64_t cfa = got[0], ra_at = got[1] ^ SYNTH_MARK, bp_at = got[2] ^ SYNTH_MARK;
    enum cg_rule_kind kind;
    uint64_t off;
    if (cfa - PROBE_SP - 1 < PROBE_REACH - 1) {
        kind = CG_RULE_RSP;
        off = cfa - PROBE_SP;
    } else if (cfa - PROBE_BP - 1 < PROBE_REACH - 1) {
        kind = CG_RULE_RBP;
        off = cfa - PROBE_BP;
    } else {
        return none; /* a CFA from another register or an expression */
    }
    if (!synthetic(ra_at) || ra_at != cfa - 8)
        return none;
    int16_t rbp_off = CG_RBP_KEPT;
    if (got[2] != PROBE_BP) {
        int64_t k = (int64_t)(bp_at - cfa);
        if (!synthetic(bp_at) || k <= INT16_MIN || k > INT16_MAX - 8)
            return none;
        rbp_off = (int16_t)k;
    }
    return cg_rule_pack(kind, (int32_t)off, rbp_off);
}

uint64_t cg_frame_rules_libunwind_rule(struct cg_frame_rules *r, uint64_t addr)
{
    if (!r->learner && !(r->learner = learner_new()))
        return cg_rule_pack(CG_RULE_NONE, 0, 0);
    uint64_t got[3];
    r->learner->found_info = false;
    int a = step(r->learner, addr, PROBE_SP, PROBE_BP, got);
    /* Only where an unwind table covers the address: elsewhere libunwind
     * steps by guessing at frame pointers. */
    if (!r->learner->found_info || a < 0)
        return cg_rule_pack(CG_RULE_NONE, 0, 0);
    if (a == 0)
        return cg_rule_pack(CG_RULE_END, 0, 0);
    return classify(got);
}

uint64_t cg_rule_of_row(const struct cg_cfi_row *row)
{
    if (row->cfa == CG_CFI_END)
        return cg_rule_pack(CG_RULE_END, 0, 0);
    return cg_rule_pack(row->cfa == CG_CFI_CFA_RSP ? CG_RULE_RSP : CG_RULE_RBP, row->cfa_off,
                        row->rbp_off == CG_CFI_RBP_KEPT ? CG_RBP_KEPT : row->rbp_off);
}

bool cg_frame_rules_copy_tables(struct cg_frame_rules *r, uint64_t addr)
{
    return cg_cfi_images_add(&r->images, addr);
}

bool cg_frame_rules_learn(struct cg_frame_rules *r, uint64_t addr)
{
    unsigned jit_cfa;
    uint64_t rule;
    struct cg_cfi_row row;
    if (cg_jit_unwind_rule_sigsafe((uintptr_t)addr, &jit_cfa)) {
        /* A generated trampoline (CPython's perf stubs, PLTs) whose rule
         * core/sample/jit_unwind.c registered with libunwind. */
        rule = cg_rule_pack(CG_RULE_RSP, (int32_t)jit_cfa, CG_RBP_KEPT);
    } else {
        if (!r->learner && !(r->learner = learner_new()))
            return false;
        if (cg_cfi_row_find(&r->learner->cfi, addr, &row)) {
            /* An object with a search table: the handler can step its
             * other addresses from a copy until they are learned. */
            cg_frame_rules_copy_tables(r, addr);
            /* The whole row at once: the other PCs of a hot loop find it. */
            rule = cg_rule_of_row(&row);
            r->stats.rows++;
            r->stats.learned++;
            /* Its own entry only where its granule has none: a second
             * entry would only push another granule out of the table. */
            if (!cg_frame_rules_store_row(r, addr, row.start, row.end, rule))
                cg_frame_rules_store(r, addr, rule);
            return true;
        }
        rule = cg_frame_rules_libunwind_rule(r, addr);
#ifdef CG_MUSL
        if (cg_rule_kind(rule) == CG_RULE_NONE && cg_sigreturn_in_libc(addr))
            rule = cg_rule_pack(CG_RULE_END, 0, 0); /* see the DESIGN note */
#endif
    }
    cg_frame_rules_store(r, addr, rule);
    bool ok = cg_rule_kind(rule) != CG_RULE_NONE;
    if (ok)
        r->stats.learned++;
    else
        r->stats.refused++;
    return ok;
}
