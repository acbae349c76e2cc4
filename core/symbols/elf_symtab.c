/*
 * elf_symtab.c - function symbols of an ELF file (read by elf_file.c).
 *
 * DESIGN: collect (start, size, name) for every defined function symbol of
 * .symtab and .dynsym into one array and a string pool, sort by start,
 * drop duplicates (the same function appears in both tables), and answer
 * lookups by binary search with a size check.  Overlapping symbols
 * (aliases of different sizes) are handled by looking back a few entries.
 * Which symbols count, in what order, which alias wins and how far a
 * lookup looks back are in elf_symtab_internal.h, shared with
 * elf_symtab_find.c, which answers a few addresses without the table.
 */
#include "core/symbols/elf_symtab.h"
#include "core/symbols/elf_symtab_internal.h"

#include "core/base/error.h"
#include "core/base/log.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sym {
    uint64_t start;
    uint64_t size;
    uint32_t name; /* offset in pool */
};

struct cg_elf_symtab {
    struct sym *syms;
    size_t n, cap;
    char *pool;
    size_t pool_len, pool_cap;
};

static int add_sym(struct cg_elf_symtab *t, uint64_t start, uint64_t size, const char *name)
{
    size_t len = cg_sym_name_length(name) + 1;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        struct sym *s = realloc(t->syms, cap * sizeof(*s));
        if (!s)
            return CG_ENOMEM;
        t->syms = s;
        t->cap = cap;
    }
    if (t->pool_len + len > t->pool_cap) {
        size_t cap = t->pool_cap ? t->pool_cap * 2 : 16384;
        while (cap < t->pool_len + len)
            cap *= 2;
        char *p = realloc(t->pool, cap);
        if (!p)
            return CG_ENOMEM;
        t->pool = p;
        t->pool_cap = cap;
    }
    memcpy(t->pool + t->pool_len, name, len - 1);
    t->pool[t->pool_len + len - 1] = '\0';
    t->syms[t->n++] = (struct sym){start, size, (uint32_t)t->pool_len};
    t->pool_len += len;
    return 0;
}

/* Adds every function symbol in the table's order (cg_sym_next): where
 * two names share an address and neither is better (finish), the first
 * seen is kept, and an exported name reads better than a local alias. */
static int read_symbols(struct cg_elf_symtab *t, const struct cg_elf_file *file)
{
    struct cg_sym_iter it;
    struct cg_sym s;
    cg_sym_iter_init(&it, file);
    while (cg_sym_next(&it, &s)) {
        const char *name = cg_sym_name(&it, &s);
        if (!name)
            continue;
        int rc = add_sym(t, s.start, s.size, name);
        if (rc)
            return rc;
    }
    return 0;
}

bool cg_elf_has_symtab(const struct cg_elf_file *file)
{
    Elf64_Shdr sh;
    for (size_t i = 1; cg_elf_file_section(file, i, &sh); i++)
        if (sh.sh_type == SHT_SYMTAB)
            return true;
    return false;
}

/* The NT_GNU_BUILD_ID of the file as hex, or "" . */
static void build_id_hex(const struct cg_elf_file *file, char *out, size_t size)
{
    out[0] = '\0';
    Elf64_Shdr sh;
    for (size_t i = 1; cg_elf_file_section(file, i, &sh); i++) {
        if (sh.sh_type != SHT_NOTE)
            continue;
        size_t off = 0;
        struct cg_elf_note nh;
        while (cg_elf_file_note(file, i, &off, &nh)) {
            if (nh.type != NT_GNU_BUILD_ID || nh.name_size != 4 || memcmp(nh.name, "GNU", 4) != 0)
                continue;
            size_t o = 0;
            for (size_t k = 0; k < nh.desc_size && o + 3 < size; k++)
                o += (size_t)snprintf(out + o, size - o, "%02x", nh.desc[k]);
            return;
        }
    }
}

static bool sorted_by_start(const struct sym *a, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (a[i].start < a[i - 1].start)
            return false;
    return true;
}

/* A stable sort by start: least-significant-digit radix sort, a byte per
 * pass, skipping the bytes where every start agrees (the high bytes of a
 * library's addresses), so libc's table takes three or four passes.
 * Comparison sorts were most of the cost of loading libc's symbols (glibc's
 * qsort 8.6 M instructions, an inlined merge sort 2.8 M; callgrind, a short
 * C process).  Tables that come sorted take one pass. */
static void sort_syms(struct sym *a, size_t n)
{
    if (n < 2 || sorted_by_start(a, n))
        return;
    uint64_t differ = 0;
    for (size_t i = 1; i < n; i++)
        differ |= a[i].start ^ a[0].start;
    struct sym *tmp = malloc(n * sizeof(*tmp));
    if (!tmp) { /* out of memory: a slow stable insertion sort in place */
        for (size_t j = 1; j < n; j++) {
            struct sym v = a[j];
            size_t k = j;
            for (; k > 0 && v.start < a[k - 1].start; k--)
                a[k] = a[k - 1];
            a[k] = v;
        }
        return;
    }
    struct sym *src = a, *dst = tmp;
    for (unsigned shift = 0; shift < 64; shift += 8) {
        if (((differ >> shift) & 0xff) == 0)
            continue;
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((src[i].start >> shift) & 0xff) + 1]++;
        for (size_t d = 1; d <= 256; d++)
            count[d] += count[d - 1];
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].start >> shift) & 0xff]++] = src[i];
        struct sym *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof(*a));
    free(tmp);
}

/* Sorts by start and keeps one symbol per start (cg_sym_better_alias). */
static void finish(struct cg_elf_symtab *t)
{
    if (t->n == 0)
        return; /* no symbols (and t->syms may be NULL) */
    sort_syms(t->syms, t->n);
    size_t o = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (o > 0 && t->syms[o - 1].start == t->syms[i].start) {
            if (cg_sym_better_alias(t->syms[o - 1].size, t->pool + t->syms[o - 1].name,
                                    t->syms[i].size, t->pool + t->syms[i].name))
                t->syms[o - 1] = t->syms[i];
            continue;
        }
        t->syms[o++] = t->syms[i];
    }
    t->n = o;
}

/* A new table with the function symbols of `file` (not yet sorted), or
 * NULL.  Does not free `file`. */
static struct cg_elf_symtab *from_file(const struct cg_elf_file *file)
{
    if (!file)
        return NULL;
    struct cg_elf_symtab *t = calloc(1, sizeof(*t));
    if (!t || read_symbols(t, file) != 0) {
        cg_elf_symtab_free(t);
        return NULL;
    }
    return t;
}

static struct cg_elf_symtab *load_fd(int fd, const struct cg_elf_symtab_options *opts, int depth);

int cg_elf_debug_open(const struct cg_elf_file *file, const struct cg_elf_symtab_options *opts,
                      char *path_out, size_t size)
{
    char id[130];
    build_id_hex(file, id, sizeof(id));
    if (strlen(id) <= 2)
        return -1;
    snprintf(path_out, size, "%s/.build-id/%.2s/%s.debug",
             opts && opts->debug_root ? opts->debug_root : "/usr/lib/debug", id, id + 2);
    return open(path_out, O_RDONLY | O_CLOEXEC);
}

/* The table of the separate debug file of a stripped `file`, found by
 * its build ID, or NULL.  Its .symtab holds every function of .dynsym
 * too, so it replaces the stripped file's table instead of being merged
 * into it: libc's symbols load in half the time. */
static struct cg_elf_symtab *load_debug_file(const struct cg_elf_file *file,
                                             const struct cg_elf_symtab_options *opts)
{
    char path[512];
    int dfd = cg_elf_debug_open(file, opts, path, sizeof(path));
    if (dfd < 0)
        return NULL;
    struct cg_elf_symtab *dbg = load_fd(dfd, opts, 1);
    close(dfd);
    if (dbg && dbg->n == 0) {
        cg_elf_symtab_free(dbg);
        return NULL;
    }
    if (dbg)
        CG_DEBUG("symbols from %s", path);
    return dbg;
}

static struct cg_elf_symtab *load_fd(int fd, const struct cg_elf_symtab_options *opts, int depth)
{
    struct cg_elf_file *file = cg_elf_file_new(fd);
    if (!file)
        return NULL;
    struct cg_elf_symtab *t = NULL;
    if (depth == 0 && !cg_elf_has_symtab(file))
        t = load_debug_file(file, opts); /* sorted already */
    if (!t && (t = from_file(file)) != NULL)
        finish(t);
    cg_elf_file_free(file);
    return t;
}

struct cg_elf_symtab *cg_elf_symtab_load(const char *path, const struct cg_elf_symtab_options *opts)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        CG_DEBUG("cannot open %s for symbols", path);
        return NULL;
    }
    struct cg_elf_symtab *t = load_fd(fd, opts, 0);
    close(fd);
    return t;
}

struct cg_elf_symtab *cg_elf_symtab_load_mem(const void *image, size_t len)
{
    struct cg_elf_file *file = cg_elf_file_new_mem(image, len);
    struct cg_elf_symtab *t = from_file(file);
    cg_elf_file_free(file);
    if (t)
        finish(t);
    return t;
}

void cg_elf_symtab_free(struct cg_elf_symtab *t)
{
    if (!t)
        return;
    free(t->syms);
    free(t->pool);
    free(t);
}

int cg_elf_symtab_lookup(const struct cg_elf_symtab *t, uint64_t vaddr, const char **name_out,
                         uint64_t *start_out)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) { /* first symbol with start > vaddr */
        size_t mid = lo + (hi - lo) / 2;
        if (t->syms[mid].start <= vaddr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = 0; k < CG_SYM_LOOKBACK && lo > k; k++) {
        const struct sym *s = &t->syms[lo - 1 - k];
        if (cg_sym_covers(s->start, s->size, vaddr)) {
            *name_out = t->pool + s->name;
            if (start_out)
                *start_out = s->start;
            return 0;
        }
    }
    return CG_ENOTFOUND;
}

size_t cg_elf_symtab_count(const struct cg_elf_symtab *t)
{
    return t->n;
}

size_t cg_elf_symtab_bytes(const struct cg_elf_symtab *t)
{
    return sizeof(*t) + t->cap * sizeof(*t->syms) + t->pool_cap;
}

bool cg_elf_has_section(const char *path, const char *name)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool found = false;
    struct cg_elf_file *file = cg_elf_file_new(fd);
    close(fd);
    size_t n = file ? cg_elf_file_section_count(file) : 0;
    for (size_t i = 1; i < n && !found; i++) {
        const char *s = cg_elf_file_section_name(file, i);
        found = s && strcmp(s, name) == 0;
    }
    cg_elf_file_free(file);
    return found;
}

int cg_elf_build_id(const char *path, char *out, size_t size)
{
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return CG_ENOTFOUND;
    struct cg_elf_file *file = cg_elf_file_new(fd);
    close(fd);
    if (file)
        build_id_hex(file, out, size);
    cg_elf_file_free(file);
    return out[0] ? 0 : CG_ENOTFOUND;
}
