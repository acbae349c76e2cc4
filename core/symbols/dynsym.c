/*
 * dynsym.c - exported functions' ranges from a loaded object's dynamic
 * symbol table.
 *
 * DESIGN: the object is found with dl_iterate_phdr; its PT_DYNAMIC gives
 * DT_SYMTAB, DT_STRTAB and DT_GNU_HASH (glibc relocates those entries in
 * place on most architectures; an entry below the load address is taken as
 * unrelocated and the address added).  Each name is then one GNU hash
 * lookup: its bucket, then the chain until the end-of-chain bit, comparing
 * the hash first and the string only on a match.  Every symbol of the name
 * in the chain is kept, so each version of a versioned function
 * (pthread_sigmask@GLIBC_2.2.5 and @@GLIBC_2.32) is covered.  What it won't
 * do: read files, or objects that have only the old SysV DT_HASH.
 */
#include "core/symbols/dynsym.h"

#include <elf.h>
#include <link.h>
#include <string.h>

struct find {
    const char *object;
    const ElfW(Sym) *symtab;
    const char *strtab;
    const uint32_t *gnu_hash;
    uintptr_t bias;
};

static uintptr_t dyn_addr(ElfW(Addr) ptr, uintptr_t bias)
{
    return ptr < bias ? bias + ptr : ptr;
}

static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct find *f = data;
    if (!info->dlpi_name || !strstr(info->dlpi_name, f->object))
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_DYNAMIC)
            continue;
        const ElfW(Dyn) *d = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
        for (; d->d_tag != DT_NULL; d++) {
            if (d->d_tag == DT_SYMTAB)
                f->symtab = (const ElfW(Sym) *)dyn_addr(d->d_un.d_ptr, info->dlpi_addr);
            else if (d->d_tag == DT_STRTAB)
                f->strtab = (const char *)dyn_addr(d->d_un.d_ptr, info->dlpi_addr);
            else if (d->d_tag == DT_GNU_HASH)
                f->gnu_hash = (const uint32_t *)dyn_addr(d->d_un.d_ptr, info->dlpi_addr);
        }
        f->bias = info->dlpi_addr;
        return 1;
    }
    return 1; /* found the object, but it has no dynamic section */
}

static uint32_t gnu_hash_of(const char *name)
{
    uint32_t h = 5381;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = h * 33 + *p;
    return h;
}

size_t cg_dynsym_ranges(const char *object, const char *const *names, size_t n_names,
                        struct cg_code_range *out, size_t max)
{
    struct find f = {object, NULL, NULL, NULL, 0};
    dl_iterate_phdr(find_object, &f);
    if (!f.symtab || !f.strtab || !f.gnu_hash)
        return 0;
    /* Header: nbuckets, symoffset, bloom words, bloom shift; then the bloom
     * filter (ElfW(Addr) words), the buckets and the chains. */
    uint32_t nbuckets = f.gnu_hash[0], symoffset = f.gnu_hash[1], bloom_words = f.gnu_hash[2];
    if (nbuckets == 0)
        return 0;
    const uint32_t *buckets =
        (const uint32_t *)((const char *)(f.gnu_hash + 4) + bloom_words * sizeof(ElfW(Addr)));
    const uint32_t *chains = buckets + nbuckets;
    size_t n = 0;
    for (size_t k = 0; k < n_names && n < max; k++) {
        uint32_t h = gnu_hash_of(names[k]);
        uint32_t i = buckets[h % nbuckets];
        if (i < symoffset)
            continue; /* empty bucket */
        for (;; i++) {
            uint32_t ch = chains[i - symoffset];
            const ElfW(Sym) *sym = &f.symtab[i];
            if ((ch | 1) == (h | 1) && strcmp(f.strtab + sym->st_name, names[k]) == 0 &&
                sym->st_shndx != SHN_UNDEF && sym->st_size > 0 &&
                ELF64_ST_TYPE(sym->st_info) != STT_GNU_IFUNC && n < max) {
                out[n].start = f.bias + sym->st_value;
                out[n].end = out[n].start + sym->st_size;
                n++;
            }
            if (ch & 1)
                break;
        }
    }
    return n;
}
