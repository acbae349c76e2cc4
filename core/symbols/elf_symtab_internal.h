/*
 * elf_symtab_internal.h - the rules that decide which symbol names an
 * address, shared by the full table (elf_symtab.c) and the one-pass
 * search for a few addresses (elf_symtab_find.c), so that both give the
 * same answer.
 *
 *   - which symbols count: STT_FUNC and STT_GNU_IFUNC, defined, at a
 *     non-zero value, with a non-empty name (cg_sym_at, cg_sym_name);
 *   - in which order they are seen: symbol sections in file order, each
 *     section's non-local symbols before its local ones (cg_sym_next,
 *     cg_sym_order), so that "the first seen" of equals is the exported
 *     name;
 *   - which of the symbols starting at one address names it
 *     (cg_sym_better_alias);
 *   - how far back a lookup looks for a symbol covering the address
 *     (CG_SYM_LOOKBACK distinct starts), and what covers means
 *     (cg_sym_covers);
 *   - which file the symbols come from: a file without .symtab uses its
 *     separate debug file when that has any symbol (cg_elf_debug_open).
 *
 * Owns: nothing; an iterator borrows its file (core/symbols/elf_file.h).
 * Thread safety: reentrant.
 * Signal safety: none (files, mmap).
 */
#ifndef CG_ELF_SYMTAB_INTERNAL_H
#define CG_ELF_SYMTAB_INTERNAL_H

#include "core/symbols/elf_file.h"
#include "core/symbols/elf_symtab.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A lookup tries the symbols of this many distinct start addresses at or
 * below the address, nearest first (aliases of different sizes overlap). */
#define CG_SYM_LOOKBACK 8

/* One function symbol as cg_sym_next yields it. */
struct cg_sym {
    uint64_t start, size;
    uint32_t name; /* st_name: offset in the section's string table */
};

/* Walks the function symbols of an ELF file in the table's order.  Reads
 * the symbol arrays in place, in the file's bytes. */
struct cg_sym_iter {
    const struct cg_elf_file *file;
    size_t scn;              /* the current symbol section's index; 0: not started */
    const char *strs;        /* its string table (sh_link), ending in NUL; NULL: none */
    size_t strs_size;
    const unsigned char *at; /* its symbols (no alignment: cg_sym_at copies each out) */
    size_t count, i;
    bool locals;             /* false: the section's non-local symbols, true: its locals */
};

static inline void cg_sym_iter_init(struct cg_sym_iter *it, const struct cg_elf_file *file)
{
    memset(it, 0, sizeof(*it));
    it->file = file;
}

/* Moves to the next SHT_SYMTAB / SHT_DYNSYM section with symbols.  False
 * at the end. */
static inline bool cg_sym_iter_section(struct cg_sym_iter *it)
{
    size_t n = cg_elf_file_section_count(it->file);
    while (++it->scn < n) {
        Elf64_Shdr sh;
        size_t bytes;
        if (!cg_elf_file_section(it->file, it->scn, &sh) ||
            (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) || sh.sh_entsize == 0)
            continue;
        const unsigned char *data = cg_elf_file_section_data(it->file, it->scn, &bytes);
        /* Whole symbols only, as libelf had it: a table with a part of a
         * symbol at its end is corrupt. */
        if (!data || bytes % sizeof(Elf64_Sym) != 0)
            continue;
        size_t count = sh.sh_size / sh.sh_entsize;
        if (count > bytes / sizeof(Elf64_Sym)) /* as far as the bytes go */
            count = bytes / sizeof(Elf64_Sym);
        if (count == 0)
            continue;
        it->strs = cg_elf_file_strtab(it->file, sh.sh_link, &it->strs_size);
        it->at = data;
        it->count = count;
        it->i = 0;
        it->locals = false;
        return true;
    }
    it->scn = n;
    return false;
}

/* Symbol i of the current section, when it is a function: defined, at a
 * non-zero value, STT_FUNC or STT_GNU_IFUNC (*out is set only then).  Its
 * name is not checked: see cg_sym_name.  *local: its binding is
 * STB_LOCAL. */
static inline bool cg_sym_at(const struct cg_sym_iter *it, size_t i, struct cg_sym *out,
                             bool *local)
{
    /* Field by field from the bytes (a file promises no alignment), the
     * type first: most symbols stop there.  (A copy of the whole Elf64_Sym
     * to the stack made GCC reload it in pieces, stalling on store
     * forwarding: libc's table loaded 20% slower.) */
    const unsigned char *p = it->at + i * sizeof(Elf64_Sym);
    unsigned char info = p[offsetof(Elf64_Sym, st_info)];
    unsigned type = ELF64_ST_TYPE(info);
    *local = ELF64_ST_BIND(info) == STB_LOCAL;
    if (type != STT_FUNC && type != STT_GNU_IFUNC)
        return false;
    Elf64_Section shndx;
    memcpy(&shndx, p + offsetof(Elf64_Sym, st_shndx), sizeof(shndx));
    memcpy(&out->start, p + offsetof(Elf64_Sym, st_value), sizeof(out->start));
    memcpy(&out->size, p + offsetof(Elf64_Sym, st_size), sizeof(out->size));
    memcpy(&out->name, p + offsetof(Elf64_Sym, st_name), sizeof(out->name));
    return shndx != SHN_UNDEF && out->start != 0;
}

/* The next function symbol (cg_sym_at) in the table's order: sections in
 * file order, each section's non-local symbols in index order, then its
 * local ones.  False at the end.  (cg_sym_order gives the same order.) */
static inline bool cg_sym_next(struct cg_sym_iter *it, struct cg_sym *out)
{
    for (;;) {
        if (!it->at || it->i == it->count) {
            if (it->at && !it->locals) {
                it->locals = true;
                it->i = 0;
            } else if (!cg_sym_iter_section(it)) {
                return false;
            }
            continue;
        }
        bool local;
        if (cg_sym_at(it, it->i++, out, &local) && local == it->locals)
            return true;
    }
}

/* A number that sorts symbols in cg_sym_next's order: symbol i of the
 * section-th symbol section (counted from 0), local or not. */
static inline uint64_t cg_sym_order(uint32_t section, bool local, size_t i)
{
    return (uint64_t)section << 40 | (uint64_t)local << 39 | (uint64_t)i;
}

/* The symbol's name in the file, or NULL when it has none (such a symbol
 * is not in the table).  Borrowed from the file's bytes. */
static inline const char *cg_sym_name(const struct cg_sym_iter *it, const struct cg_sym *s)
{
    if (s->name >= it->strs_size) /* also when there is no table: size 0 */
        return NULL;
    const char *name = it->strs + s->name;
    return *name ? name : NULL;
}

/* The length of a name without its symbol version: a .symtab names a
 * versioned symbol "name@VERSION" or "name@@VERSION" (glibc since 2.34);
 * the version is not part of the function's name. */
static inline size_t cg_sym_name_length(const char *name)
{
    const char *at = strchr(name, '@');
    return at && at != name ? (size_t)(at - name) : strlen(name);
}

static inline size_t cg_sym_leading_underscores(const char *name)
{
    size_t n = 0;
    while (name[n] == '_')
        n++;
    return n;
}

/* Of two symbols at one address, x seen first (cg_sym_next's order), is y
 * the better name?  The larger (an alias that covers the whole function),
 * then the one with fewer leading underscores (nanosleep, not __nanosleep
 * or __libc_nanosleep); else x, the first seen. */
static inline bool cg_sym_better_alias(uint64_t x_size, const char *x_name, uint64_t y_size,
                                       const char *y_name)
{
    if (y_size != x_size)
        return y_size > x_size;
    return cg_sym_leading_underscores(y_name) < cg_sym_leading_underscores(x_name);
}

/* Does the symbol (start, size) cover vaddr?  A symbol of size 0 covers
 * its start only. */
static inline bool cg_sym_covers(uint64_t start, uint64_t size, uint64_t vaddr)
{
    return start <= vaddr && vaddr < start + (size ? size : 1);
}

/* True when the file has a SHT_SYMTAB section. */
bool cg_elf_has_symtab(const struct cg_elf_file *file);

/* The separate debug file of `file`, found by its build ID under the
 * debug root (/usr/lib/debug/.build-id/xx/yyyy.debug), opened read-only;
 * -1 when there is none.  The path goes to path_out (size bytes) for
 * logging. */
int cg_elf_debug_open(const struct cg_elf_file *file, const struct cg_elf_symtab_options *opts,
                      char *path_out, size_t size);

#endif
