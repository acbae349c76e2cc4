/*
 * elf_symtab_find.c - the names of a few addresses of an ELF file without
 * loading its symbol table.
 *
 * DESIGN: the full table (elf_symtab.c) keeps, for every start address,
 * the best of the symbols starting there (cg_sym_better_alias), and a
 * lookup of an address answers with the nearest of the CG_SYM_LOOKBACK
 * nearest starts at or below it whose symbol covers it.  That answer is
 * the best symbol at s*, the highest start of a symbol covering the
 * address (the largest alias at a start covers whenever any does, and the
 * best one is the largest), provided fewer than CG_SYM_LOOKBACK starts lie
 * above s* up to the address.  So, with the addresses sorted:
 *
 *   1. one pass over the symbols, in the file's order: each symbol is
 *      compared with the addresses it covers, keeping per address the
 *      highest covering start and the best alias there, ties going to the
 *      first in the table's order (cg_sym_order);
 *   2. a second pass counts, per address, the distinct starts above s*
 *      up to the address (a short interval: functions do not nest), up to
 *      CG_SYM_LOOKBACK.
 *
 * Both passes must be cheap per symbol, most of which cover no address:
 * a grid of buckets over the addresses' range (at most GRID_BUCKETS)
 * gives the first address at or above a symbol's start in a step or two
 * (pass 1), and which buckets hold intervals to count (pass 2).
 *
 * Nothing is sorted but the addresses, no name is read but those of
 * symbols covering an address or starting in such an interval, and
 * nothing is allocated but the answers and indexes the size of the
 * addresses or of the grid.  Which file the symbols come from
 * (a stripped file's debug file) follows the loader's rule.  What it
 * won't do: keep anything; each call reads the file afresh.
 */
#include "core/symbols/elf_symtab.h"
#include "core/symbols/elf_symtab_internal.h"

#include "core/base/error.h"
#include "core/base/log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Buckets of a grid, at most: 16 KiB of indexes, one per 1 KiB of a
 * 4 MiB library. */
#define GRID_BUCKETS 4096

/* One address being answered. */
struct want {
    uint64_t vaddr;
    size_t index;          /* in the caller's arrays */
    bool found;            /* some symbol covers vaddr: best_* below */
    uint64_t best_start;   /* s*: the highest start of a symbol covering vaddr */
    uint64_t best_size;    /* the best alias at best_start */
    uint64_t best_order;   /* its cg_sym_order */
    const char *best_name; /* borrowed from the file's bytes */
    unsigned n_above;      /* distinct starts in (best_start, vaddr], up to CG_SYM_LOOKBACK */
    uint64_t above[CG_SYM_LOOKBACK];
};

/* Addresses lo..hi in buckets of 2^shift bytes; first[b]: the first
 * (sorted) want at or above bucket b's start, or a bit per bucket. */
struct grid {
    uint64_t lo, hi;
    unsigned shift;
    size_t n_buckets;
    uint32_t *first;
    uint64_t *bits;
};

static int cmp_want(const void *a, const void *b)
{
    const struct want *x = a, *y = b;
    return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int grid_init(struct grid *g, uint64_t lo, uint64_t hi, bool with_first)
{
    g->lo = lo;
    g->hi = hi;
    g->shift = 0;
    while (((hi - lo) >> g->shift) >= GRID_BUCKETS)
        g->shift++;
    g->n_buckets = (size_t)((hi - lo) >> g->shift) + 1;
    g->first = with_first ? malloc(g->n_buckets * sizeof(*g->first)) : NULL;
    g->bits = with_first ? NULL : calloc((g->n_buckets + 63) / 64, sizeof(*g->bits));
    return g->first || g->bits ? 0 : CG_ENOMEM;
}

static size_t grid_bucket(const struct grid *g, uint64_t at)
{
    return (size_t)((at - g->lo) >> g->shift);
}

/* The first of the sorted wants with vaddr >= at, for lo <= at <= hi. */
static size_t grid_first(const struct grid *g, const struct want *w, uint64_t at)
{
    size_t j = g->first[grid_bucket(g, at)];
    while (w[j].vaddr < at) /* ends at the last want at the latest: at <= hi */
        j++;
    return j;
}

/* Pass 1: the highest covering start of each want and its best alias.
 * Sets *any when the table has a symbol at all. */
static void pass_covering(const struct cg_elf_file *file, struct want *w, size_t n,
                          const struct grid *g, bool *any)
{
    struct cg_sym_iter it;
    cg_sym_iter_init(&it, file);
    for (uint32_t sec = 0; cg_sym_iter_section(&it); sec++) {
        for (size_t i = 0; i < it.count; i++) {
            struct cg_sym s;
            bool local;
            if (!cg_sym_at(&it, i, &s, &local))
                continue;
            if (!*any)
                *any = cg_sym_name(&it, &s) != NULL;
            uint64_t end = s.start + (s.size ? s.size : 1);
            if (s.start > g->hi || end <= g->lo || end <= s.start) /* end <= start: wrapped */
                continue;
            size_t j = s.start <= g->lo ? 0 : grid_first(g, w, s.start);
            if (w[j].vaddr >= end)
                continue; /* most symbols */
            const char *name = cg_sym_name(&it, &s);
            if (!name)
                continue; /* not in the table */
            uint64_t order = cg_sym_order(sec, local, i);
            for (; j < n && w[j].vaddr < end; j++) {
                struct want *x = &w[j];
                if (x->found && s.start < x->best_start)
                    continue;
                /* At one start, the table keeps the first seen of the best. */
                if (x->found && s.start == x->best_start &&
                    !cg_sym_better_alias(x->best_size, x->best_name, s.size, name) &&
                    (cg_sym_better_alias(s.size, name, x->best_size, x->best_name) ||
                     order > x->best_order))
                    continue;
                *x = (struct want){x->vaddr, x->index, true, s.start, s.size, order, name, 0, {0}};
            }
        }
    }
}

/* An interval (lo, hi] of addresses whose starts some want counts. */
struct span {
    uint64_t lo, hi;
};

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Is at in one of the sorted, disjoint spans? */
static bool in_spans(const struct span *sp, size_t n, uint64_t at)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* the first span with lo >= at */
        size_t mid = lo + (hi - lo) / 2;
        if (sp[mid].lo < at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && at <= sp[lo - 1].hi;
}

/* The first of the sorted wants with vaddr >= at (n when none). */
static size_t first_at_or_above(const struct want *w, size_t n, uint64_t at)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w[mid].vaddr < at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The intervals (best_start, vaddr] of the wants found, sorted and
 * merged into sp; their number, and the longest in *longest. */
static size_t make_spans(const struct want *w, size_t n, struct span *sp, uint64_t *longest)
{
    size_t k = 0, o = 0;
    *longest = 0;
    for (size_t j = 0; j < n; j++) {
        if (w[j].found && w[j].best_start < w[j].vaddr) {
            sp[k++] = (struct span){w[j].best_start, w[j].vaddr};
            if (w[j].vaddr - w[j].best_start > *longest)
                *longest = w[j].vaddr - w[j].best_start;
        }
    }
    if (k > 1)
        qsort(sp, k, sizeof(*sp), cmp_span);
    for (size_t i = 0; i < k; i++) {
        if (o > 0 && sp[i].lo <= sp[o - 1].hi) {
            if (sp[i].hi > sp[o - 1].hi)
                sp[o - 1].hi = sp[i].hi;
            continue;
        }
        sp[o++] = sp[i];
    }
    return o;
}

/* Counts a symbol starting at `start` for the wants whose interval
 * (best_start, vaddr] holds it.  Their vaddr lies in [start, start +
 * longest interval]. */
static void count_above(struct want *w, size_t n, uint64_t start, uint64_t longest)
{
    for (size_t j = first_at_or_above(w, n, start); j < n && w[j].vaddr - start <= longest; j++) {
        struct want *x = &w[j];
        if (!x->found || x->best_start >= start || x->n_above == CG_SYM_LOOKBACK)
            continue;
        bool seen = false;
        for (unsigned k = 0; k < x->n_above && !seen; k++)
            seen = x->above[k] == start;
        if (!seen)
            x->above[x->n_above++] = start;
    }
}

/* Pass 2: for each want found, the distinct starts in (best_start,
 * vaddr], up to CG_SYM_LOOKBACK.  A bucket's bit says that an interval
 * may hold a start there; the spans say whether one does. */
static int pass_above(const struct cg_elf_file *file, struct want *w, size_t n)
{
    struct span *sp = malloc(n * sizeof(*sp));
    if (!sp)
        return CG_ENOMEM;
    uint64_t longest;
    size_t n_sp = make_spans(w, n, sp, &longest);
    struct grid g = {0};
    if (n_sp == 0 || grid_init(&g, sp[0].lo + 1, sp[n_sp - 1].hi, false) != 0) {
        free(sp);
        return n_sp == 0 ? 0 : CG_ENOMEM; /* none: every address at its symbol's start */
    }
    for (size_t i = 0; i < n_sp; i++)
        for (size_t b = grid_bucket(&g, sp[i].lo + 1); b <= grid_bucket(&g, sp[i].hi); b++)
            g.bits[b / 64] |= 1ull << (b % 64);
    struct cg_sym_iter it;
    cg_sym_iter_init(&it, file);
    while (cg_sym_iter_section(&it)) {
        for (size_t i = 0; i < it.count; i++) {
            struct cg_sym s;
            bool local;
            if (!cg_sym_at(&it, i, &s, &local) || s.start < g.lo || s.start > g.hi)
                continue;
            size_t b = grid_bucket(&g, s.start);
            if ((g.bits[b / 64] >> (b % 64) & 1) && in_spans(sp, n_sp, s.start) &&
                cg_sym_name(&it, &s))
                count_above(w, n, s.start, longest);
        }
    }
    free(g.bits);
    free(sp);
    return 0;
}

/* Answers the wants from the file's own symbols, copying the names into
 * *names_out.  With `need_any`, a file without a single symbol answers
 * CG_ENOTFOUND (a debug file that would load empty is not used). */
static int answer(const struct cg_elf_file *file, struct want *w, size_t n, bool need_any,
                  struct cg_elf_symtab_hit *out, char **names_out)
{
    for (size_t j = 0; j < n; j++) {
        w[j].found = false;
        w[j].n_above = 0;
    }
    struct grid g;
    if (grid_init(&g, w[0].vaddr, w[n - 1].vaddr, true) != 0)
        return CG_ENOMEM;
    for (size_t b = 0, j = 0; b < g.n_buckets; b++) {
        while (j < n && w[j].vaddr < g.lo + ((uint64_t)b << g.shift))
            j++;
        g.first[b] = (uint32_t)j;
    }
    bool any = false;
    pass_covering(file, w, n, &g, &any);
    free(g.first);
    if (need_any && !any)
        return CG_ENOTFOUND;
    if (pass_above(file, w, n) != 0)
        return CG_ENOMEM;
    size_t bytes = 0;
    for (size_t j = 0; j < n; j++) {
        if (w[j].found && w[j].n_above == CG_SYM_LOOKBACK)
            w[j].found = false; /* past the lookback: the table does not find it */
        if (w[j].found)
            bytes += cg_sym_name_length(w[j].best_name) + 1;
    }
    char *names = bytes ? malloc(bytes) : NULL;
    if (bytes && !names)
        return CG_ENOMEM;
    char *p = names;
    for (size_t j = 0; j < n; j++) {
        if (!w[j].found)
            continue;
        size_t len = cg_sym_name_length(w[j].best_name);
        memcpy(p, w[j].best_name, len);
        p[len] = '\0';
        out[w[j].index] = (struct cg_elf_symtab_hit){p, w[j].best_start};
        p += len + 1;
    }
    *names_out = names;
    return 0;
}

/* As elf_symtab.c's load_fd: a file without .symtab (depth 0) answers
 * from its debug file when that has symbols, else from its own. */
static int find_fd(int fd, const struct cg_elf_symtab_options *opts, int depth, struct want *w,
                   size_t n, struct cg_elf_symtab_hit *out, char **names_out)
{
    struct cg_elf_file *file = cg_elf_file_new(fd);
    if (!file)
        return CG_ENOTFOUND;
    int rc = CG_ENOTFOUND;
    if (depth == 0 && !cg_elf_has_symtab(file)) {
        char path[512];
        int dfd = cg_elf_debug_open(file, opts, path, sizeof(path));
        if (dfd >= 0) {
            rc = find_fd(dfd, opts, 1, w, n, out, names_out);
            close(dfd);
            if (rc == 0)
                CG_DEBUG("symbols from %s", path);
        }
    }
    if (rc == CG_ENOTFOUND)
        rc = answer(file, w, n, depth > 0, out, names_out);
    cg_elf_file_free(file);
    return rc;
}

int cg_elf_symtab_find(const char *path, const struct cg_elf_symtab_options *opts,
                       const uint64_t *vaddrs, size_t n, struct cg_elf_symtab_hit *out,
                       char **names_out)
{
    *names_out = NULL;
    for (size_t i = 0; i < n; i++)
        out[i] = (struct cg_elf_symtab_hit){NULL, 0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        CG_DEBUG("cannot open %s for symbols", path);
        return CG_ENOTFOUND;
    }
    int rc = 0;
    if (n > UINT32_MAX) { /* struct grid's indexes */
        rc = CG_ENOMEM;
    } else if (n > 0) {
        struct want *w = calloc(n, sizeof(*w));
        if (!w) {
            close(fd);
            return CG_ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
            w[i] = (struct want){.vaddr = vaddrs[i], .index = i};
        qsort(w, n, sizeof(*w), cmp_want);
        rc = find_fd(fd, opts, 0, w, n, out, names_out);
        free(w);
    }
    close(fd);
    return rc;
}
