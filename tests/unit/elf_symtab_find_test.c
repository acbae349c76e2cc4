/*
 * elf_symtab_find_test.c - cg_elf_symtab_find, the one-pass search for a
 * few addresses, gives cg_elf_symtab_lookup's answers on the loaded table:
 * on real objects (libc, from its debug file when /usr/lib/debug has it
 * and from .dynsym when not; libpython; this test program).  Built
 * tables with every rule: elf_symtab_find_rules_test.c.
 */
#include "core/base/error.h"
#include "core/symbols/elf_file.h"
#include "core/symbols/elf_symtab.h"

#include <elf.h>
#include <fcntl.h>
#include <glob.h>
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

/* The search answers up to this many addresses per call in the agent
 * (CG_SYMBOLIZER_FEW_PCS); the tests also ask thousands at once. */
#define BATCH 64

/* Compares find's answers for addrs[0..n) with the table's, in batches of
 * `batch`.  Returns how many the table names. */
static size_t compare(const char *path, const struct cg_elf_symtab_options *opts,
                      const uint64_t *addrs, size_t n, size_t batch)
{
    struct cg_elf_symtab *t = cg_elf_symtab_load(path, opts);
    assert_non_null(t);
    struct cg_elf_symtab_hit *hits = calloc(batch, sizeof(*hits));
    size_t named = 0;
    for (size_t at = 0; at < n; at += batch) {
        size_t k = n - at < batch ? n - at : batch;
        char *names = NULL;
        assert_int_equal(cg_elf_symtab_find(path, opts, addrs + at, k, hits, &names), 0);
        for (size_t i = 0; i < k; i++) {
            const char *name = NULL;
            uint64_t start = 0;
            int rc = cg_elf_symtab_lookup(t, addrs[at + i], &name, &start);
            if (rc != 0) {
                if (hits[i].name)
                    fail_msg("%s 0x%llx: find names %s, the table nothing", path,
                             (unsigned long long)addrs[at + i], hits[i].name);
                continue;
            }
            named++;
            if (!hits[i].name)
                fail_msg("%s 0x%llx: the table names %s, find nothing", path,
                         (unsigned long long)addrs[at + i], name);
            if (strcmp(hits[i].name, name) != 0 || hits[i].start != start)
                fail_msg("%s 0x%llx: find %s@0x%llx, the table %s@0x%llx", path,
                         (unsigned long long)addrs[at + i], hits[i].name,
                         (unsigned long long)hits[i].start, name, (unsigned long long)start);
        }
        free(names);
    }
    free(hits);
    cg_elf_symtab_free(t);
    return named;
}

/* The range of the executable sections of the file at path. */
static void code_range(const char *path, uint64_t *lo, uint64_t *hi)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct cg_elf_file *elf = cg_elf_file_new(fd);
    assert_non_null(elf);
    *lo = UINT64_MAX;
    *hi = 0;
    Elf64_Shdr sh;
    for (size_t i = 1; cg_elf_file_section(elf, i, &sh); i++) {
        if (!(sh.sh_flags & SHF_EXECINSTR) || sh.sh_addr == 0)
            continue;
        *lo = sh.sh_addr < *lo ? sh.sh_addr : *lo;
        *hi = sh.sh_addr + sh.sh_size > *hi ? sh.sh_addr + sh.sh_size : *hi;
    }
    cg_elf_file_free(elf);
    close(fd);
    assert_true(*lo < *hi);
}

/* About 3,000 addresses of path's code: a sweep with a step prime to most
 * alignments, then the first byte of each function found and the byte
 * before it (the end of the one before, or a gap).  Shuffled. */
static uint64_t *addresses_of(const char *path, const struct cg_elf_symtab_options *opts,
                              size_t *n_out)
{
    uint64_t lo, hi;
    code_range(path, &lo, &hi);
    size_t sweep = 1000, n = 0;
    uint64_t *a = calloc(3 * sweep, sizeof(*a));
    struct cg_elf_symtab *t = cg_elf_symtab_load(path, opts);
    assert_non_null(t);
    uint64_t step = ((hi - lo) / sweep) | 1;
    for (uint64_t v = lo; v < hi && n + 3 <= 3 * sweep; v += step + 2 * (n % 7)) {
        a[n++] = v;
        const char *name;
        uint64_t start;
        if (cg_elf_symtab_lookup(t, v, &name, &start) == 0) {
            a[n++] = start;
            a[n++] = start - 1;
        }
    }
    cg_elf_symtab_free(t);
    for (size_t i = n; i > 1; i--) { /* deterministic shuffle */
        size_t j = (size_t)((i * 2654435761u) % i);
        uint64_t x = a[i - 1];
        a[i - 1] = a[j];
        a[j] = x;
    }
    *n_out = n;
    return a;
}

static void check_object(const char *path, const struct cg_elf_symtab_options *opts)
{
    size_t n;
    uint64_t *a = addresses_of(path, opts, &n);
    assert_true(n >= 1000);
    size_t named = compare(path, opts, a, n, BATCH);
    assert_true(named > n / 3); /* most addresses are in functions */
    assert_int_equal(compare(path, opts, a, n, n), named); /* all at once */
    free(a);
}

static int find_libc(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    if (info->dlpi_name && strstr(info->dlpi_name, "/libc.so.6")) {
        snprintf(data, 512, "%s", info->dlpi_name);
        return 1;
    }
    return 0;
}

static void libc_answers_equal_the_table(void **state)
{
    (void)state;
    char path[512] = "";
    dl_iterate_phdr(find_libc, path);
    assert_true(path[0] != '\0');
    check_object(path, NULL); /* its debug file, where installed */
    /* No debug file: the stripped file's .dynsym. */
    check_object(path, &(struct cg_elf_symtab_options){.debug_root = "/nonexistent"});
}

static void libpython_answers_equal_the_table(void **state)
{
    (void)state;
    const char *home = getenv("HOME");
    char pattern[512];
    snprintf(pattern, sizeof(pattern), "%s/.pyenv/versions/*/lib/libpython3*.so.1.0",
             home ? home : "/root");
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0 &&
        glob("/usr/lib/x86_64-linux-gnu/libpython3*.so.1.0", 0, NULL, &g) != 0)
        skip();
    for (size_t i = 0; i < g.gl_pathc; i++) /* every version installed */
        check_object(g.gl_pathv[i], NULL);
    globfree(&g);
}

static void this_program_answers_equal_the_table(void **state)
{
    (void)state;
    char path[512];
    ssize_t len = readlink("/proc/self/exe", path, sizeof(path) - 1);
    assert_true(len > 0);
    path[len] = '\0';
    check_object(path, NULL);
}

static void unreadable_files_answer_not_found(void **state)
{
    (void)state;
    uint64_t a = 0x1000;
    struct cg_elf_symtab_hit hit;
    char *names = (char *)1;
    assert_int_equal(cg_elf_symtab_find("/nonexistent/lib.so", NULL, &a, 1, &hit, &names),
                     CG_ENOTFOUND);
    assert_null(names);
    assert_null(hit.name);
    /* Not ELF: load gives NULL, find CG_ENOTFOUND. */
    assert_null(cg_elf_symtab_load("/proc/self/cmdline", NULL));
    assert_int_equal(cg_elf_symtab_find("/proc/self/cmdline", NULL, &a, 1, &hit, &names),
                     CG_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(libc_answers_equal_the_table),
        cmocka_unit_test(libpython_answers_equal_the_table),
        cmocka_unit_test(this_program_answers_equal_the_table),
        cmocka_unit_test(unreadable_files_answer_not_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
