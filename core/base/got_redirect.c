/*
 * got_redirect.c - one library's imports of a function, pointed at ours
 * (got_redirect.h).
 *
 * DESIGN: the loader has already done the work: every relocation of the
 * library that names an imported function (JUMP_SLOT for its calls,
 * GLOB_DAT for its address) says which slot of the library's GOT holds
 * that function's address.  The tables are read from the library's
 * dynamic section as the loader left it, the slots found by symbol name,
 * and each is written with one aligned store.  With BIND_NOW and RELRO
 * (Debian builds libcurl so) those slots sit in pages the loader made
 * read-only after relocation: they are made writable for the store and
 * read-only again, exactly the pages glibc protected (_dl_protect_relro's
 * rounding).  mprotect by system call: the agent defines mprotect itself
 * (preload/python.c), and this has nothing to tell it.
 *
 * What it won't do: touch any other library, the program, or a symbol the
 * library defines itself; or rewrite anything on an architecture whose
 * relocation types it does not know.
 */
#include "core/base/got_redirect.h"

#include "core/base/error.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SLOT_CALL R_X86_64_JUMP_SLOT
#define SLOT_ADDR R_X86_64_GLOB_DAT
#elif defined(__aarch64__)
#define SLOT_CALL R_AARCH64_JUMP_SLOT
#define SLOT_ADDR R_AARCH64_GLOB_DAT
#endif

/* What the library's dynamic section says, as addresses. */
struct tables {
    uintptr_t base; /* the load bias, link_map l_addr */
    const ElfW(Sym) *symtab;
    const char *strtab;
    size_t strsz;
    const ElfW(Rela) *rela[2]; /* DT_JMPREL, DT_RELA */
    size_t rela_bytes[2];
};

/* The read-only-after-relocation pages: [start, end), empty if none. */
struct relro {
    const ElfW(Dyn) *dynamic; /* which object to look for */
    uintptr_t start, end;
    bool found;
};

/* glibc rebases the table addresses in a writable dynamic section in
 * place; where the section is read-only they stay offsets, and an offset
 * is below the load address of any library dlopen maps. */
static uintptr_t rebase(uintptr_t base, ElfW(Addr) value)
{
    return value < base ? base + value : value;
}

static bool read_tables(const struct link_map *lm, struct tables *t)
{
    memset(t, 0, sizeof(*t));
    t->base = lm->l_addr;
    bool rela_plt = false;
    for (const ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_SYMTAB:
            t->symtab = (const ElfW(Sym) *)rebase(t->base, d->d_un.d_ptr);
            break;
        case DT_STRTAB:
            t->strtab = (const char *)rebase(t->base, d->d_un.d_ptr);
            break;
        case DT_STRSZ:
            t->strsz = d->d_un.d_val;
            break;
        case DT_JMPREL:
            t->rela[0] = (const ElfW(Rela) *)rebase(t->base, d->d_un.d_ptr);
            break;
        case DT_PLTRELSZ:
            t->rela_bytes[0] = d->d_un.d_val;
            break;
        case DT_PLTREL:
            rela_plt = d->d_un.d_val == DT_RELA;
            break;
        case DT_RELA:
            t->rela[1] = (const ElfW(Rela) *)rebase(t->base, d->d_un.d_ptr);
            break;
        case DT_RELASZ:
            t->rela_bytes[1] = d->d_un.d_val;
            break;
        default:
            break;
        }
    }
    if (!rela_plt)
        t->rela[0] = NULL; /* DT_REL, or no PLT: not this architecture's */
    return t->symtab && t->strtab && t->strsz && (t->rela[0] || t->rela[1]);
}

static int find_relro(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct relro *r = arg;
    const ElfW(Phdr) *dyn = NULL, *relro = NULL;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = &info->dlpi_phdr[i];
        else if (info->dlpi_phdr[i].p_type == PT_GNU_RELRO)
            relro = &info->dlpi_phdr[i];
    }
    if (!dyn || (const void *)(info->dlpi_addr + dyn->p_vaddr) != r->dynamic)
        return 0;
    r->found = true;
    if (relro) {
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t lo = info->dlpi_addr + relro->p_vaddr;
        r->start = lo & ~(page - 1);
        r->end = (lo + relro->p_memsz) & ~(page - 1);
    }
    return 1;
}

/* Stores fn in *slot, through a writable window if the page is RELRO. */
static int store(void **slot, void *fn, const struct relro *r)
{
    uintptr_t a = (uintptr_t)slot;
    if (a < r->start || a >= r->end) {
        __atomic_store_n(slot, fn, __ATOMIC_RELEASE);
        return 0;
    }
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    void *start = (void *)(a & ~(page - 1));
    if (syscall(SYS_mprotect, start, page, PROT_READ | PROT_WRITE) != 0)
        return -errno;
    __atomic_store_n(slot, fn, __ATOMIC_RELEASE);
    syscall(SYS_mprotect, start, page, PROT_READ);
    return 0;
}

int cg_got_redirect(void *dl_handle, const char *name, void *fn)
{
#ifndef SLOT_CALL
    (void)dl_handle;
    (void)name;
    (void)fn;
    return CG_ENOTFOUND;
#else
    struct link_map *lm = NULL;
    struct tables t;
    if (dlinfo(dl_handle, RTLD_DI_LINKMAP, &lm) != 0 || !lm || !read_tables(lm, &t))
        return CG_ENOTFOUND;
    struct relro r = {.dynamic = lm->l_ld};
    dl_iterate_phdr(find_relro, &r);
    if (!r.found)
        return CG_ENOTFOUND;
    int changed = 0;
    for (int k = 0; k < 2; k++) {
        size_t n = t.rela[k] ? t.rela_bytes[k] / sizeof(ElfW(Rela)) : 0;
        for (size_t i = 0; i < n; i++) {
            const ElfW(Rela) *rel = &t.rela[k][i];
            unsigned long type = ELF64_R_TYPE(rel->r_info);
            size_t sym = ELF64_R_SYM(rel->r_info);
            if ((type != SLOT_CALL && type != SLOT_ADDR) || sym == 0)
                continue;
            const ElfW(Sym) *s = &t.symtab[sym];
            if (s->st_shndx != SHN_UNDEF || s->st_name >= t.strsz ||
                strcmp(t.strtab + s->st_name, name) != 0)
                continue;
            int rc = store((void **)(t.base + rel->r_offset), fn, &r);
            if (rc != 0)
                return changed ? changed : rc;
            changed++;
        }
    }
    return changed;
#endif
}
