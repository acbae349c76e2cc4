/*
 * elf_file_fuzz.c - libFuzzer over the agent's ELF64 reader
 * (core/symbols/elf_file.c) itself: every accessor on every section of an
 * image in memory (an exact-size copy, so a read one byte past it is
 * seen), strings at offsets from the input, every note.  What it returns
 * must lie inside the image: section bytes, strings up to their NUL,
 * notes inside their section.  Symbol tables over the same reader:
 * elf_fuzz.c.
 */
#include "core/symbols/elf_file.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet();
    return 0;
}

static void inside(const char *image, size_t size, const void *p, size_t n)
{
    const char *c = p;
    if (c < image || c > image + size || n > (size_t)(image + size - c))
        abort();
}

/* The i-th 4 bytes of the input, as an offset to try (0 past its end). */
static uint64_t offset_from(const uint8_t *data, size_t size, size_t i)
{
    uint32_t v = 0;
    if (4 * i + 4 <= size)
        memcpy(&v, data + 4 * i, 4);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *image = fuzz_copy(data, size);
    if (!image)
        return 0;
    struct cg_elf_file *f = cg_elf_file_new_mem(image, size);
    size_t n = f ? cg_elf_file_section_count(f) : 0;
    for (size_t i = 0; i < n && i < 4096; i++) {
        Elf64_Shdr sh;
        if (!cg_elf_file_section(f, i, &sh))
            abort(); /* every index below the count has a header */
        size_t len;
        const unsigned char *d = cg_elf_file_section_data(f, i, &len);
        if (d)
            inside(image, size, d, len);
        const char *name = cg_elf_file_section_name(f, i);
        if (name)
            inside(image, size, name, strlen(name) + 1);
        const char *s = cg_elf_file_string(f, sh.sh_link, offset_from(data, size, i));
        if (s)
            inside(image, size, s, strlen(s) + 1);
        size_t off = 0, notes = 0;
        struct cg_elf_note note;
        while (cg_elf_file_note(f, i, &off, &note) && notes++ < 1024) {
            if (!d || off > len)
                abort();
            inside((const char *)d, len, note.name, note.name_size);
            inside((const char *)d, len, note.desc, note.desc_size);
        }
    }
    if (f && cg_elf_file_section(f, n, &(Elf64_Shdr){0}))
        abort(); /* nor does any index at or past it */
    cg_elf_file_free(f);
    free(image);
    return 0;
}
