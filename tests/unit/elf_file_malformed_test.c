/*
 * elf_file_malformed_test.c - the agent's ELF64 reader
 * (core/symbols/elf_file.c) on a small image built here, whole and then
 * broken one way at a time: a zero-length, truncated or non-ELF file, a
 * section table past the end, offsets whose sums wrap, string tables
 * without their NUL, links and indexes to no section, notes larger than
 * their section.  Each broken file is refused, or the broken part alone
 * reads as nothing, with no read outside the image: images are malloc'd
 * to their exact size, so the sanitizer build sees one byte too far.
 * Real files: elf_file_readelf_test.c.
 */
#include "core/base/error.h"
#include "core/symbols/elf_file.h"
#include "core/symbols/elf_symtab.h"
#include "tests/unit/elf_header.h"

#include <elf.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

/* Sections of the image, in file order. */
enum { S_NULL, S_TEXT, S_SYMTAB, S_STRTAB, S_NOTE, S_SHSTRTAB, S_COUNT };

static const char STRTAB[] = "\0alpha\0beta"; /* sizeof: the last NUL too */
static const char SHSTRTAB[] = "\0.text\0.symtab\0.strtab\0.note.gnu.build-id\0.shstrtab";
static const unsigned char BUILD_ID[20] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6,
                                           7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

struct image {
    unsigned char *bytes; /* malloc'd to exactly len */
    size_t len;
    size_t shoff;
};

/* The image's section header i, to break. */
static Elf64_Shdr *shdr(struct image *im, size_t i)
{
    return (Elf64_Shdr *)(void *)(im->bytes + im->shoff + i * sizeof(Elf64_Shdr));
}

static Elf64_Ehdr *ehdr(struct image *im)
{
    return (Elf64_Ehdr *)(void *)im->bytes;
}

/* An ELF64 image: .text (NOBITS at 0x1000), .symtab with alpha (global,
 * 0x1000) and beta (local, 0x1010), .strtab, a build-id note, .shstrtab.
 * `pad` bytes before the symbols put them at an unaligned offset. */
static struct image build(size_t pad)
{
    Elf64_Sym syms[3] = {
        {0},
        {.st_name = 7, .st_info = ELF64_ST_INFO(STB_LOCAL, STT_FUNC), .st_shndx = S_TEXT,
         .st_value = 0x1010, .st_size = 0x20},
        {.st_name = 1, .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC), .st_shndx = S_TEXT,
         .st_value = 0x1000, .st_size = 0x10},
    };
    size_t note_len = sizeof(Elf64_Nhdr) + 4 + sizeof(BUILD_ID);
    size_t sym_off = sizeof(Elf64_Ehdr) + pad, str_off = sym_off + sizeof(syms);
    size_t note_off = (str_off + sizeof(STRTAB) + 3) & ~(size_t)3;
    size_t shstr_off = note_off + note_len;
    struct image im;
    im.shoff = (shstr_off + sizeof(SHSTRTAB) + 7) & ~(size_t)7;
    im.len = im.shoff + S_COUNT * sizeof(Elf64_Shdr);
    im.bytes = calloc(1, im.len);
    Elf64_Ehdr *eh = ehdr(&im);
    test_elf_header(eh, im.shoff, S_COUNT, S_SHSTRTAB);
    memcpy(im.bytes + sym_off, syms, sizeof(syms));
    memcpy(im.bytes + str_off, STRTAB, sizeof(STRTAB));
    Elf64_Nhdr nh = {4, sizeof(BUILD_ID), NT_GNU_BUILD_ID};
    memcpy(im.bytes + note_off, &nh, sizeof(nh));
    memcpy(im.bytes + note_off + sizeof(nh), "GNU", 4);
    memcpy(im.bytes + note_off + sizeof(nh) + 4, BUILD_ID, sizeof(BUILD_ID));
    memcpy(im.bytes + shstr_off, SHSTRTAB, sizeof(SHSTRTAB));
    *shdr(&im, S_TEXT) = (Elf64_Shdr){.sh_name = 1, .sh_type = SHT_NOBITS,
                                      .sh_flags = SHF_ALLOC | SHF_EXECINSTR, .sh_addr = 0x1000,
                                      .sh_size = 0x100, .sh_addralign = 16};
    *shdr(&im, S_SYMTAB) = (Elf64_Shdr){.sh_name = 7, .sh_type = SHT_SYMTAB,
                                        .sh_offset = sym_off, .sh_size = sizeof(syms),
                                        .sh_link = S_STRTAB, .sh_info = 2, .sh_addralign = 8,
                                        .sh_entsize = sizeof(Elf64_Sym)};
    *shdr(&im, S_STRTAB) = (Elf64_Shdr){.sh_name = 15, .sh_type = SHT_STRTAB,
                                        .sh_offset = str_off, .sh_size = sizeof(STRTAB),
                                        .sh_addralign = 1};
    *shdr(&im, S_NOTE) = (Elf64_Shdr){.sh_name = 23, .sh_type = SHT_NOTE, .sh_flags = SHF_ALLOC,
                                      .sh_offset = note_off, .sh_size = note_len,
                                      .sh_addralign = 4};
    *shdr(&im, S_SHSTRTAB) = (Elf64_Shdr){.sh_name = 42, .sh_type = SHT_STRTAB,
                                          .sh_offset = shstr_off, .sh_size = sizeof(SHSTRTAB),
                                          .sh_addralign = 1};
    return im;
}

/* The first `len` bytes of the image in a buffer of exactly that size. */
static unsigned char *exact(const struct image *im, size_t len)
{
    unsigned char *b = malloc(len ? len : 1);
    memcpy(b, im->bytes, len);
    return b;
}

/* The image's symbols as the table loads them: "" when none, else
 * "name@start" joined by spaces, for the addresses 0x1000 and 0x1010. */
static void symbols_of(const unsigned char *b, size_t len, char *out, size_t size)
{
    out[0] = '\0';
    struct cg_elf_symtab *t = cg_elf_symtab_load_mem(b, len);
    if (!t)
        return;
    static const uint64_t at[] = {0x1000, 0x1010};
    for (size_t i = 0; i < 2; i++) {
        const char *name;
        uint64_t start;
        if (cg_elf_symtab_lookup(t, at[i], &name, &start) == 0)
            snprintf(out + strlen(out), size - strlen(out), "%s%s@%llx", out[0] ? " " : "", name,
                     (unsigned long long)start);
    }
    cg_elf_symtab_free(t);
}

/* Opens the image (its first len bytes) from memory. */
static struct cg_elf_file *view(const struct image *im, size_t len, unsigned char **copy)
{
    *copy = exact(im, len);
    return cg_elf_file_new_mem(*copy, len);
}

static void the_built_image_reads_whole(void **state)
{
    (void)state;
    for (size_t pad = 0; pad < 8; pad += 3) { /* symbols aligned, then at odd offsets */
        struct image im = build(pad);
        unsigned char *b;
        struct cg_elf_file *f = view(&im, im.len, &b);
        assert_non_null(f);
        assert_int_equal(cg_elf_file_section_count(f), S_COUNT);
        assert_string_equal(cg_elf_file_section_name(f, S_NOTE), ".note.gnu.build-id");
        assert_string_equal(cg_elf_file_string(f, S_STRTAB, 7), "beta");
        size_t size;
        assert_null(cg_elf_file_section_data(f, S_TEXT, &size)); /* NOBITS: no bytes */
        assert_int_equal(size, 0);
        size_t off = 0;
        struct cg_elf_note n;
        assert_true(cg_elf_file_note(f, S_NOTE, &off, &n));
        assert_int_equal(n.type, NT_GNU_BUILD_ID);
        assert_int_equal(n.name_size, 4);
        assert_memory_equal(n.name, "GNU", 4);
        assert_int_equal(n.desc_size, sizeof(BUILD_ID));
        assert_memory_equal(n.desc, BUILD_ID, sizeof(BUILD_ID));
        assert_false(cg_elf_file_note(f, S_NOTE, &off, &n)); /* the end */
        assert_false(cg_elf_file_note(f, S_STRTAB, &(size_t){0}, &n)); /* not a note section */
        char syms[64];
        symbols_of(b, im.len, syms, sizeof(syms));
        assert_string_equal(syms, "alpha@1000 beta@1010");
        cg_elf_file_free(f);
        free(b);
        free(im.bytes);
    }
}

/* A file refused whole: the view is NULL from memory and from a file. */
static void refused(const struct image *im, size_t len)
{
    unsigned char *b;
    struct cg_elf_file *f = view(im, len, &b);
    assert_null(f);
    char syms[64];
    symbols_of(b, len, syms, sizeof(syms));
    assert_string_equal(syms, "");
    char path[] = "/tmp/cgagent-elf-file-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b, len), (ssize_t)len);
    assert_null(cg_elf_file_new(fd));
    close(fd);
    assert_null(cg_elf_symtab_load(path, NULL));
    assert_int_equal(cg_elf_build_id(path, syms, sizeof(syms)), CG_ENOTFOUND);
    assert_false(cg_elf_has_section(path, ".text"));
    unlink(path);
    free(b);
}

static void broken_headers_are_refused(void **state)
{
    (void)state;
    struct image im = build(0);
    refused(&im, 0);                      /* a zero-length file */
    refused(&im, sizeof(Elf64_Ehdr) - 1); /* a truncated header */
    refused(&im, im.len - 1);             /* the section table's last byte missing */
    static const struct {
        size_t at;
        unsigned char value;
    } ident[] = {
        {0, 0x7e},                     /* not \177ELF */
        {EI_CLASS, ELFCLASS32},        /* ELF32 */
        {EI_CLASS, 0},                 /* no class */
        {EI_DATA, ELFDATA2MSB},        /* the other byte order */
        {EI_VERSION, EV_CURRENT + 1},  /* an unknown version */
    };
    for (size_t i = 0; i < sizeof(ident) / sizeof(ident[0]); i++) {
        unsigned char was = im.bytes[ident[i].at];
        im.bytes[ident[i].at] = ident[i].value;
        refused(&im, im.len);
        im.bytes[ident[i].at] = was;
    }
    Elf64_Ehdr good = *ehdr(&im);
    ehdr(&im)->e_shentsize = sizeof(Elf64_Shdr) + 8; /* headers of another size */
    refused(&im, im.len);
    *ehdr(&im) = good;
    ehdr(&im)->e_shnum = S_COUNT + 1; /* the table past the end of the file */
    refused(&im, im.len);
    *ehdr(&im) = good;
    ehdr(&im)->e_shoff = im.len - 8; /* starts inside the file, ends outside */
    refused(&im, im.len);
    *ehdr(&im) = good;
    ehdr(&im)->e_shoff = UINT64_MAX - 16; /* offset + size wraps */
    refused(&im, im.len);
    *ehdr(&im) = good;
    ehdr(&im)->e_shnum = 0; /* extended numbering: section 0 says how many */
    shdr(&im, 0)->sh_size = UINT64_MAX / 2;
    refused(&im, im.len);
    free(im.bytes);
}

static void files_that_are_not_elf_are_refused(void **state)
{
    (void)state;
    static char script[] = "#!/bin/sh\necho a script, long enough to be taken for an ELF "
                           "header if nothing looked at its first bytes\n";
    struct image text = {(unsigned char *)script, sizeof(script), 0};
    assert_true(sizeof(script) > sizeof(Elf64_Ehdr));
    refused(&text, text.len);
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC); /* not a regular file */
    assert_null(cg_elf_file_new(fd));
    close(fd);
    fd = open("/tmp", O_RDONLY | O_CLOEXEC);
    assert_null(cg_elf_file_new(fd));
    close(fd);
    assert_null(cg_elf_file_new(-1));
    assert_null(cg_elf_file_new_mem(NULL, 100));
}

/* The image opens, but section i has no bytes and the symbols are `syms`. */
static void section_unreadable(struct image *im, size_t i, const char *syms)
{
    unsigned char *b;
    struct cg_elf_file *f = view(im, im->len, &b);
    assert_non_null(f);
    size_t size = 1;
    assert_null(cg_elf_file_section_data(f, i, &size));
    assert_int_equal(size, 0);
    char got[64];
    symbols_of(b, im->len, got, sizeof(got));
    assert_string_equal(got, syms);
    cg_elf_file_free(f);
    free(b);
}

static void a_section_outside_the_file_has_no_bytes(void **state)
{
    (void)state;
    struct image im = build(0);
    Elf64_Shdr good = *shdr(&im, S_SYMTAB);
    shdr(&im, S_SYMTAB)->sh_size = UINT64_MAX - 8; /* offset + size wraps */
    section_unreadable(&im, S_SYMTAB, "");
    *shdr(&im, S_SYMTAB) = good;
    shdr(&im, S_SYMTAB)->sh_offset = im.len + 1; /* starts past the end */
    section_unreadable(&im, S_SYMTAB, "");
    *shdr(&im, S_SYMTAB) = good;
    shdr(&im, S_SYMTAB)->sh_size = im.len; /* ends past the end */
    section_unreadable(&im, S_SYMTAB, "");
    /* Up to the file's last byte is inside; one more is not. */
    shdr(&im, S_SYMTAB)->sh_size = im.len - good.sh_offset;
    unsigned char *b;
    struct cg_elf_file *f = view(&im, im.len, &b);
    size_t size;
    assert_ptr_equal(cg_elf_file_section_data(f, S_SYMTAB, &size), b + good.sh_offset);
    assert_int_equal(size, im.len - good.sh_offset);
    cg_elf_file_free(f);
    free(b);
    shdr(&im, S_SYMTAB)->sh_size = im.len - good.sh_offset + 1;
    section_unreadable(&im, S_SYMTAB, "");
    *shdr(&im, S_SYMTAB) = good;
    shdr(&im, S_STRTAB)->sh_offset = UINT64_MAX; /* the names' table: no names, no symbols */
    section_unreadable(&im, S_STRTAB, "");
    free(im.bytes);
}

static void strings_need_a_string_table_ending_in_nul(void **state)
{
    (void)state;
    struct image im = build(0);
    unsigned char *b;
    struct cg_elf_file *f = view(&im, im.len, &b);
    assert_null(cg_elf_file_string(f, S_STRTAB, sizeof(STRTAB))); /* past the end */
    assert_null(cg_elf_file_string(f, S_STRTAB, UINT64_MAX));
    assert_null(cg_elf_file_string(f, S_SYMTAB, 1)); /* not a string table */
    assert_null(cg_elf_file_string(f, S_COUNT, 1));  /* no such section */
    assert_null(cg_elf_file_string(f, SIZE_MAX, 1));
    assert_null(cg_elf_file_section_name(f, S_COUNT));
    cg_elf_file_free(f);
    free(b);
    /* The names' table without its last NUL: no name at all, not even
     * "alpha", which has its own NUL (a table must end in one). */
    Elf64_Shdr good = *shdr(&im, S_STRTAB);
    shdr(&im, S_STRTAB)->sh_size -= 1;
    f = view(&im, im.len, &b);
    assert_null(cg_elf_file_string(f, S_STRTAB, 1));
    char syms[64];
    symbols_of(b, im.len, syms, sizeof(syms));
    assert_string_equal(syms, "");
    cg_elf_file_free(f);
    free(b);
    *shdr(&im, S_STRTAB) = good;
    /* The same for the section names: the file still reads, unnamed. */
    shdr(&im, S_SHSTRTAB)->sh_size -= 1;
    f = view(&im, im.len, &b);
    assert_non_null(f);
    assert_null(cg_elf_file_section_name(f, S_TEXT));
    symbols_of(b, im.len, syms, sizeof(syms));
    assert_string_equal(syms, "alpha@1000 beta@1010");
    cg_elf_file_free(f);
    free(b);
    free(im.bytes);
}

static void bad_links_and_indexes_read_as_nothing(void **state)
{
    (void)state;
    struct image im = build(0);
    char syms[64];
    /* A symbol table linked to no section, or to one that holds no strings. */
    static const uint32_t links[] = {S_COUNT, 0xffffffffu, S_NULL, S_SYMTAB, S_NOTE, S_TEXT};
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        shdr(&im, S_SYMTAB)->sh_link = links[i];
        symbols_of(im.bytes, im.len, syms, sizeof(syms));
        assert_string_equal(syms, "");
    }
    shdr(&im, S_SYMTAB)->sh_link = S_STRTAB;
    /* e_shstrndx out of range (as with libelf: names go, symbols stay). */
    unsigned char *b;
    static const uint16_t shstrndx[] = {S_COUNT, SHN_LORESERVE, SHN_XINDEX, S_SYMTAB};
    for (size_t i = 0; i < sizeof(shstrndx) / sizeof(shstrndx[0]); i++) {
        ehdr(&im)->e_shstrndx = shstrndx[i];
        shdr(&im, 0)->sh_link = 1000; /* where SHN_XINDEX sends it */
        struct cg_elf_file *f = view(&im, im.len, &b);
        assert_non_null(f);
        for (size_t k = 0; k < S_COUNT + 1; k++)
            assert_null(cg_elf_file_section_name(f, k));
        cg_elf_file_free(f);
        symbols_of(b, im.len, syms, sizeof(syms));
        assert_string_equal(syms, "alpha@1000 beta@1010");
        free(b);
    }
    /* Extended numbering done right reads as the plain header does. */
    ehdr(&im)->e_shnum = 0;
    ehdr(&im)->e_shstrndx = SHN_XINDEX;
    shdr(&im, 0)->sh_size = S_COUNT;
    shdr(&im, 0)->sh_link = S_SHSTRTAB;
    struct cg_elf_file *f = view(&im, im.len, &b);
    assert_int_equal(cg_elf_file_section_count(f), S_COUNT);
    assert_string_equal(cg_elf_file_section_name(f, S_SYMTAB), ".symtab");
    cg_elf_file_free(f);
    free(b);
    /* A symbol table whose entry size is 0 holds nothing (no division). */
    shdr(&im, S_SYMTAB)->sh_entsize = 0;
    symbols_of(im.bytes, im.len, syms, sizeof(syms));
    assert_string_equal(syms, "");
    free(im.bytes);
}

/* Is the first note of the image's note section read, with header nh
 * and the section aligned to addralign? */
static bool first_note(struct image *im, const Elf64_Nhdr *nh, uint64_t addralign)
{
    Elf64_Shdr *sh = shdr(im, S_NOTE);
    sh->sh_addralign = addralign;
    memcpy(im->bytes + sh->sh_offset, nh, sizeof(*nh));
    unsigned char *b;
    struct cg_elf_file *f = view(im, im->len, &b);
    size_t off = 0;
    struct cg_elf_note n;
    bool ok = cg_elf_file_note(f, S_NOTE, &off, &n);
    if (ok) /* whatever it says lies inside the section */
        assert_true(off <= sh->sh_size && n.desc + n.desc_size <= b + sh->sh_offset + off);
    cg_elf_file_free(f);
    free(b);
    return ok;
}

static void notes_outside_their_section_are_refused(void **state)
{
    (void)state;
    struct image im = build(0);
    Elf64_Nhdr good = {4, sizeof(BUILD_ID), NT_GNU_BUILD_ID};
    assert_true(first_note(&im, &good, 4));
    assert_false(first_note(&im, &(Elf64_Nhdr){4, sizeof(BUILD_ID) + 1, 3}, 4)); /* desc */
    assert_false(first_note(&im, &(Elf64_Nhdr){UINT32_MAX, 0, 3}, 4));         /* name */
    assert_false(first_note(&im, &(Elf64_Nhdr){4, UINT32_MAX, 3}, 4));
    assert_false(first_note(&im, &(Elf64_Nhdr){UINT32_MAX - 2, UINT32_MAX, 3}, 8));
    /* 8-aligned (GNU property notes): the descriptor starts at 16, past
     * "GNU\0" and 4 bytes of padding, so 20 bytes no longer fit. */
    assert_false(first_note(&im, &good, 8));
    assert_true(first_note(&im, &(Elf64_Nhdr){4, 16, 3}, 8));
    /* A section cut short of its first header. */
    shdr(&im, S_NOTE)->sh_size = sizeof(Elf64_Nhdr) - 1;
    assert_false(first_note(&im, &good, 4));
    free(im.bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_built_image_reads_whole),
        cmocka_unit_test(broken_headers_are_refused),
        cmocka_unit_test(files_that_are_not_elf_are_refused),
        cmocka_unit_test(a_section_outside_the_file_has_no_bytes),
        cmocka_unit_test(strings_need_a_string_table_ending_in_nul),
        cmocka_unit_test(bad_links_and_indexes_read_as_nothing),
        cmocka_unit_test(notes_outside_their_section_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
