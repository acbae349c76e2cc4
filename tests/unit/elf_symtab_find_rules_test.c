/*
 * elf_symtab_find_rules_test.c - tables built by hand, where each rule of
 * the symbol table shows (core/symbols/elf_symtab_internal.h): the best of
 * aliases, versions, sizes of 0 and sizes that wrap, the lookback past
 * small symbols inside a large one, symbols that do not count, .symtab
 * before .dynsym, globals before locals; then random tables full of
 * overlaps; a stripped file and its debug file.  For every address, cg_elf_symtab_find answers as
 * cg_elf_symtab_lookup does on the loaded table, asked 64 at a time (as
 * the agent asks) and all at once.
 */
#include "core/base/error.h"
#include "core/symbols/elf_symtab.h"
#include "tests/unit/elf_header.h"

#include <elf.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

struct test_sym {
    const char *name;
    uint64_t value, size;
    int bind;    /* STB_* */
    int type;    /* 0: STT_FUNC */
    int undef;   /* SHN_UNDEF */
    int dynamic; /* in .dynsym, not .symtab */
};

/* One symbol section and its string table, locals first as a linker
 * writes them (sh_info: the first global). */
struct table {
    Elf64_Sym *syms;
    size_t n, first_global;
    char *str;
    size_t str_len;
};

static void fill_table(struct table *t, const struct test_sym *syms, size_t n, int dynamic)
{
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += strlen(syms[i].name) + 1;
    t->str = calloc(1, cap);
    t->str_len = 1;
    t->syms = calloc(n + 1, sizeof(*t->syms));
    t->n = 1;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            t->first_global = t->n;
        for (size_t i = 0; i < n; i++) {
            if (syms[i].dynamic != dynamic || (syms[i].bind == STB_LOCAL) != (pass == 0))
                continue;
            Elf64_Sym *s = &t->syms[t->n++];
            size_t l = strlen(syms[i].name) + 1;
            memcpy(t->str + t->str_len, syms[i].name, l);
            s->st_name = syms[i].name[0] ? (Elf64_Word)t->str_len : 0;
            t->str_len += l;
            s->st_info = ELF64_ST_INFO(syms[i].bind, syms[i].type ? syms[i].type : STT_FUNC);
            s->st_shndx = syms[i].undef ? SHN_UNDEF : 6;
            s->st_value = syms[i].value;
            s->st_size = syms[i].size;
        }
    }
}

enum {
    STRIPPED = 1, /* no .symtab: its section is SHT_PROGBITS */
    BUILD_ID = 2, /* a GNU build ID note, 0123456789abcdef */
};

/* Writes an ELF64 file with a .symtab and a .dynsym of `syms` to `path`,
 * or to a new temporary file when path is NULL; returns its path
 * (malloc'd). */
static char *write_image(const struct test_sym *syms, size_t n, int flags, const char *path_in)
{
    static const char shstr[] = "\0.symtab\0.strtab\0.dynsym\0.dynstr\0.shstrtab\0.text\0.note";
    static const unsigned char note[] = {4, 0, 0, 0, 8, 0, 0, 0, NT_GNU_BUILD_ID, 0, 0, 0,
                                         'G', 'N', 'U', 0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
                                         0xcd, 0xef};
    struct table t[2];
    fill_table(&t[0], syms, n, 0);
    fill_table(&t[1], syms, n, 1);
    size_t off = sizeof(Elf64_Ehdr), sym_off[2], str_off[2];
    for (int k = 0; k < 2; k++) {
        sym_off[k] = off;
        off += t[k].n * sizeof(Elf64_Sym);
        str_off[k] = off;
        off += t[k].str_len;
        off = (off + 7) & ~(size_t)7;
    }
    size_t shstr_off = off, note_off = (shstr_off + sizeof(shstr) + 7) & ~(size_t)7;
    size_t sh_off = note_off + sizeof(note);
    size_t len = sh_off + 8 * sizeof(Elf64_Shdr);
    unsigned char *img = calloc(1, len);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    test_elf_header(eh, sh_off, 8, 5);
    Elf64_Shdr *sh = (Elf64_Shdr *)(img + sh_off);
    static const Elf64_Word names[2][2] = {{1, 9}, {17, 25}}; /* .symtab .strtab, .dynsym .dynstr */
    for (int k = 0; k < 2; k++) {
        memcpy(img + sym_off[k], t[k].syms, t[k].n * sizeof(Elf64_Sym));
        memcpy(img + str_off[k], t[k].str, t[k].str_len);
        sh[1 + 2 * k] = (Elf64_Shdr){.sh_name = names[k][0],
                                     .sh_type = k ? SHT_DYNSYM
                                                  : flags & STRIPPED ? SHT_PROGBITS : SHT_SYMTAB,
                                     .sh_offset = sym_off[k],
                                     .sh_size = t[k].n * sizeof(Elf64_Sym),
                                     .sh_link = (Elf64_Word)(2 + 2 * k),
                                     .sh_info = (Elf64_Word)t[k].first_global,
                                     .sh_addralign = 8,
                                     .sh_entsize = sizeof(Elf64_Sym)};
        sh[2 + 2 * k] = (Elf64_Shdr){.sh_name = names[k][1], .sh_type = SHT_STRTAB,
                                     .sh_offset = str_off[k], .sh_size = t[k].str_len,
                                     .sh_addralign = 1};
        free(t[k].syms);
        free(t[k].str);
    }
    memcpy(img + shstr_off, shstr, sizeof(shstr));
    sh[5] = (Elf64_Shdr){.sh_name = 33, .sh_type = SHT_STRTAB, .sh_offset = shstr_off,
                         .sh_size = sizeof(shstr), .sh_addralign = 1};
    sh[6] = (Elf64_Shdr){.sh_name = 43, .sh_type = SHT_NOBITS,
                         .sh_flags = SHF_ALLOC | SHF_EXECINSTR, .sh_addr = 0x1000,
                         .sh_size = 0x10000, .sh_addralign = 16};
    memcpy(img + note_off, note, sizeof(note));
    sh[7] = (Elf64_Shdr){.sh_name = 49, .sh_type = flags & BUILD_ID ? SHT_NOTE : SHT_PROGBITS,
                         .sh_offset = note_off, .sh_size = sizeof(note), .sh_addralign = 4};
    char *path = strdup(path_in ? path_in : "/tmp/cg-elf-find-XXXXXX");
    int fd = path_in ? open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600) : mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, img, len), (ssize_t)len);
    close(fd);
    free(img);
    return path;
}

/* Every address in [lo, hi): find's answers equal the table's, 64 at a
 * time and all at once.  Returns how many the table names. */
static size_t compare_range_with(const char *path, const struct cg_elf_symtab_options *opts,
                                 uint64_t lo, uint64_t hi)
{
    struct cg_elf_symtab *t = cg_elf_symtab_load(path, opts);
    assert_non_null(t);
    size_t n = (size_t)(hi - lo), named = 0;
    uint64_t *a = malloc(n * sizeof(*a));
    struct cg_elf_symtab_hit *hits = malloc(n * sizeof(*hits));
    for (size_t i = 0; i < n; i++)
        a[(i * 7919) % n] = lo + i; /* shuffled: 7919 is prime to n */
    for (size_t batch = 64;; batch = n) {
        named = 0;
        for (size_t at = 0; at < n; at += batch) {
            size_t k = n - at < batch ? n - at : batch;
            char *names = NULL;
            assert_int_equal(cg_elf_symtab_find(path, opts, a + at, k, hits, &names), 0);
            for (size_t i = 0; i < k; i++) {
                const char *name = NULL;
                uint64_t start = 0;
                if (cg_elf_symtab_lookup(t, a[at + i], &name, &start) != 0) {
                    if (hits[i].name)
                        fail_msg("0x%llx: find names %s, the table nothing",
                                 (unsigned long long)a[at + i], hits[i].name);
                    continue;
                }
                named++;
                if (!hits[i].name || strcmp(hits[i].name, name) != 0 || hits[i].start != start)
                    fail_msg("0x%llx: find %s, the table %s@0x%llx",
                             (unsigned long long)a[at + i], hits[i].name ? hits[i].name : "nothing",
                             name, (unsigned long long)start);
            }
            free(names);
        }
        if (batch == n)
            break;
    }
    free(hits);
    free(a);
    cg_elf_symtab_free(t);
    return named;
}

static size_t compare_range(const char *path, uint64_t lo, uint64_t hi)
{
    return compare_range_with(path, NULL, lo, hi);
}

static const char *name_at_with(const char *path, const struct cg_elf_symtab_options *opts,
                                uint64_t vaddr)
{
    static char buf[64];
    struct cg_elf_symtab_hit hit;
    char *names = NULL;
    assert_int_equal(cg_elf_symtab_find(path, opts, &vaddr, 1, &hit, &names), 0);
    snprintf(buf, sizeof(buf), "%s", hit.name ? hit.name : "");
    free(names);
    return buf;
}

static const char *name_at(const char *path, uint64_t vaddr)
{
    return name_at_with(path, NULL, vaddr);
}

static void each_rule_gives_the_tables_answer(void **state)
{
    (void)state;
    const struct test_sym syms[] = {
        /* Equal sizes: the fewest leading underscores, wherever it is. */
        {"__libc_nanosleep", 0x2000, 0x40, STB_LOCAL, 0, 0, 0},
        {"__nanosleep", 0x2000, 0x40, STB_GLOBAL, 0, 0, 0},
        {"nanosleep", 0x2000, 0x40, STB_WEAK, 0, 0, 1},
        /* The larger alias covers the whole function. */
        {"small_entry", 0x2100, 0x8, STB_GLOBAL, 0, 0, 0},
        {"__whole_function", 0x2100, 0x80, STB_LOCAL, 0, 0, 0},
        /* Ties: the global (before the locals), .symtab before .dynsym. */
        {"local_twin", 0x2200, 0x20, STB_LOCAL, 0, 0, 0},
        {"global_twin", 0x2200, 0x20, STB_GLOBAL, 0, 0, 0},
        {"dyn_twin", 0x2300, 0x20, STB_GLOBAL, 0, 0, 1},
        {"sym_twin", 0x2300, 0x20, STB_LOCAL, 0, 0, 0},
        /* Versions are dropped; a name starting with '@' is kept whole. */
        {"__libc_start_main@@GLIBC_2.34", 0x2400, 0x20, STB_GLOBAL, 0, 0, 0},
        {"memcpy@GLIBC_2.2.5", 0x2500, 0x20, STB_GLOBAL, 0, 0, 0},
        {"@odd", 0x2600, 0x20, STB_GLOBAL, 0, 0, 0},
        /* Size 0: its first byte only. */
        {"label", 0x2700, 0, STB_GLOBAL, 0, 0, 0},
        /* Not counted: no name, not a function, undefined, at 0. */
        {"", 0x2800, 0x20, STB_GLOBAL, 0, 0, 0},
        {"data", 0x2900, 0x20, STB_GLOBAL, STT_OBJECT, 0, 0},
        {"undefined", 0x2a00, 0x20, STB_GLOBAL, 0, 1, 0},
        {"at_zero", 0, 0x3000, STB_GLOBAL, 0, 0, 0},
        {"resolver", 0x2b00, 0x20, STB_GLOBAL, STT_GNU_IFUNC, 0, 0},
        /* A large function with 7 small symbols in it before 0x3100: the
         * table finds it from 0x3100; with an 8th before 0x3300, the
         * lookback ends before it. */
        {"large", 0x3000, 0x1000, STB_GLOBAL, 0, 0, 0},
        {"in1", 0x3010, 4, STB_LOCAL, 0, 0, 0}, {"in2", 0x3020, 4, STB_LOCAL, 0, 0, 0},
        {"in3", 0x3030, 4, STB_LOCAL, 0, 0, 0}, {"in4", 0x3040, 4, STB_LOCAL, 0, 0, 0},
        {"in5", 0x3050, 4, STB_LOCAL, 0, 0, 0}, {"in6", 0x3060, 4, STB_LOCAL, 0, 0, 0},
        {"in7", 0x3070, 4, STB_LOCAL, 0, 0, 0}, {"in8", 0x3200, 4, STB_LOCAL, 0, 0, 1},
        {"in7_alias", 0x3070, 2, STB_GLOBAL, 0, 0, 1}, /* the same start: not an 8th */
        /* A size that wraps covers nothing. */
        {"wraps", 0xfffffffffffff000ull, 0x2000, STB_GLOBAL, 0, 0, 0},
    };
    char *path = write_image(syms, sizeof(syms) / sizeof(syms[0]), 0, NULL);
    assert_string_equal(name_at(path, 0x2010), "nanosleep");
    assert_string_equal(name_at(path, 0x2140), "__whole_function");
    assert_string_equal(name_at(path, 0x2200), "global_twin");
    assert_string_equal(name_at(path, 0x2300), "sym_twin");
    assert_string_equal(name_at(path, 0x2404), "__libc_start_main");
    assert_string_equal(name_at(path, 0x2504), "memcpy");
    assert_string_equal(name_at(path, 0x2604), "@odd");
    assert_string_equal(name_at(path, 0x2700), "label");
    assert_string_equal(name_at(path, 0x2701), "");
    assert_string_equal(name_at(path, 0x2810), "");
    assert_string_equal(name_at(path, 0x2910), "");
    assert_string_equal(name_at(path, 0x2a10), "");
    assert_string_equal(name_at(path, 0x2b10), "resolver");
    assert_string_equal(name_at(path, 0x3100), "large");
    assert_string_equal(name_at(path, 0x3300), "");
    assert_string_equal(name_at(path, 0x3200), "in8");
    assert_true(compare_range(path, 0x1f00, 0x4100) > 0x300);
    unlink(path);
    free(path);
}

static uint32_t next_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void random_tables_give_the_tables_answers(void **state)
{
    (void)state;
    enum { N = 400 };
    static const char *const bases[] = {"f", "_f", "__f", "___f", "g", "_g", "@h"};
    static const char *const versions[] = {"", "", "", "@V1", "@@V2"};
    for (uint32_t seed = 1; seed <= 24; seed++) {
        uint32_t x = seed * 2654435761u;
        struct test_sym syms[N];
        char names[N][24];
        for (size_t i = 0; i < N; i++) {
            uint32_t r = next_rand(&x);
            snprintf(names[i], sizeof(names[i]), "%s%u%s", bases[r % 7], (r >> 3) % 5,
                     versions[(r >> 6) % 5]);
            if (r % 97 == 0)
                names[i][0] = '\0';
            uint32_t s = next_rand(&x);
            /* Starts crowd into a few KiB so that symbols pile up; sizes
             * from 0 to far larger than most. */
            uint64_t start = 0x1000 + (s % 0x1000) / (1 + (s >> 28) % 4) * 4;
            static const uint64_t sizes[] = {0, 1, 4, 16, 16, 32, 64, 64, 64, 256, 1024, 4096};
            uint64_t size = sizes[(s >> 12) % 12];
            uint32_t k = next_rand(&x);
            syms[i] = (struct test_sym){names[i], start, size,
                                        k % 3 == 0 ? STB_LOCAL : k % 3 == 1 ? STB_GLOBAL : STB_WEAK,
                                        k % 31 == 0 ? STT_OBJECT : 0, k % 37 == 0, (k >> 8) % 4 == 0};
        }
        char *path = write_image(syms, N, 0, NULL);
        assert_true(compare_range(path, 0xff0, 0x5100) > 0x800);
        unlink(path);
        free(path);
    }
}

/* A stripped file answers from its debug file when that has a function,
 * else from its own .dynsym (a debug file of data symbols only). */
static void stripped_files_answer_from_their_debug_file(void **state)
{
    (void)state;
    char root[] = "/tmp/cg-debug-root-XXXXXX", dir[96], debug[128];
    assert_non_null(mkdtemp(root));
    snprintf(dir, sizeof(dir), "%s/.build-id", root);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(dir, sizeof(dir), "%s/.build-id/01", root);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(debug, sizeof(debug), "%s/23456789abcdef.debug", dir);
    const struct test_sym exported[] = {
        {"exported", 0x2000, 0x100, STB_GLOBAL, 0, 0, 1},
        {"__exported_alias", 0x2000, 0x100, STB_GLOBAL, 0, 0, 1},
    };
    const struct test_sym full[] = {
        {"exported", 0x2000, 0x100, STB_GLOBAL, 0, 0, 0},
        {"internal", 0x2100, 0x80, STB_LOCAL, 0, 0, 0},
    };
    const struct test_sym data_only[] = {
        {"table", 0x2100, 0x80, STB_LOCAL, STT_OBJECT, 0, 0},
    };
    const struct cg_elf_symtab_options opts = {.debug_root = root};
    char *path = write_image(exported, 2, STRIPPED | BUILD_ID, NULL);
    free(write_image(full, 2, BUILD_ID, debug));
    assert_string_equal(name_at_with(path, &opts, 0x2140), "internal");
    assert_true(compare_range_with(path, &opts, 0x1f00, 0x2300) >= 0x180);
    free(write_image(data_only, 1, BUILD_ID, debug));
    assert_string_equal(name_at_with(path, &opts, 0x2140), "");
    assert_string_equal(name_at_with(path, &opts, 0x2010), "exported");
    assert_true(compare_range_with(path, &opts, 0x1f00, 0x2300) == 0x100);
    unlink(debug);
    snprintf(dir, sizeof(dir), "%s/.build-id/01", root);
    rmdir(dir);
    snprintf(dir, sizeof(dir), "%s/.build-id", root);
    rmdir(dir);
    rmdir(root);
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_rule_gives_the_tables_answer),
        cmocka_unit_test(random_tables_give_the_tables_answers),
        cmocka_unit_test(stripped_files_answer_from_their_debug_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
