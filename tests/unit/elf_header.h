/*
 * elf_header.h - the ELF64 header of a synthetic shared object, for the
 * unit tests that build ELF images in memory (elf_file_malformed_test.c,
 * elf_symtab_find_rules_test.c, elf_symtab_order_test.c).
 *
 * Owns: nothing.
 * Thread safety: reentrant.
 * Signal safety: not applicable (tests).
 */
#ifndef CG_TEST_ELF_HEADER_H
#define CG_TEST_ELF_HEADER_H

#include <elf.h>
#include <stdint.h>
#include <string.h>

/* Fills *eh as a little-endian ELF64 x86-64 shared object whose `shnum`
 * section headers start at `shoff`, section names in section `shstrndx`. */
static inline void test_elf_header(Elf64_Ehdr *eh, uint64_t shoff, uint16_t shnum,
                                   uint16_t shstrndx)
{
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = ET_DYN;
    eh->e_machine = EM_X86_64;
    eh->e_version = EV_CURRENT;
    eh->e_ehsize = sizeof(Elf64_Ehdr);
    eh->e_shoff = shoff;
    eh->e_shentsize = sizeof(Elf64_Shdr);
    eh->e_shnum = shnum;
    eh->e_shstrndx = shstrndx;
}

#endif
