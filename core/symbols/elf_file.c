/*
 * elf_file.c - an ELF64 file's section headers, bytes, strings and notes,
 * checked against the file's size (the agent's replacement for libelf).
 *
 * DESIGN: a view is the file's bytes (a private read-only mapping of the
 * whole file, or a caller's image) plus the three numbers of its section
 * table, checked once when the view is made: where it starts, how many
 * headers it has, which section names the others.  Each accessor then
 * copies the header it needs out of the bytes (memcpy: a file gives no
 * alignment) and checks what that header says (offset and size inside
 * the file, a string table ending in NUL, a note inside its section)
 * before pointing into the bytes.  Mapping, as libelf's ELF_C_READ_MMAP
 * did, touches only the pages read: the headers, the symbol and string
 * tables, the notes; a 100 MB debug file costs no copy.
 *
 * What it won't do: convert byte order or read ELF32 (every object of a
 * 64-bit process is ELF64 of its own byte order, and so are their debug
 * files), read program headers, decompress SHF_COMPRESSED sections (the
 * sections read here are never compressed), write, or keep the file
 * descriptor.
 */
#include "core/symbols/elf_file.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define CG_ELF_NATIVE_DATA ELFDATA2LSB
#else
#define CG_ELF_NATIVE_DATA ELFDATA2MSB
#endif

struct cg_elf_file {
    const unsigned char *bytes; /* the whole file */
    size_t size;
    bool mapped;     /* bytes is our mapping of size bytes: unmap on free */
    uint64_t shoff;  /* the section table: shnum headers of Elf64_Shdr at shoff */
    size_t shnum;    /* 0: no section table */
    size_t shstrndx; /* the section names' table; may be out of range (then no names) */
};

/* Is [off, off + len) inside the file?  Without overflow for any inputs. */
static bool in_file(const struct cg_elf_file *f, uint64_t off, uint64_t len)
{
    return off <= f->size && len <= f->size - off;
}

/* Is the identification one this reader reads?  Checked before a file
 * is mapped, so that no other file ever is. */
static bool ident_ok(const Elf64_Ehdr *eh)
{
    return memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
           eh->e_ident[EI_DATA] == CG_ELF_NATIVE_DATA && eh->e_ident[EI_VERSION] == EV_CURRENT;
}

/* Reads the section table's place from the header of f's bytes.  False
 * when the file cannot be read as ELF64. */
static bool read_header(struct cg_elf_file *f)
{
    Elf64_Ehdr eh;
    if (f->size < sizeof(eh))
        return false;
    memcpy(&eh, f->bytes, sizeof(eh));
    if (!ident_ok(&eh))
        return false;
    f->shoff = eh.e_shoff;
    f->shnum = 0;
    f->shstrndx = eh.e_shstrndx;
    if (eh.e_shoff == 0)
        return true; /* no section table: nothing to read, not an error */
    if (eh.e_shentsize != sizeof(Elf64_Shdr) || !in_file(f, eh.e_shoff, sizeof(Elf64_Shdr)))
        return false;
    /* Extended numbering (gABI): past SHN_LORESERVE sections, e_shnum is
     * 0 and e_shstrndx SHN_XINDEX, and section 0 holds the real values. */
    Elf64_Shdr zero;
    memcpy(&zero, f->bytes + eh.e_shoff, sizeof(zero));
    uint64_t shnum = eh.e_shnum ? eh.e_shnum : zero.sh_size;
    if (eh.e_shstrndx == SHN_XINDEX)
        f->shstrndx = zero.sh_link;
    if (shnum > (f->size - eh.e_shoff) / sizeof(Elf64_Shdr))
        return false; /* the table runs past the end of the file */
    f->shnum = (size_t)shnum;
    return true;
}

struct cg_elf_file *cg_elf_file_new_mem(const void *image, size_t len)
{
    struct cg_elf_file *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->bytes = image;
    f->size = len;
    if (!image || !read_header(f)) {
        free(f);
        return NULL;
    }
    return f;
}

struct cg_elf_file *cg_elf_file_new(int fd)
{
    struct stat st;
    Elf64_Ehdr eh;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(eh) ||
        (uint64_t)st.st_size > SIZE_MAX ||
        pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) || !ident_ok(&eh))
        return NULL;
    struct cg_elf_file *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->size = (size_t)st.st_size;
    void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        free(f);
        return NULL;
    }
    f->bytes = m;
    f->mapped = true;
    if (!read_header(f)) {
        cg_elf_file_free(f);
        return NULL;
    }
    return f;
}

void cg_elf_file_free(struct cg_elf_file *f)
{
    if (!f)
        return;
    if (f->mapped)
        munmap((void *)f->bytes, f->size);
    free(f);
}

size_t cg_elf_file_section_count(const struct cg_elf_file *f)
{
    return f->shnum;
}

bool cg_elf_file_section(const struct cg_elf_file *f, size_t i, Elf64_Shdr *out)
{
    if (i >= f->shnum)
        return false;
    memcpy(out, f->bytes + f->shoff + i * sizeof(*out), sizeof(*out)); /* checked: read_header */
    return true;
}

/* The bytes of a section whose header is sh. */
static const unsigned char *data_of(const struct cg_elf_file *f, const Elf64_Shdr *sh,
                                    size_t *size)
{
    *size = 0;
    if (sh->sh_type == SHT_NOBITS || sh->sh_size == 0 || !in_file(f, sh->sh_offset, sh->sh_size))
        return NULL;
    *size = (size_t)sh->sh_size;
    return f->bytes + sh->sh_offset;
}

const unsigned char *cg_elf_file_section_data(const struct cg_elf_file *f, size_t i,
                                              size_t *size)
{
    Elf64_Shdr sh;
    *size = 0;
    return cg_elf_file_section(f, i, &sh) ? data_of(f, &sh, size) : NULL;
}

const char *cg_elf_file_strtab(const struct cg_elf_file *f, size_t i, size_t *size)
{
    Elf64_Shdr sh;
    *size = 0;
    if (!cg_elf_file_section(f, i, &sh) || sh.sh_type != SHT_STRTAB)
        return NULL;
    size_t n;
    const unsigned char *d = data_of(f, &sh, &n);
    /* A table ending in NUL ends every string in it: one byte to check,
     * however many names are read. */
    if (!d || d[n - 1] != '\0')
        return NULL;
    *size = n;
    return (const char *)d;
}

const char *cg_elf_file_string(const struct cg_elf_file *f, size_t strtab, uint64_t off)
{
    size_t size;
    const char *d = cg_elf_file_strtab(f, strtab, &size);
    return d && off < size ? d + off : NULL;
}

const char *cg_elf_file_section_name(const struct cg_elf_file *f, size_t i)
{
    Elf64_Shdr sh;
    if (!cg_elf_file_section(f, i, &sh))
        return NULL;
    return cg_elf_file_string(f, f->shstrndx, sh.sh_name);
}

/* n rounded up to a multiple of align (4 or 8), in 64 bits: no wrap for
 * any 32-bit n. */
static uint64_t round_up(uint64_t n, uint64_t align)
{
    return (n + align - 1) & ~(align - 1);
}

bool cg_elf_file_note(const struct cg_elf_file *f, size_t i, size_t *offset,
                      struct cg_elf_note *out)
{
    Elf64_Shdr sh;
    size_t size;
    if (!cg_elf_file_section(f, i, &sh) || sh.sh_type != SHT_NOTE)
        return false;
    const unsigned char *d = data_of(f, &sh, &size);
    uint64_t align = sh.sh_addralign == 8 ? 8 : 4;
    Elf64_Nhdr nh;
    uint64_t at = *offset;
    if (!d || at > size || size - at < sizeof(nh))
        return false;
    memcpy(&nh, d + at, sizeof(nh));
    /* The name follows the header (a multiple of 4 from a 4-aligned
     * note); the descriptor and the next note start aligned. */
    uint64_t name_at = at + sizeof(nh);
    uint64_t desc_at = round_up(name_at + nh.n_namesz, align);
    uint64_t next = round_up(desc_at + nh.n_descsz, align);
    if (next > size) /* as libelf: the last note's padding must be there too */
        return false;
    *out = (struct cg_elf_note){nh.n_type, (const char *)d + name_at, nh.n_namesz,
                                d + desc_at, nh.n_descsz};
    *offset = (size_t)next;
    return true;
}
