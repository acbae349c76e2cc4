/*
 * elf_file.h - a read-only view of one ELF64 file of this machine's byte
 * order: its section headers, section bytes, string tables and notes.
 *
 * The agent's own reader, in place of libelf: what the symbol tables
 * (elf_symtab.c, elf_symtab_find.c) and the PLT finder (elf_sections.c)
 * need, and nothing else.  Every file is untrusted (a library, a debug
 * file, something that only looks like one): a file that is not ELF64 of
 * this byte order, is truncated before its section table, or whose
 * section table does not fit is not opened (NULL); a section whose bytes
 * lie outside the file has no bytes; a string outside its table, in a
 * section that is not a string table, or in a table that does not end in
 * NUL is NULL.  Nothing is allocated but the view itself; nothing read
 * from the file decides a size that is not checked against the file's.
 *
 * Owns: the view owns its mapping of a file (cg_elf_file_new), not the
 * file descriptor, and borrows an image in memory (cg_elf_file_new_mem).
 * Everything it returns points into the file's bytes: valid until
 * cg_elf_file_free.
 * Thread safety: a view is read-only once made and may be shared; making
 * and freeing are reentrant.
 * Signal safety: none (mmap, allocation).
 */
#ifndef CG_ELF_FILE_H
#define CG_ELF_FILE_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cg_elf_file;

/* A view of the ELF file open on fd (the caller opens it, O_CLOEXEC, and
 * may close it once this returns: the view maps the file private and
 * read-only).  NULL when fd is not a regular file or its contents are not
 * a readable ELF64 file (see above). */
struct cg_elf_file *cg_elf_file_new(int fd);

/* The same over an image in memory (the vDSO's copy), borrowed: it must
 * outlive the view and not change. */
struct cg_elf_file *cg_elf_file_new_mem(const void *image, size_t len);

/* Frees the view (and unmaps the file).  NULL is fine. */
void cg_elf_file_free(struct cg_elf_file *f);

/* The number of sections, the null section 0 included (extended
 * numbering, e_shnum 0, is followed); 0 when the file has no section
 * table. */
size_t cg_elf_file_section_count(const struct cg_elf_file *f);

/* Copies section i's header to *out.  False when i is past the count. */
bool cg_elf_file_section(const struct cg_elf_file *f, size_t i, Elf64_Shdr *out);

/* Section i's name from the section name table (e_shstrndx, extended
 * numbering followed), or NULL when it has none that can be read. */
const char *cg_elf_file_section_name(const struct cg_elf_file *f, size_t i);

/* Section i's bytes and, in *size, their number: NULL (and 0) for a
 * SHT_NOBITS or empty section, an index past the count, or bytes not
 * inside the file.  No alignment is promised: copy multi-byte fields out
 * (memcpy) before reading them. */
const unsigned char *cg_elf_file_section_data(const struct cg_elf_file *f, size_t i,
                                              size_t *size);

/* String table section i's bytes, their number in *size: NULL (and 0)
 * unless it is a SHT_STRTAB whose bytes are in the file and end in NUL.
 * Any offset below *size then starts a NUL-terminated string: a caller
 * reading many names checks the table once, then each offset. */
const char *cg_elf_file_strtab(const struct cg_elf_file *f, size_t i, size_t *size);

/* The NUL-terminated string at offset `off` of string table section
 * `strtab` (a symbol table's sh_link), or NULL: not a SHT_STRTAB, off
 * past its end, or the table does not end in NUL. */
const char *cg_elf_file_string(const struct cg_elf_file *f, size_t strtab, uint64_t off);

/* One note of a SHT_NOTE section. */
struct cg_elf_note {
    uint32_t type;             /* n_type, e.g. NT_GNU_BUILD_ID */
    const char *name;          /* n_namesz bytes ("GNU" and its NUL); not checked for NUL */
    uint32_t name_size;
    const unsigned char *desc; /* n_descsz bytes */
    uint32_t desc_size;
};

/* The note at *offset (start at 0) of SHT_NOTE section i, advancing
 * *offset past it.  Name and descriptor are padded to the section's
 * alignment: 8 when sh_addralign is 8 (GNU property notes), else 4.
 * False at the end, or at a note that does not fit the section (no more
 * notes are read from it then). */
bool cg_elf_file_note(const struct cg_elf_file *f, size_t i, size_t *offset,
                      struct cg_elf_note *out);

#endif
