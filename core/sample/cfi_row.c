/*
 * cfi_row.c - one row of a loaded object's .eh_frame, found through its
 * .eh_frame_hdr search table (cfi_row.h says why).
 *
 * DESIGN: the formats are those of the x86-64 psABI and the LSB (.eh_frame
 * is DWARF's .debug_frame with pointer encodings and an augmentation
 * string).  Everything is read with cg_own_mem_read (or from a
 * bounds-checked copy, cfi_image.h), so a malformed table
 * ends in "refused", never in a fault; every length is bounded.  The CFA
 * program is run for the three registers the walk needs (RBP, RSP as the
 * CFA's base, the return address column 16) and only parsed for the
 * others.
 */
#include "core/sample/cfi_row.h"

#include "core/sample/cfi_image.h"
#include "core/sample/unwind_table.h"

#include <stdbool.h>
#include <string.h>

#define DW_RBP 6
#define DW_RSP 7
#define DW_RA 16
#define MAX_ENTRY_LEN (1u << 20) /* no CIE or FDE is a megabyte long */
#define MAX_STATES 8             /* remember_state nesting */

/* Where the tables are read: our own memory through the fault-proof
 * reader, or a copy of them (cfi_image.h). */
struct src {
    struct cg_own_mem *mem;
    const struct cg_cfi_raw *raw;
};

static bool src_read(struct src s, uint64_t at, void *buf, size_t n)
{
    return s.raw ? cg_cfi_raw_read(s.raw, at, buf, n) : cg_own_mem_read(s.mem, at, buf, n);
}

/* A bounded cursor over the tables. */
struct rd {
    struct src src;
    uint64_t at, end;
    bool bad;
};

static uint64_t rd_bytes(struct rd *r, size_t n)
{
    uint64_t v = 0;
    if (r->bad || n > 8 || r->end - r->at < n || !src_read(r->src, r->at, &v, n)) {
        r->bad = true;
        return 0;
    }
    r->at += n;
    return v; /* little-endian: the low n bytes */
}

static uint64_t rd_uleb(struct rd *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint64_t b = rd_bytes(r, 1);
        v |= (b & 0x7f) << shift;
        if (!(b & 0x80) || r->bad)
            return v;
    }
    r->bad = true;
    return 0;
}

static int64_t rd_sleb(struct rd *r)
{
    uint64_t v = 0, b = 0;
    unsigned shift = 0;
    do {
        if (shift >= 64) {
            r->bad = true;
            return 0;
        }
        b = rd_bytes(r, 1);
        v |= (b & 0x7f) << shift;
        shift += 7;
    } while ((b & 0x80) && !r->bad);
    if (shift < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
}

/* Steps over a DW_FORM_block's bytes (its length first). */
static void rd_skip_block(struct rd *r)
{
    uint64_t len = rd_uleb(r);
    if (len > r->end - r->at)
        r->bad = true;
    else
        r->at += len;
}

static int64_t sign_extend(uint64_t v, unsigned bytes)
{
    unsigned drop = 64 - 8 * bytes;
    return (int64_t)(v << drop) >> drop;
}

/* A pointer in DW_EH_PE encoding `enc`; absolute and pc-relative only. */
static uint64_t rd_pointer(struct rd *r, unsigned enc)
{
    uint64_t field = r->at, v;
    switch (enc & 0x0f) {
    case 0x00: v = rd_bytes(r, 8); break;
    case 0x01: v = rd_uleb(r); break;
    case 0x02: v = rd_bytes(r, 2); break;
    case 0x03: v = rd_bytes(r, 4); break;
    case 0x04: v = rd_bytes(r, 8); break;
    case 0x09: v = (uint64_t)rd_sleb(r); break;
    case 0x0a: v = (uint64_t)sign_extend(rd_bytes(r, 2), 2); break;
    case 0x0b: v = (uint64_t)sign_extend(rd_bytes(r, 4), 4); break;
    case 0x0c: v = rd_bytes(r, 8); break;
    default: r->bad = true; return 0;
    }
    switch (enc & 0xf0) {
    case 0x00: return v;
    case 0x10: return field + v;
    default: r->bad = true; return 0; /* datarel, indirect, ...: not in FDEs here */
    }
}

/* Opens the CIE or FDE at `at`: the cursor then spans its body. */
static bool open_entry(struct rd *r, struct src src, uint64_t at)
{
    *r = (struct rd){src, at, at + 16, false};
    uint64_t len = rd_bytes(r, 4);
    if (len == 0xffffffffu) {
        r->end = at + 16;
        len = rd_bytes(r, 8);
    }
    if (r->bad || len == 0 || len > MAX_ENTRY_LEN)
        return false;
    r->end = r->at + len;
    return true;
}

struct cie {
    uint64_t code_align;
    int64_t data_align;
    unsigned fde_enc;
    bool has_z;
    struct rd insns;
};

static bool read_cie(struct src src, uint64_t at, struct cie *c)
{
    struct rd r;
    if (!open_entry(&r, src, at) || rd_bytes(&r, 4) != 0)
        return false;
    unsigned version = (unsigned)rd_bytes(&r, 1);
    if (version != 1 && version != 3 && version != 4)
        return false;
    char aug[8];
    size_t n = 0;
    for (;;) {
        char ch = (char)rd_bytes(&r, 1);
        if (r.bad || n == sizeof(aug))
            return false;
        aug[n++] = ch;
        if (!ch)
            break;
    }
    if (version == 4 && (rd_bytes(&r, 1) != 8 || rd_bytes(&r, 1) != 0))
        return false;
    c->code_align = rd_uleb(&r);
    c->data_align = rd_sleb(&r);
    uint64_t ra = version == 1 ? rd_bytes(&r, 1) : rd_uleb(&r);
    c->fde_enc = 0x00;
    c->has_z = aug[0] == 'z';
    if (ra != DW_RA || (aug[0] && !c->has_z))
        return false; /* "eh" and other old augmentations */
    if (c->has_z) {
        uint64_t len = rd_uleb(&r);
        if (r.bad || len > r.end - r.at)
            return false;
        uint64_t data_end = r.at + len;
        for (size_t i = 1; aug[i]; i++) {
            if (aug[i] == 'R') {
                c->fde_enc = (unsigned)rd_bytes(&r, 1);
            } else if (aug[i] == 'L') {
                rd_bytes(&r, 1);
            } else if (aug[i] == 'P') {
                rd_pointer(&r, (unsigned)rd_bytes(&r, 1) & 0x7f);
            } else if (aug[i] == 'S') {
                return false; /* a signal frame: not a call */
            } else {
                break; /* unknown: 'z' lets us skip the rest */
            }
        }
        r.at = data_end;
    }
    c->insns = r;
    /* Real tables say 1 and -8; anything far off is not a table. */
    return !r.bad && c->code_align != 0 && c->code_align <= 256 && c->data_align >= -256 &&
           c->data_align <= 256;
}

/* What the CFA program says of the registers the walk needs. */
enum reg_rule { RULE_SAME, RULE_OFFSET, RULE_UNDEF, RULE_OTHER };
struct state {
    uint64_t cfa_reg;
    int64_t cfa_off;
    bool cfa_expr;
    enum reg_rule rbp, ra;
    int64_t rbp_off, ra_off;
};

static void set_reg(struct state *s, uint64_t reg, enum reg_rule rule, int64_t off)
{
    if (reg == DW_RBP) {
        s->rbp = rule;
        s->rbp_off = off;
    } else if (reg == DW_RA) {
        s->ra = rule;
        s->ra_off = off;
    }
}

static void restore_reg(struct state *s, const struct state *init, uint64_t reg)
{
    if (reg == DW_RBP)
        set_reg(s, reg, init->rbp, init->rbp_off);
    else if (reg == DW_RA)
        set_reg(s, reg, init->ra, init->ra_off);
}

struct run {
    const struct cie *cie;
    const struct state *init; /* after the CIE's instructions (restore) */
    uint64_t loc, addr;       /* the row's start so far; the address sought */
    uint64_t end;             /* where the row ends, once known */
    struct state stack[MAX_STATES];
    unsigned depth;
};

/* An operand times an alignment factor, wrapping (the factors are small;
 * a huge operand gives a huge offset, which the shape checks refuse). */
static int64_t scaled(uint64_t v, int64_t factor)
{
    return (int64_t)(v * (uint64_t)factor);
}

/* Runs a CFA program until the row holding run->addr is complete (then
 * run->end is set).  Returns false on anything malformed or unsupported. */
static bool execute(struct rd *r, struct run *run, struct state *s)
{
    const struct cie *c = run->cie;
    while (r->at < r->end && !r->bad) {
        unsigned op = (unsigned)rd_bytes(r, 1), low = op & 0x3f;
        uint64_t delta = 0, reg;
        if (op >> 6 == 1) {
            delta = low;
        } else if (op >> 6 == 2) {
            set_reg(s, low, RULE_OFFSET, scaled(rd_uleb(r), c->data_align));
            continue;
        } else if (op >> 6 == 3) {
            restore_reg(s, run->init, low);
            continue;
        } else {
            switch (op) {
            case 0x00: continue; /* nop */
            case 0x02: delta = rd_bytes(r, 1); break;
            case 0x03: delta = rd_bytes(r, 2); break;
            case 0x04: delta = rd_bytes(r, 4); break;
            case 0x05: reg = rd_uleb(r);
                set_reg(s, reg, RULE_OFFSET, scaled(rd_uleb(r), c->data_align));
                continue;
            case 0x06: restore_reg(s, run->init, rd_uleb(r)); continue;
            case 0x07: set_reg(s, rd_uleb(r), RULE_UNDEF, 0); continue;
            case 0x08: set_reg(s, rd_uleb(r), RULE_SAME, 0); continue;
            case 0x09: set_reg(s, rd_uleb(r), RULE_OTHER, 0); rd_uleb(r); continue;
            case 0x0a:
                if (run->depth == MAX_STATES)
                    return false;
                run->stack[run->depth++] = *s;
                continue;
            case 0x0b:
                if (run->depth == 0)
                    return false;
                *s = run->stack[--run->depth];
                continue;
            case 0x0c: s->cfa_reg = rd_uleb(r); s->cfa_off = (int64_t)rd_uleb(r);
                s->cfa_expr = false;
                continue;
            case 0x0d: s->cfa_reg = rd_uleb(r); continue;
            case 0x0e: s->cfa_off = (int64_t)rd_uleb(r); continue;
            case 0x0f: s->cfa_expr = true; rd_skip_block(r); continue;
            case 0x10:
            case 0x16: set_reg(s, rd_uleb(r), RULE_OTHER, 0); rd_skip_block(r); continue;
            case 0x11: reg = rd_uleb(r);
                set_reg(s, reg, RULE_OFFSET, scaled((uint64_t)rd_sleb(r), c->data_align));
                continue;
            case 0x12: s->cfa_reg = rd_uleb(r);
                s->cfa_off = scaled((uint64_t)rd_sleb(r), c->data_align);
                s->cfa_expr = false;
                continue;
            case 0x13: s->cfa_off = scaled((uint64_t)rd_sleb(r), c->data_align); continue;
            case 0x14: set_reg(s, rd_uleb(r), RULE_OTHER, 0); rd_uleb(r); continue;
            case 0x15: set_reg(s, rd_uleb(r), RULE_OTHER, 0); rd_sleb(r); continue;
            case 0x2e: rd_uleb(r); continue; /* GNU_args_size */
            case 0x2f: reg = rd_uleb(r);
                set_reg(s, reg, RULE_OFFSET, scaled(rd_uleb(r), -c->data_align));
                continue;
            default: return false; /* set_loc, window_save, vendor ops */
            }
        }
        uint64_t next = run->loc + delta * c->code_align;
        if (next > run->addr) {
            run->end = next;
            return !r->bad;
        }
        run->loc = next;
    }
    return !r->bad && r->at == r->end;
}

void cg_cfi_reader_reset(struct cg_cfi_reader *rd)
{
    cg_own_mem_reset(&rd->mem);
    memset(rd->objects, 0, sizeof(rd->objects));
    rd->next = 0;
}

/* The search table of the object holding addr, cached. */
static bool find_table(struct cg_cfi_reader *rd, uint64_t addr, uint64_t *hdr, uint64_t *table,
                       uint64_t *n)
{
    for (unsigned i = 0; i < CG_CFI_OBJECTS; i++) {
        if (addr >= rd->objects[i].lo && addr < rd->objects[i].hi) {
            *hdr = rd->objects[i].hdr;
            *table = rd->objects[i].table;
            *n = rd->objects[i].n;
            return true;
        }
    }
    unw_dyn_info_t di;
    if (cg_unwind_table_find((uintptr_t)addr, &di) != 0)
        return false;
    *hdr = di.u.rti.segbase;
    *table = di.u.rti.table_data;
    *n = di.u.rti.table_len * sizeof(unw_word_t) / 8;
    unsigned i = rd->next++ % CG_CFI_OBJECTS;
    rd->objects[i].lo = di.start_ip;
    rd->objects[i].hi = di.end_ip;
    rd->objects[i].hdr = *hdr;
    rd->objects[i].table = *table;
    rd->objects[i].n = *n;
    return true;
}

/* The FDE whose search-table entry is the last one at or below addr. */
static bool find_fde(struct cg_cfi_reader *rd, uint64_t addr, uint64_t *fde)
{
    uint64_t hdr, table, n, lo = 0, hi;
    if (!find_table(rd, addr, &hdr, &table, &n))
        return false;
    hi = n;
    struct cg_own_mem *mem = &rd->mem;
    while (hi - lo > 1) { /* entry lo's start <= addr < entry hi's start */
        uint64_t mid = lo + (hi - lo) / 2;
        int32_t start;
        if (!cg_own_mem_read(mem, table + mid * 8, &start, 4))
            return false;
        if (hdr + (uint64_t)(int64_t)start <= addr)
            lo = mid;
        else
            hi = mid;
    }
    int32_t e[2];
    if (n == 0 || !cg_own_mem_read(mem, table + lo * 8, e, 8) ||
        hdr + (uint64_t)(int64_t)e[0] > addr)
        return false;
    *fde = hdr + (uint64_t)(int64_t)e[1];
    return true;
}

bool cg_cfi_row_find(struct cg_cfi_reader *rd, uint64_t addr, struct cg_cfi_row *row)
{
    uint64_t fde_at;
    return find_fde(rd, addr, &fde_at) && cg_cfi_row_of_fde(&rd->mem, fde_at, addr, row);
}

/* An FDE opened: its CIE read, the cursor on its CFA program. */
struct fde {
    struct cie cie;
    struct rd insns;
    uint64_t begin, range;
};

static bool open_fde(struct src src, uint64_t fde_at, struct fde *f)
{
    struct rd r;
    if (!open_entry(&r, src, fde_at))
        return false;
    uint64_t id_at = r.at, id = rd_bytes(&r, 4);
    if (r.bad || id == 0 || !read_cie(src, id_at - id, &f->cie))
        return false;
    f->begin = rd_pointer(&r, f->cie.fde_enc & 0x7f);
    f->range = rd_pointer(&r, f->cie.fde_enc & 0x0f);
    if (f->cie.has_z)
        rd_skip_block(&r);
    f->insns = r;
    /* A range read as signed may be negative: no function is 4 GiB long. */
    return !r.bad && f->range < (1ull << 32) && f->begin + f->range >= f->begin;
}

/* The row a state describes, if of the walk's shape. */
static bool row_of_state(const struct state *s, uint64_t start, uint64_t end,
                         struct cg_cfi_row *row)
{
    *row = (struct cg_cfi_row){start, end, CG_CFI_END, 0, CG_CFI_RBP_KEPT};
    if (s->ra == RULE_UNDEF)
        return true;
    if (s->cfa_expr || (s->cfa_reg != DW_RSP && s->cfa_reg != DW_RBP) || s->cfa_off <= 0 ||
        s->cfa_off > INT32_MAX || s->ra != RULE_OFFSET || s->ra_off != -8)
        return false;
    row->cfa = s->cfa_reg == DW_RSP ? CG_CFI_CFA_RSP : CG_CFI_CFA_RBP;
    row->cfa_off = (int32_t)s->cfa_off;
    if (s->rbp == RULE_SAME)
        row->rbp_off = CG_CFI_RBP_KEPT;
    else if (s->rbp == RULE_OFFSET && s->rbp_off > INT16_MIN && s->rbp_off <= INT16_MAX - 8)
        row->rbp_off = (int16_t)s->rbp_off;
    else
        return false;
    return true;
}

/* Runs the FDE's program for the rows from addr on: fn gets each row in
 * address order (ok false: not of the walk's shape) until it returns
 * false or the FDE ends.  Returns false on a malformed program. */
static bool run_rows(struct fde *f, uint64_t addr,
                     bool (*fn)(void *ctx, const struct cg_cfi_row *row, bool ok), void *ctx)
{
    struct state init = {0, 0, false, RULE_SAME, RULE_OTHER, 0, 0}, s;
    /* loc, addr (none yet: the CIE's rows never end), end (unknown) */
    struct run run = {&f->cie, &init, f->begin, UINT64_MAX, 0, {{0}}, 0};
    /* The CIE's instructions set the first row; an advance there would
     * be malformed, so the row's end must stay unknown. */
    struct rd cie_insns = f->cie.insns;
    if (!execute(&cie_insns, &run, &init) || run.end != 0 || run.depth != 0)
        return false;
    s = init;
    run.loc = f->begin;
    run.addr = addr;
    uint64_t fn_end = f->begin + f->range;
    for (;;) {
        run.end = 0;
        if (!execute(&f->insns, &run, &s))
            return false;
        struct cg_cfi_row row;
        uint64_t end = run.end && run.end < fn_end ? run.end : fn_end;
        bool ok = row_of_state(&s, run.loc, end, &row);
        if (!ok)
            row = (struct cg_cfi_row){run.loc, end, 0, 0, 0};
        if (!fn(ctx, &row, ok) || end == fn_end || !run.end)
            return true;
        /* The advance that ended this row starts the next one. */
        run.loc = run.end;
        run.addr = run.end;
    }
}

struct one_row {
    struct cg_cfi_row *row;
    bool ok;
};

static bool take_one(void *ctx, const struct cg_cfi_row *row, bool ok)
{
    struct one_row *o = ctx;
    *o->row = *row;
    o->ok = ok;
    return false;
}

bool cg_cfi_row_of_fde(struct cg_own_mem *mem, uint64_t fde_at, uint64_t addr,
                       struct cg_cfi_row *row)
{
    struct fde f;
    if (!open_fde((struct src){mem, NULL}, fde_at, &f) || addr < f.begin ||
        addr - f.begin >= f.range)
        return false;
    struct one_row o = {row, false};
    return run_rows(&f, addr, take_one, &o) && o.ok;
}

bool cg_cfi_fde_rows(const struct cg_cfi_raw *raw, uint64_t fde_at,
                     bool (*fn)(void *ctx, const struct cg_cfi_row *row, bool ok), void *ctx,
                     uint64_t *begin, uint64_t *end)
{
    struct fde f;
    if (!open_fde((struct src){NULL, raw}, fde_at, &f))
        return false;
    *begin = f.begin;
    *end = f.begin + f.range;
    return f.range == 0 || run_rows(&f, f.begin, fn, ctx);
}
