/*
 * elf_symtab.h - the function symbols of one ELF object, for address
 * lookup.
 *
 * Reads STT_FUNC and STT_GNU_IFUNC symbols from .symtab (static functions
 * included) and .dynsym (read by core/symbols/elf_file.h); when the file
 * has no .symtab, the separate debug file
 * /usr/lib/debug/.build-id/XX/REST.debug is tried.
 * Lookups respect symbol sizes: an address past the end of a symbol is
 * not that symbol (stripped libraries have internal functions between
 * their exports).
 *
 * cg_elf_symtab_find answers a few addresses in one go without loading
 * the table, with the same answers.
 *
 * Owns: the table owns its names.
 * Thread safety: a loaded table is read-only and may be shared; loading
 * is reentrant (the agent thread; the constructor's Go check).
 * Signal safety: none (files, mmap, allocation).
 */
#ifndef CG_ELF_SYMTAB_H
#define CG_ELF_SYMTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cg_elf_symtab;

struct cg_elf_symtab_options {
    const char *debug_root; /* NULL: "/usr/lib/debug" */
};

/* Loads the symbols of the file at `path`.  NULL when the file cannot be
 * read as ELF (not logged above debug: missing files are normal). */
struct cg_elf_symtab *cg_elf_symtab_load(const char *path, const struct cg_elf_symtab_options *opts);

/* The same from an ELF image in memory (the vDSO).  The image is read
 * during the call only. */
struct cg_elf_symtab *cg_elf_symtab_load_mem(const void *image, size_t len);

void cg_elf_symtab_free(struct cg_elf_symtab *t);

/* True when the ELF file at `path` has a section called `name` (e.g. Go's
 * ".go.buildinfo").  Reads only the section headers. */
bool cg_elf_has_section(const char *path, const char *name);

/* The GNU build id (NT_GNU_BUILD_ID) of the ELF file at `path` as
 * lower-case hex into out (2 bytes per id byte + NUL; 129 holds any).
 * Returns 0, or CG_ENOTFOUND when the file is not ELF or has none. */
int cg_elf_build_id(const char *path, char *out, size_t size);

/* The raw (mangled) name of the function containing `vaddr` (an ELF
 * virtual address: runtime address minus load bias) and its start.
 * Returns 0, or CG_ENOTFOUND. */
int cg_elf_symtab_lookup(const struct cg_elf_symtab *t, uint64_t vaddr, const char **name_out,
                         uint64_t *start_out);

/* One address's answer from cg_elf_symtab_find. */
struct cg_elf_symtab_hit {
    const char *name; /* raw name, as cg_elf_symtab_lookup gives it; NULL: none */
    uint64_t start;
};

/* For each of the n addresses vaddrs[i], out[i] is what
 * cg_elf_symtab_lookup would answer on cg_elf_symtab_load(path, opts)
 * (name NULL where it would answer CG_ENOTFOUND), found in two passes over
 * the file's symbols without building, sorting or copying the table:
 * for a few addresses, a third of a load (up to 64 addresses of
 * libpython or libc: 0.18-0.22 ms against 0.6 ms, fresh process); it
 * grows with the addresses (3,000: more than a load).  The names point
 * into *names_out (malloc'd;
 * the caller frees it; NULL when no name was found).  Returns 0,
 * CG_ENOTFOUND when the file cannot be read as ELF (load gives NULL), or
 * CG_ENOMEM. */
int cg_elf_symtab_find(const char *path, const struct cg_elf_symtab_options *opts,
                       const uint64_t *vaddrs, size_t n, struct cg_elf_symtab_hit *out,
                       char **names_out);

size_t cg_elf_symtab_count(const struct cg_elf_symtab *t);
size_t cg_elf_symtab_bytes(const struct cg_elf_symtab *t);

#endif
