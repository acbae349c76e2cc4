/*
 * elf_sections.c - PLT sections of an ELF file (read by elf_file.c).
 *
 * DESIGN: opens the file, walks the section headers once and keeps the
 * executable PROGBITS sections whose names are the linkers' PLT names.
 * Only the headers and .shstrtab are read (elf_file.c maps the file and
 * touches those pages only).  What it won't do: look at the
 * sections' bytes (the caller reads the loaded copy) or at any other
 * section.
 */
#include "core/symbols/elf_sections.h"

#include "core/base/log.h"
#include "core/sample/jit_unwind.h"
#include "core/sample/plt_unwind.h"
#include "core/symbols/dynsym.h"
#include "core/symbols/elf_file.h"

#include <fcntl.h>
#include <link.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static int is_plt_name(const char *name)
{
    return name && (strcmp(name, ".plt") == 0 || strcmp(name, ".plt.sec") == 0 ||
                    strcmp(name, ".plt.got") == 0);
}

size_t cg_elf_plt_sections(const char *path, struct cg_elf_section *out, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct cg_elf_file *file = cg_elf_file_new(fd);
    close(fd);
    size_t n = 0;
    Elf64_Shdr sh;
    for (size_t i = 1; file && n < max && cg_elf_file_section(file, i, &sh); i++) {
        if (sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR) || !sh.sh_size)
            continue;
        if (!is_plt_name(cg_elf_file_section_name(file, i)))
            continue;
        out[n++] = (struct cg_elf_section){sh.sh_addr, sh.sh_size, sh.sh_entsize};
    }
    cg_elf_file_free(file);
    return n;
}

/* The loaded object holding one address: its file, bias and executable
 * segments. */
struct code_object {
    uintptr_t pc;
    char path[512];
    uintptr_t bias;
    struct cg_code_range exec[4];
    size_t n_exec;
};

static int find_code_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct code_object *o = data;
    bool hit = false;
    o->n_exec = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (o->pc >= lo && o->pc < hi)
            hit = true;
        if (o->n_exec < sizeof(o->exec) / sizeof(o->exec[0]))
            o->exec[o->n_exec++] = (struct cg_code_range){lo, hi};
    }
    if (!hit)
        return 0;
    /* The executable's name is "": read it through /proc. */
    const char *name = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : cg_elf_self_exe();
    if (strlen(name) >= sizeof(o->path))
        return -1;
    strcpy(o->path, name);
    o->bias = info->dlpi_addr;
    return 1;
}

const char *cg_elf_self_exe(void)
{
    return access("/proc/thread-self/exe", F_OK) == 0 ? "/proc/thread-self/exe" : "/proc/self/exe";
}

static bool in_exec_segment(const struct code_object *o, uintptr_t lo, uintptr_t hi)
{
    for (size_t i = 0; i < o->n_exec; i++)
        if (lo >= o->exec[i].start && hi <= o->exec[i].end)
            return true;
    return false;
}

size_t cg_elf_plt_describe(const void *pc)
{
    struct code_object o;
    memset(&o, 0, sizeof(o));
    o.pc = (uintptr_t)pc;
    if (dl_iterate_phdr(find_code_object, &o) != 1)
        return 0;
    struct cg_elf_section secs[4];
    size_t n = cg_elf_plt_sections(o.path, secs, sizeof(secs) / sizeof(secs[0]));
    size_t registered = 0;
    for (size_t i = 0; i < n; i++) {
        uintptr_t lo = o.bias + (uintptr_t)secs[i].addr, hi = lo + (uintptr_t)secs[i].size;
        struct cg_tramp_layout l;
        size_t first;
        if (hi <= lo || !in_exec_segment(&o, lo, hi) ||
            !cg_plt_layout_recognise((const uint8_t *)lo, hi - lo, secs[i].entsize, &first, &l)) {
            CG_DEBUG("PLT section at %#lx of %s not described (unknown layout)",
                     (unsigned long)lo, o.path);
            continue;
        }
        if (cg_jit_unwind_register(lo + first, hi - lo - first, &l) == 0)
            registered++;
    }
    CG_DEBUG("%zu PLT section(s) of %s described to the unwinder", registered, o.path);
    return registered;
}
