/*
 * symbolizer.c - in-process symbolization for the agent thread.
 *
 * DESIGN: a sorted array of modules (from dl_iterate_phdr), each with a
 * lazily loaded symbol table; a per-PC cache in front (a hash map that
 * starts at 1,024 slots and doubles as the program's hot PCs grow, up to a
 * byte budget: when full at the budget it is simply cleared, which keeps
 * memory flat under churn and costs only a re-lookup; starting small keeps
 * a short process from paying for, and touching, the whole budget); and a
 * string interner whose
 * strings live until the symbolizer is freed, so names handed out stay
 * valid across refreshes and demangling happens once per symbol.  A
 * report that announces its PCs (cg_symbolizer_expect) gets the few PCs
 * of a module without a table named without loading it
 * (symbolizer_prefetch.c); the state both files share is in
 * symbolizer_internal.h.
 *
 * PCs in no module are looked up in the process's JIT perf map
 * (core/symbols/perfmap.h): a name found there is copied into a JIT-name
 * pool and reported with the file "[jit]"; else "[unknown]".  JIT names
 * churn without end (a long-lived Node process names new code for hours),
 * so they are not interned forever: they live in generations.  Names go
 * into the current pool; at cg_symbolizer_next_generation (the agent
 * calls it after each report, when the call tree holds copies of every
 * name) a current pool over its budget becomes the previous one and the
 * previous one is freed.  A JIT name thus lives until at least the second
 * call after it was handed out, and JIT names hold at most about twice
 * the budget plus one period's names.  ELF names are bounded by the
 * symbols of the loaded objects and stay interned.  CPython's names
 * ("py::qualname:file") become CodeGuru's Python frames
 * (core/symbols/python_names.h) with the file the map gives, kept in the
 * JIT-name generations like any JIT name.  What it won't do: run
 * in a signal handler or read DWARF line tables.
 */
#include "core/symbols/symbolizer.h"

#include "core/base/error.h"
#include "core/base/log.h"
#include "core/base/strpool.h"
#include "core/symbols/demangle.h"
#include "core/symbols/elf_sections.h"
#include "core/symbols/elf_symtab.h"
#include "core/symbols/perfmap.h"
#include "core/symbols/python_names.h"
#include "core/symbols/symbolizer_internal.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <limits.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef CG_MUSL
#include <sys/auxv.h>
#endif
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *intern(struct cg_symbolizer *s, const char *str)
{
    return cg_strpool_intern(s->strs, str);
}

struct scan {
    struct cg_symbolizer *s;
    struct module *mods;
    size_t n, cap;
    int err;
};

static int on_module(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct scan *sc = data;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < lo)
            lo = a;
        if (a + ph->p_memsz > hi)
            hi = a + ph->p_memsz;
    }
    if (hi <= lo)
        return 0;
    const char *name = info->dlpi_name;
    char exe[PATH_MAX];
    bool vdso = false;
#ifdef CG_MUSL
    /* musl names the main program as it was started (argv[0], maybe a
     * relative path) and the vDSO "": both are told by address instead. */
    if (info->dlpi_phdr == (const ElfW(Phdr) *)getauxval(AT_PHDR))
        name = "";
    else if (lo == (uintptr_t)getauxval(AT_SYSINFO_EHDR))
        name = "linux-vdso.so.1";
#endif
    if (!name || !*name) {
        /* The main program has no name here. */
        ssize_t n = readlink(cg_elf_self_exe(), exe, sizeof(exe) - 1);
        if (n <= 0)
            return 0;
        exe[n] = '\0';
        name = exe;
    } else if (strncmp(name, "linux-vdso", 10) == 0 || strncmp(name, "linux-gate", 10) == 0) {
        name = "[vdso]";
        vdso = true;
    }
    if (sc->n == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 64;
        struct module *m = realloc(sc->mods, cap * sizeof(*m));
        if (!m) {
            sc->err = CG_ENOMEM;
            return 1;
        }
        sc->mods = m;
        sc->cap = cap;
    }
    const char *path = intern(sc->s, name);
    if (!path) {
        sc->err = CG_ENOMEM;
        return 1;
    }
    const char *slash = strrchr(path, '/');
    sc->mods[sc->n++] = (struct module){path, slash ? slash + 1 : path, info->dlpi_addr, lo, hi,
                                        NULL, false, vdso, false, false};
    return 0;
}

static int cmp_mod(const void *a, const void *b)
{
    const struct module *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static size_t cache_slot(uintptr_t pc, size_t mask)
{
    return (size_t)((pc * 0x9E3779B97F4A7C15ull) >> 20) & mask;
}

/* Doubles the cache, keeping its entries.  On failure the cache is left as
 * it was (the caller clears it instead). */
static int cache_grow(struct cg_symbolizer *s)
{
    size_t n = s->cache_size * 2, mask = n - 1;
    struct pc_entry *t = calloc(n, sizeof(*t));
    if (!t)
        return CG_ENOMEM;
    for (size_t j = 0; j < s->cache_size; j++) {
        if (!s->cache[j].pc)
            continue;
        size_t i = cache_slot(s->cache[j].pc, mask);
        while (t[i].pc)
            i = (i + 1) & mask;
        t[i] = s->cache[j];
    }
    free(s->cache);
    s->cache = t;
    s->cache_size = n;
    s->cache_max = n / 2;
    return 0;
}

static void cache_clear(struct cg_symbolizer *s)
{
    if (s->cache)
        memset(s->cache, 0, s->cache_size * sizeof(*s->cache));
    s->cache_used = 0;
}

int cg_symbolizer_refresh(struct cg_symbolizer *s)
{
    struct scan sc = {s, NULL, 0, 0, 0};
    dl_iterate_phdr(on_module, &sc);
    if (sc.err) {
        free(sc.mods);
        return sc.err;
    }
    qsort(sc.mods, sc.n, sizeof(*sc.mods), cmp_mod);
    /* Keep loaded tables of modules that are still there, at the same place. */
    for (size_t i = 0; i < sc.n; i++) {
        for (size_t j = 0; j < s->n_mods; j++) {
            struct module *old = &s->mods[j];
            if (old->path == sc.mods[i].path && old->bias == sc.mods[i].bias &&
                (old->tried || old->named_few)) {
                sc.mods[i].syms = old->syms;
                sc.mods[i].tried = old->tried;
                sc.mods[i].named_few = old->named_few;
                old->syms = NULL;
                break;
            }
        }
    }
    for (size_t j = 0; j < s->n_mods; j++)
        cg_elf_symtab_free(s->mods[j].syms);
    free(s->mods);
    s->mods = sc.mods;
    s->n_mods = sc.n;
    cache_clear(s);
    return 0;
}

struct cg_symbolizer *cg_symbolizer_new(const struct cg_symbolizer_options *opts)
{
    struct cg_symbolizer *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    size_t budget = opts && opts->cache_budget_bytes ? opts->cache_budget_bytes : 8u << 20;
    s->cache_limit = 1024;
    while (s->cache_limit * 2 * sizeof(struct pc_entry) <= budget)
        s->cache_limit *= 2;
    s->cache_size = s->cache_limit < 1024 ? s->cache_limit : 1024;
    s->cache_max = s->cache_size / 2;
    s->cache = calloc(s->cache_size, sizeof(*s->cache));
    s->strs = cg_strpool_new();
    if (opts && opts->perfmap)
        s->jit_opts = *opts->perfmap;
    s->jit_name_budget = opts && opts->jit_name_budget_bytes ? opts->jit_name_budget_bytes
                                                             : CG_SYMBOLIZER_JIT_NAME_BUDGET;
    if (!s->cache || !s->strs || (opts && opts->debug_root && !(s->debug_root = strdup(opts->debug_root))) ||
        cg_symbolizer_refresh(s) != 0) {
        cg_symbolizer_free(s);
        return NULL;
    }
    return s;
}

void cg_symbolizer_free(struct cg_symbolizer *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_mods; i++)
        cg_elf_symtab_free(s->mods[i].syms);
    free(s->mods);
    free(s->cache);
    cg_perfmap_free(s->jit);
    cg_strpool_free(s->jit_names[0]);
    cg_strpool_free(s->jit_names[1]);
    cg_python_roots_free(s->py_roots);
    cg_strpool_free(s->strs);
    free(s->debug_root);
    free(s->expect);
    free(s);
}

struct module *cg_symbolizer_module_at(struct cg_symbolizer *s, uintptr_t pc)
{
    size_t lo = 0, hi = s->n_mods;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->mods[mid].lo <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0 && pc < s->mods[lo - 1].hi)
        return &s->mods[lo - 1];
    return NULL;
}

/* The vDSO's section headers lie past its PT_LOAD size but inside its
 * mapped pages; copy the image up to their end with process_vm_readv (a
 * short read is an error, never a fault) and read symbols from the copy. */
static struct cg_elf_symtab *load_vdso(const struct module *m)
{
    ElfW(Ehdr) eh;
    struct iovec local = {&eh, sizeof(eh)}, remote = {(void *)m->lo, sizeof(eh)};
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)sizeof(eh))
        return NULL;
    size_t len = (size_t)eh.e_shoff + (size_t)eh.e_shnum * eh.e_shentsize;
    if (len < m->hi - m->lo)
        len = m->hi - m->lo;
    if (len > 1u << 20)
        return NULL;
    void *copy = malloc(len);
    if (!copy)
        return NULL;
    local = (struct iovec){copy, len};
    remote = (struct iovec){(void *)m->lo, len};
    struct cg_elf_symtab *t = NULL;
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len)
        t = cg_elf_symtab_load_mem(copy, len);
    free(copy);
    return t;
}

static void load_symbols(struct cg_symbolizer *s, struct module *m)
{
    m->tried = true;
    if (m->is_vdso) {
        m->syms = load_vdso(m);
        return;
    }
    struct cg_elf_symtab_options o = {s->debug_root};
    m->syms = cg_elf_symtab_load(m->path, &o);
    if (!m->syms)
        CG_DEBUG("no symbols for %s", m->path);
}

/* A CPython perf-map name as CodeGuru's Python agent names frames, with
 * the code's file.  Returns 1 (not cached, as for any JIT code). */
/* A copy of a JIT name in the current generation's pool (see DESIGN). */
static const char *jit_intern(struct cg_symbolizer *s, const char *name)
{
    if (!s->jit_names[0])
        s->jit_names[0] = cg_strpool_new();
    return s->jit_names[0] ? cg_strpool_intern(s->jit_names[0], name) : NULL;
}

static int python_frame(struct cg_symbolizer *s, const char *perf_name, struct cg_symbol *out)
{
    if (!s->py_roots)
        s->py_roots = cg_python_roots_of_process();
    char name[4096], file[PATH_MAX];
    const char *f;
    size_t flen;
    if (cg_python_frame_name(s->py_roots, perf_name, name, sizeof(name), &f, &flen) != 0)
        return CG_EINVAL; /* checked by the caller: cannot happen */
    snprintf(file, sizeof(file), "%.*s", (int)flen, f);
    out->name = jit_intern(s, name);
    out->file = flen ? jit_intern(s, file) : s->jit_file;
    if (!out->name || !out->file) {
        out->name = "[unknown]";
        out->file = NULL;
        return CG_ENOMEM;
    }
    return 1;
}

int cg_symbolizer_auto_refresh(struct cg_symbolizer *s)
{
    if (mono_ns() - s->last_auto_refresh_ns <= 1000000000u)
        return 1;
    s->last_auto_refresh_ns = mono_ns();
    return cg_symbolizer_refresh(s);
}

static int lookup(struct cg_symbolizer *s, uintptr_t pc, struct cg_symbol *out)
{
    struct module *m = cg_symbolizer_module_at(s, pc);
    if (!m) {
        int rc = cg_symbolizer_auto_refresh(s);
        if (rc < 0)
            return rc;
        m = cg_symbolizer_module_at(s, pc);
    }
    if (!m) {
        /* JIT-compiled code (Node, CPython 3.12 perf support, JVM agents)
         * lives in anonymous memory; its writer may name it in a perf map.
         * Not cached: JIT memory is reused for other code. */
        if (!s->jit)
            s->jit = cg_perfmap_new(getpid(), &s->jit_opts);
        if (!s->jit_file)
            s->jit_file = intern(s, "[jit]");
        const char *jit = s->jit ? cg_perfmap_lookup(s->jit, pc) : NULL;
        if (jit && cg_python_is_perf_name(jit))
            return python_frame(s, jit, out);
        /* The map's names live until its next lookup: keep a copy, in
         * this generation's pool. */
        const char *name = jit && s->jit_file ? jit_intern(s, jit) : NULL;
        out->name = name ? name : "[unknown]";
        out->file = name ? s->jit_file : NULL;
        return 1;
    }
    if (!m->tried)
        load_symbols(s, m);
    const char *raw = NULL;
    if (m->syms && cg_elf_symtab_lookup(m->syms, pc - m->bias, &raw, NULL) != 0)
        raw = NULL;
    return cg_symbolizer_module_name(s, m, pc, raw, out);
}

int cg_symbolizer_module_name(struct cg_symbolizer *s, const struct module *m, uintptr_t pc,
                              const char *raw, struct cg_symbol *out)
{
    uint64_t vaddr = pc - m->bias;
    char buf[PATH_MAX + 32];
    const char *name;
    if (raw) {
        char *pretty = cg_demangle_symbol(raw);
        snprintf(buf, sizeof(buf), "%s", pretty ? pretty : raw);
        free(pretty);
        name = intern(s, buf);
    } else {
        /* No symbol: name the code by the start of its function as the
         * unwind tables (.eh_frame) describe it, so every PC of one
         * internal function of a stripped library is one frame. */
        unw_proc_info_t pi;
        if (unw_get_proc_info_by_ip(unw_local_addr_space, (unw_word_t)pc, &pi, NULL) == 0 &&
            pi.start_ip <= pc && pc < pi.end_ip && pi.start_ip >= m->lo)
            vaddr = pi.start_ip - m->bias;
        snprintf(buf, sizeof(buf), "%s+0x%llx", m->base, (unsigned long long)vaddr);
        name = intern(s, buf);
    }
    if (!name)
        return CG_ENOMEM;
    out->name = name;
    out->file = m->path;
    return 0;
}

/* Caches the name of pc, which is not in the cache. */
void cg_symbolizer_cache_put(struct cg_symbolizer *s, uintptr_t pc, const struct cg_symbol *sym)
{
    if (!pc)
        return;
    if (s->cache_used >= s->cache_max &&
        (s->cache_size >= s->cache_limit || cache_grow(s) != 0))
        cache_clear(s);
    size_t mask = s->cache_size - 1, i = cache_slot(pc, mask);
    while (s->cache[i].pc)
        i = (i + 1) & mask;
    s->cache[i] = (struct pc_entry){pc, sym->name, sym->file};
    s->cache_used++;
}

int cg_symbolizer_resolve(struct cg_symbolizer *s, uintptr_t pc, struct cg_symbol *out)
{
    size_t mask = s->cache_size - 1;
    size_t i = cache_slot(pc, mask);
    for (; s->cache[i].pc; i = (i + 1) & mask) {
        if (s->cache[i].pc == pc) {
            out->name = s->cache[i].name;
            out->file = s->cache[i].file;
            return 0;
        }
    }
    int rc = lookup(s, pc, out);
    if (rc == 1)
        return 0; /* outside every module: answered, not cached */
    if (rc) {
        out->name = "[unknown]";
        out->file = NULL;
        return rc;
    }
    /* Not at the slot the search ended: lookup may have refreshed (which
     * clears the cache). */
    cg_symbolizer_cache_put(s, pc, out);
    return 0;
}

void cg_symbolizer_next_generation(struct cg_symbolizer *s)
{
    if (!s->jit_names[0] || cg_strpool_bytes(s->jit_names[0]) <= s->jit_name_budget)
        return;
    cg_strpool_free(s->jit_names[1]);
    s->jit_names[1] = s->jit_names[0];
    s->jit_names[0] = NULL;
}

size_t cg_symbolizer_bytes(const struct cg_symbolizer *s)
{
    size_t n = sizeof(*s) + s->cache_size * sizeof(*s->cache) + cg_strpool_bytes(s->strs) +
               (s->jit_names[0] ? cg_strpool_bytes(s->jit_names[0]) : 0) +
               (s->jit_names[1] ? cg_strpool_bytes(s->jit_names[1]) : 0) +
               s->n_mods * sizeof(*s->mods) + (s->jit ? cg_perfmap_bytes(s->jit) : 0);
    for (size_t i = 0; i < s->n_mods; i++)
        if (s->mods[i].syms)
            n += cg_elf_symtab_bytes(s->mods[i].syms);
    return n;
}
