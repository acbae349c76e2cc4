/*
 * elf_file_readelf_test.c - the agent's ELF64 reader
 * (core/symbols/elf_file.c) on real files: libc and this program read as
 * binutils' readelf reads them (every section's name, address, offset and
 * size; the symbol tables' sizes; the build ID), their symbols sit where
 * the loader put the functions (dlsym into libc, a function's own
 * address here), and the same bytes in memory read as the file does.
 * Broken files: elf_file_malformed_test.c.
 */
#include "core/base/error.h"
#include "core/symbols/elf_file.h"
#include "core/symbols/elf_symtab.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

struct object {
    const char *part; /* a substring of the object's name; "" the program */
    char path[512];
    uintptr_t bias;
};

static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct object *o = data;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    if (o->part[0] ? !strstr(name, o->part) : name[0] != '\0')
        return 0;
    if (o->part[0])
        snprintf(o->path, sizeof(o->path), "%s", name);
    else if (readlink("/proc/self/exe", o->path, sizeof(o->path) - 1) <= 0)
        return 0;
    o->bias = info->dlpi_addr;
    return 1;
}

static struct object object_of(const char *part)
{
    struct object o;
    memset(&o, 0, sizeof(o));
    o.part = part;
    assert_int_equal(dl_iterate_phdr(find_object, &o), 1);
    return o;
}

static struct cg_elf_file *open_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct cg_elf_file *f = cg_elf_file_new(fd);
    close(fd); /* the view keeps its mapping, not the descriptor */
    return f;
}

/* readelf's output for a file, or NULL (and the test skips) without it. */
static FILE *readelf(const char *options, const char *path)
{
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "LC_ALL=C readelf %s '%s' 2>/dev/null", options, path);
    return popen(cmd, "r");
}

/* Every section of path as readelf -SW lists it: the same count, and per
 * section the same name, address, offset and size. */
static void sections_match_readelf(const char *path, const struct cg_elf_file *f)
{
    FILE *p = readelf("-SW", path);
    assert_non_null(p);
    char line[512];
    size_t seen = 0;
    while (fgets(line, sizeof(line), p)) {
        unsigned idx;
        char name[256], type[64];
        unsigned long long addr, off, size;
        const char *b = strchr(line, '[');
        if (!b || sscanf(b, "[%u]", &idx) != 1 || idx == 0)
            continue;
        const char *rest = strchr(b, ']') + 1;
        if (sscanf(rest, "%255s %63s %llx %llx %llx", name, type, &addr, &off, &size) != 5)
            continue;
        Elf64_Shdr sh;
        assert_true(cg_elf_file_section(f, idx, &sh));
        const char *ours = cg_elf_file_section_name(f, idx);
        assert_non_null(ours);
        assert_string_equal(ours, name);
        assert_int_equal(sh.sh_addr, addr);
        assert_int_equal(sh.sh_offset, off);
        assert_int_equal(sh.sh_size, size);
        seen++;
    }
    int rc = pclose(p);
    if (seen == 0 && rc != 0)
        skip(); /* no readelf (binutils) */
    assert_int_equal(seen + 1, cg_elf_file_section_count(f));
    assert_false(cg_elf_file_section(f, seen + 1, &(Elf64_Shdr){0}));
}

/* The symbol tables' entry counts (readelf -sW) and the build ID
 * (readelf -n) are ours too. */
static void symbols_and_notes_match_readelf(const char *path, const struct cg_elf_file *f)
{
    FILE *p = readelf("-sW -n", path);
    assert_non_null(p);
    char line[512], table[64], id[130] = "";
    size_t tables = 0, entries;
    while (fgets(line, sizeof(line), p)) {
        const char *bid = strstr(line, "Build ID: ");
        if (bid)
            sscanf(bid + 10, "%129s", id);
        if (sscanf(line, "Symbol table '%63[^']' contains %zu entries", table, &entries) != 2)
            continue;
        for (size_t i = 1; i < cg_elf_file_section_count(f); i++) {
            Elf64_Shdr sh;
            const char *name = cg_elf_file_section_name(f, i);
            if (cg_elf_file_section(f, i, &sh) && name && strcmp(name, table) == 0) {
                assert_int_equal(sh.sh_size / sh.sh_entsize, entries);
                tables++;
            }
        }
    }
    pclose(p);
    assert_true(tables >= 1); /* .dynsym at least */
    char ours[130];
    int rc = cg_elf_build_id(path, ours, sizeof(ours));
    assert_int_equal(rc, id[0] ? 0 : CG_ENOTFOUND);
    assert_string_equal(ours, id);
}

/* The value of the defined function symbol `name` in section type
 * `type` that equals want - bias; false when no symbol of that name
 * does. */
static bool symbol_at(const struct cg_elf_file *f, uint32_t type, const char *name,
                      uintptr_t bias, uintptr_t want)
{
    for (size_t i = 1; i < cg_elf_file_section_count(f); i++) {
        Elf64_Shdr sh;
        size_t size;
        cg_elf_file_section(f, i, &sh);
        const unsigned char *d = cg_elf_file_section_data(f, i, &size);
        if (sh.sh_type != type || !d)
            continue;
        for (size_t k = 0; k + sizeof(Elf64_Sym) <= size; k += sizeof(Elf64_Sym)) {
            Elf64_Sym s;
            memcpy(&s, d + k, sizeof(s));
            const char *n = cg_elf_file_string(f, sh.sh_link, s.st_name);
            if (n && strcmp(n, name) == 0 && s.st_shndx != SHN_UNDEF &&
                s.st_value + bias == want)
                return true;
        }
    }
    return false;
}

static void libc_reads_as_readelf_and_the_loader_see_it(void **state)
{
    (void)state;
    struct object o = object_of("/libc.so.6");
    struct cg_elf_file *f = open_path(o.path);
    assert_non_null(f);
    sections_match_readelf(o.path, f);
    symbols_and_notes_match_readelf(o.path, f);
    void *libc = dlopen(o.path, RTLD_NOW | RTLD_NOLOAD);
    assert_non_null(libc);
    static const char *const names[] = {"qsort", "bsearch", "getpid", "malloc", "fork"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        void *at = dlsym(libc, names[i]); /* libc's own, whatever the program interposes */
        assert_non_null(at);
        if (!symbol_at(f, SHT_DYNSYM, names[i], o.bias, (uintptr_t)at))
            fail_msg("%s: no .dynsym entry at %p", names[i], at);
    }
    dlclose(libc);
    cg_elf_file_free(f);
}

__attribute__((noinline, used)) int elf_file_test_marker(int x);
__attribute__((noinline, used)) int elf_file_test_marker(int x)
{
    return x * 3 + 1;
}

static void this_program_reads_as_readelf_and_the_loader_see_it(void **state)
{
    (void)state;
    struct object o = object_of("");
    struct cg_elf_file *f = open_path(o.path);
    assert_non_null(f);
    sections_match_readelf(o.path, f);
    symbols_and_notes_match_readelf(o.path, f);
    assert_true(symbol_at(f, SHT_SYMTAB, "elf_file_test_marker", o.bias,
                          (uintptr_t)&elf_file_test_marker));
    cg_elf_file_free(f);
}

/* The same bytes in memory read as the file does. */
static void an_image_in_memory_reads_as_its_file(void **state)
{
    (void)state;
    struct object o = object_of("");
    struct cg_elf_file *f = open_path(o.path);
    assert_non_null(f);
    FILE *in = fopen(o.path, "rb");
    assert_non_null(in);
    fseek(in, 0, SEEK_END);
    size_t len = (size_t)ftell(in);
    rewind(in);
    unsigned char *image = malloc(len);
    assert_int_equal(fread(image, 1, len, in), len);
    fclose(in);
    struct cg_elf_file *m = cg_elf_file_new_mem(image, len);
    assert_non_null(m);
    assert_int_equal(cg_elf_file_section_count(m), cg_elf_file_section_count(f));
    for (size_t i = 1; i < cg_elf_file_section_count(f); i++) {
        size_t a, b;
        const unsigned char *x = cg_elf_file_section_data(f, i, &a);
        const unsigned char *y = cg_elf_file_section_data(m, i, &b);
        assert_string_equal(cg_elf_file_section_name(m, i), cg_elf_file_section_name(f, i));
        assert_int_equal(a, b);
        assert_true(x ? y && memcmp(x, y, a) == 0 : !y);
    }
    cg_elf_file_free(m);
    cg_elf_file_free(f);
    free(image);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(libc_reads_as_readelf_and_the_loader_see_it),
        cmocka_unit_test(this_program_reads_as_readelf_and_the_loader_see_it),
        cmocka_unit_test(an_image_in_memory_reads_as_its_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
