/*
 * elf_sections.h - where an ELF file's PLT sections lie, from its section
 * headers.
 *
 * For the unwinder (core/sample/plt_unwind.h): the PLT's own CFI is a
 * DWARF expression that libunwind's fast trace cannot use, so the agent
 * describes the PLT to libunwind itself, and needs to know where it is.
 *
 * Owns: nothing beyond the call (the file is closed before returning;
 * registered rules live in core/sample/jit_unwind.c's table).
 * Thread safety: reentrant.
 * Signal safety: none (files, mmap, allocation, the loader's lock).
 */
#ifndef CG_ELF_SECTIONS_H
#define CG_ELF_SECTIONS_H

#include <stddef.h>
#include <stdint.h>

struct cg_elf_section {
    uint64_t addr;    /* sh_addr: add the object's load bias */
    uint64_t size;    /* sh_size in bytes */
    uint64_t entsize; /* sh_entsize: one PLT entry's bytes (0 when unset) */
};

/* Fills `out` with the executable sections named .plt, .plt.sec and
 * .plt.got of the ELF file at `path` (borrowed).  Returns how many were
 * written (at most `max`); 0 when the file cannot be read or has none. */
size_t cg_elf_plt_sections(const char *path, struct cg_elf_section *out, size_t max);

/* Describes to libunwind the PLT sections of the loaded object holding
 * `pc` (the executable's through /proc/self/exe), so that samples
 * interrupted in a PLT entry stay on libunwind's fast trace.  Call before
 * the threads that run the object are sampled: libunwind's per-thread
 * trace cache remembers "cannot trace here" for PCs it has already seen.
 * Returns the number of sections registered. */
size_t cg_elf_plt_describe(const void *pc);

/* The path through which the running executable can be opened or read
 * with readlink: /proc/thread-self/exe, which still answers once the main
 * thread has ended (/proc/self/... then names a zombie with no memory
 * map), else /proc/self/exe (kernels before 3.17). */
const char *cg_elf_self_exe(void);

#endif
