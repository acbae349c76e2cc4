/*
 * symbolizer_internal.h - the symbolizer's state, shared by symbolizer.c
 * (modules, the per-PC cache, names) and symbolizer_prefetch.c (naming a
 * report's few PCs of a module without loading its table).
 *
 * Owns: nothing beyond symbolizer.h's objects.
 * Thread safety: as symbolizer.h: one thread at a time.
 * Signal safety: none.
 */
#ifndef CG_SYMBOLIZER_INTERNAL_H
#define CG_SYMBOLIZER_INTERNAL_H

#include "core/symbols/perfmap.h"
#include "core/symbols/symbolizer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct module {
    const char *path;   /* interned; "[vdso]" for the vDSO */
    const char *base;   /* basename, inside path */
    uintptr_t bias;     /* dlpi_addr */
    uintptr_t lo, hi;   /* runtime range of its PT_LOAD segments */
    struct cg_elf_symtab *syms;
    bool tried;         /* symbols were loaded (or failed) */
    bool is_vdso;
    bool named_few;     /* some PCs were named without loading the table
                           (cg_symbolizer_prefetch): load it on the next miss */
    bool many;          /* over CG_SYMBOLIZER_FEW_PCS PCs expected: no prefetch */
};

struct pc_entry {
    uintptr_t pc;       /* 0 = empty */
    const char *name, *file;
};

struct cg_symbolizer {
    struct module *mods;
    size_t n_mods;
    struct pc_entry *cache;
    size_t cache_size, cache_used, cache_max; /* slots (a power of two), used, grow/clear mark */
    size_t cache_limit;                       /* most slots the byte budget allows */
    struct cg_strpool *strs; /* names and paths handed out */
    struct cg_perfmap *jit;  /* /tmp/perf-PID.map, made on the first PC in no module */
    struct cg_perfmap_options jit_opts; /* how to make it (tests: path, clock) */
    const char *jit_file;    /* interned "[jit]" */
    /* JIT names: [0] the current generation, [1] the previous one (freed
     * when [0] is retired); either may be NULL. */
    struct cg_strpool *jit_names[2];
    size_t jit_name_budget;  /* bytes of [0] before a generation retires it */
    struct cg_python_roots *py_roots; /* made on the first CPython name */
    char *debug_root;
    uint64_t last_auto_refresh_ns;
    /* PCs the coming report expects in modules without a table
     * (cg_symbolizer_expect); made sorted and unique when full, freed
     * by cg_symbolizer_prefetch. */
    uintptr_t *expect;
    size_t n_expect, cap_expect;
    bool expect_unknown; /* an expected PC in no module */
    size_t expect_last;  /* index of the module of the last expected PC (a hint) */
};

/* The module holding pc, or NULL. */
struct module *cg_symbolizer_module_at(struct cg_symbolizer *s, uintptr_t pc);

/* The name of pc in module m whose raw symbol is `raw` (NULL: no symbol
 * covers pc): the demangled symbol, else BASENAME+0xOFFSET.  Returns 0 or
 * CG_ENOMEM. */
int cg_symbolizer_module_name(struct cg_symbolizer *s, const struct module *m, uintptr_t pc,
                              const char *raw, struct cg_symbol *out);

/* Caches the name of pc, which is not in the cache (pc 0 is not cached). */
void cg_symbolizer_cache_put(struct cg_symbolizer *s, uintptr_t pc, const struct cg_symbol *sym);

/* For a PC in no module: rescans the modules, at most once a second (a
 * library loaded since the last scan, most likely; a rescan clears the
 * cache).  Returns 1 when it did not, else cg_symbolizer_refresh's
 * result. */
int cg_symbolizer_auto_refresh(struct cg_symbolizer *s);

#endif
