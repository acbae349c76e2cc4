/*
 * symbolizer_prefetch.c - a report's PCs named before they are resolved:
 * the few PCs of a module whose symbol table is not loaded are named from
 * one search of its symbols (cg_elf_symtab_find) instead of loading it.
 *
 * DESIGN: cg_symbolizer_expect keeps the PCs of modules without a table
 * (a binary search among the modules, then an append; when the buffer is
 * full it is sorted, repeats dropped, and the PCs of a module with over
 * CG_SYMBOLIZER_FEW_PCS are dropped and the module marked `many`, so the
 * buffer stays within CG_SYMBOLIZER_FEW_PCS per module).
 * cg_symbolizer_prefetch names each module's PCs into the per-PC cache,
 * where cg_symbolizer_resolve finds them, and marks the module
 * `named_few`: the next PC of it that misses the cache (one not expected,
 * or any in a later report) loads its table as before.  The names are
 * the table's (elf_symtab_find.c gives the lookup's answers), made by the
 * same code (cg_symbolizer_module_name).  What it won't do: name the vDSO
 * (read from memory, small) or modules with many PCs (their table pays).
 */
#include "core/symbols/symbolizer_internal.h"

#include "core/base/error.h"
#include "core/base/log.h"
#include "core/symbols/elf_symtab.h"

#include <stdlib.h>

static int cmp_pc(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts the expected PCs and drops repeats and the PCs of modules with
 * too many (marked `many`: they will load their tables). */
static void expect_compact(struct cg_symbolizer *s)
{
    if (s->n_expect == 0)
        return; /* s->expect may be NULL: not for qsort */
    qsort(s->expect, s->n_expect, sizeof(*s->expect), cmp_pc);
    size_t o = 0;
    for (size_t i = 0, j; i < s->n_expect; i = j) {
        struct module *m = cg_symbolizer_module_at(s, s->expect[i]);
        size_t k = o;
        for (j = i; j < s->n_expect && m && s->expect[j] < m->hi; j++)
            if (o == k || s->expect[j] != s->expect[o - 1])
                s->expect[o++] = s->expect[j];
        if (j == i) /* in no module: unloaded since */
            j++;
        if (m && o - k > CG_SYMBOLIZER_FEW_PCS) {
            m->many = true;
            o = k;
        }
    }
    s->n_expect = o;
}

void cg_symbolizer_expect(struct cg_symbolizer *s, uintptr_t pc)
{
    /* Called for every frame of every stack of a report: the frames of a
     * stack run in a few modules, so try the last one first. */
    struct module *m = s->expect_last < s->n_mods ? &s->mods[s->expect_last] : NULL;
    if (!m || pc < m->lo || pc >= m->hi)
        m = cg_symbolizer_module_at(s, pc);
    if (m)
        s->expect_last = (size_t)(m - s->mods);
    s->expect_unknown |= !m;
    if (!m || m->tried || m->named_few || m->many || m->is_vdso)
        return; /* named from its table, or not by symbols */
    if (s->n_expect == s->cap_expect) {
        expect_compact(s);
        if (s->cap_expect == 0 || s->n_expect > s->cap_expect / 2) {
            size_t cap = s->cap_expect ? s->cap_expect * 2 : 1024;
            uintptr_t *e = realloc(s->expect, cap * sizeof(*e));
            if (!e)
                return; /* named the usual way */
            s->expect = e;
            s->cap_expect = cap;
        }
    }
    s->expect[s->n_expect++] = pc;
}

/* Names the expected PCs of one module, pcs[0..n), without loading its
 * table, into the cache. */
static void prefetch_module(struct cg_symbolizer *s, struct module *m, const uintptr_t *pcs,
                            size_t n)
{
    uint64_t vaddrs[CG_SYMBOLIZER_FEW_PCS];
    struct cg_elf_symtab_hit hits[CG_SYMBOLIZER_FEW_PCS];
    char *names = NULL;
    for (size_t i = 0; i < n; i++)
        vaddrs[i] = pcs[i] - m->bias;
    struct cg_elf_symtab_options o = {s->debug_root};
    int rc = cg_elf_symtab_find(m->path, &o, vaddrs, n, hits, &names);
    if (rc == CG_ENOTFOUND) { /* no ELF file there: load would find nothing either */
        m->tried = true;
        CG_DEBUG("no symbols for %s", m->path);
    }
    if (rc)
        return;
    m->named_few = true;
    for (size_t i = 0; i < n; i++) {
        struct cg_symbol sym;
        if (cg_symbolizer_module_name(s, m, pcs[i], hits[i].name, &sym) == 0)
            cg_symbolizer_cache_put(s, pcs[i], &sym);
    }
    free(names);
    CG_DEBUG("%zu PCs of %s named without loading its symbols", n, m->path);
}

void cg_symbolizer_prefetch(struct cg_symbolizer *s)
{
    /* The rescan a PC in no module makes (JIT code, most likely) clears
     * the cache: make it now, not after the names are in the cache. */
    if (s->expect_unknown)
        cg_symbolizer_auto_refresh(s);
    s->expect_unknown = false;
    expect_compact(s);
    for (size_t i = 0, j; i < s->n_expect; i = j) {
        struct module *m = cg_symbolizer_module_at(s, s->expect[i]);
        for (j = i + 1; j < s->n_expect && m && s->expect[j] < m->hi; j++)
            ;
        if (m && !m->tried && !m->named_few)
            prefetch_module(s, m, s->expect + i, j - i);
    }
    free(s->expect); /* until the next report: most never need it again */
    s->expect = NULL;
    s->n_expect = s->cap_expect = 0;
    for (size_t i = 0; i < s->n_mods; i++)
        s->mods[i].many = false;
}
