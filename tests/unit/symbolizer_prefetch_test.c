/*
 * symbolizer_prefetch_test.c - a report that announces its PCs
 * (cg_symbolizer_expect, cg_symbolizer_prefetch) gets the names a plain
 * symbolizer gives, without loading the symbol tables of modules with few
 * of its PCs; a module asked again in a later report, or with many PCs,
 * loads its table.
 */
#include "core/symbols/symbolizer.h"

#include <dlfcn.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* A symbol table costs more than this (libc's: 100-160 KB); names and the
 * cache of a few hundred PCs cost less. */
#define TABLE_BYTES (48u << 10)

struct pcs {
    uintptr_t pc[4096];
    size_t n;
    size_t per_module;
};

/* per_module PCs spread over the executable segment of each module. */
static int module_pcs(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct pcs *p = data;
    if (info->dlpi_name && strncmp(info->dlpi_name, "linux-vdso", 10) == 0)
        return 0; /* read from memory, never prefetched: its table is small but counts */
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) || ph->p_memsz < 64)
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        for (size_t k = 0; k < p->per_module && p->n < 4096; k++)
            p->pc[p->n++] = lo + (ph->p_memsz - 1) * k / p->per_module + k % 5;
    }
    return 0;
}

/* Resolves pcs with a plain symbolizer and with `s` and requires the same
 * names and files. */
static void same_names(struct cg_symbolizer *s, const uintptr_t *pcs, size_t n)
{
    struct cg_symbolizer *plain = cg_symbolizer_new(NULL);
    assert_non_null(plain);
    for (size_t i = 0; i < n; i++) {
        struct cg_symbol a, b;
        assert_int_equal(cg_symbolizer_resolve(s, pcs[i], &a), 0);
        assert_int_equal(cg_symbolizer_resolve(plain, pcs[i], &b), 0);
        if (strcmp(a.name, b.name) != 0)
            fail_msg("0x%lx: %s, without prefetch %s", (unsigned long)pcs[i], a.name, b.name);
        if ((a.file == NULL) != (b.file == NULL) || (a.file && strcmp(a.file, b.file) != 0))
            fail_msg("0x%lx: file %s, without prefetch %s", (unsigned long)pcs[i],
                     a.file ? a.file : "none", b.file ? b.file : "none");
    }
    cg_symbolizer_free(plain);
}

static void load_libraries(void)
{
    static const char *const libs[] = {"libz.so.1", "liblzma.so.5", "libm.so.6", "libstdc++.so.6"};
    for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
        dlopen(libs[i], RTLD_NOW); /* kept: missing ones are skipped */
}

static void few_pcs_in_many_modules_are_named_without_tables(void **state)
{
    (void)state;
    load_libraries();
    struct pcs *p = calloc(1, sizeof(*p));
    p->per_module = 12;
    dl_iterate_phdr(module_pcs, p);
    assert_true(p->n >= 60);
    struct cg_symbolizer *s = cg_symbolizer_new(NULL);
    size_t before = cg_symbolizer_bytes(s);
    for (size_t i = 0; i < p->n; i++)
        cg_symbolizer_expect(s, p->pc[i]);
    cg_symbolizer_prefetch(s);
    same_names(s, p->pc, p->n);
    assert_true(cg_symbolizer_bytes(s) - before < TABLE_BYTES);
    cg_symbolizer_free(s);
    free(p);
}

static void a_module_asked_again_loads_its_table(void **state)
{
    (void)state;
    uintptr_t getpid_pc = (uintptr_t)dlsym(RTLD_DEFAULT, "getpid") + 1;
    uintptr_t first[] = {getpid_pc, (uintptr_t)dlsym(RTLD_DEFAULT, "qsort") + 3};
    uintptr_t later[] = {(uintptr_t)dlsym(RTLD_DEFAULT, "strtol") + 2};
    struct cg_symbolizer *s = cg_symbolizer_new(NULL);
    size_t before = cg_symbolizer_bytes(s);
    for (size_t i = 0; i < 2; i++)
        cg_symbolizer_expect(s, first[i]);
    cg_symbolizer_prefetch(s);
    same_names(s, first, 2);
    assert_true(cg_symbolizer_bytes(s) - before < TABLE_BYTES);
    /* The next report: libc is named from its table now. */
    cg_symbolizer_expect(s, later[0]);
    cg_symbolizer_prefetch(s);
    same_names(s, later, 1);
    assert_true(cg_symbolizer_bytes(s) - before >= TABLE_BYTES);
    same_names(s, first, 2); /* cached names stay */
    cg_symbolizer_free(s);
}

static void many_pcs_load_the_table_and_repeats_count_once(void **state)
{
    (void)state;
    uintptr_t base = (uintptr_t)dlsym(RTLD_DEFAULT, "qsort");
    uintptr_t pcs[CG_SYMBOLIZER_FEW_PCS + 1];
    for (size_t i = 0; i < CG_SYMBOLIZER_FEW_PCS + 1; i++)
        pcs[i] = base + 64 * i;
    /* A few PCs, each in hundreds of stacks: few. */
    struct cg_symbolizer *s = cg_symbolizer_new(NULL);
    size_t before = cg_symbolizer_bytes(s);
    for (size_t rep = 0; rep < 500; rep++)
        for (size_t i = 0; i < 10; i++)
            cg_symbolizer_expect(s, pcs[i]);
    cg_symbolizer_prefetch(s);
    same_names(s, pcs, 10);
    assert_true(cg_symbolizer_bytes(s) - before < TABLE_BYTES);
    cg_symbolizer_free(s);
    /* One PC more than few: the table. */
    s = cg_symbolizer_new(NULL);
    before = cg_symbolizer_bytes(s);
    for (size_t i = 0; i < CG_SYMBOLIZER_FEW_PCS + 1; i++)
        cg_symbolizer_expect(s, pcs[i]);
    cg_symbolizer_prefetch(s);
    same_names(s, pcs, CG_SYMBOLIZER_FEW_PCS + 1);
    assert_true(cg_symbolizer_bytes(s) - before >= TABLE_BYTES);
    cg_symbolizer_free(s);
}

/* A PC in no module (JIT code) makes the symbolizer rescan the modules,
 * which clears its cache: prefetch rescans first, so the names it put in
 * the cache stay there. */
static void a_pc_in_no_module_keeps_the_prefetched_names(void **state)
{
    (void)state;
    uintptr_t pcs[] = {(uintptr_t)dlsym(RTLD_DEFAULT, "getpid") + 1,
                       (uintptr_t)dlsym(RTLD_DEFAULT, "qsort") + 3};
    struct cg_symbolizer *s = cg_symbolizer_new(NULL);
    size_t before = cg_symbolizer_bytes(s);
    cg_symbolizer_expect(s, 0x10);
    for (size_t i = 0; i < 2; i++)
        cg_symbolizer_expect(s, pcs[i]);
    cg_symbolizer_prefetch(s);
    struct cg_symbol sym;
    assert_int_equal(cg_symbolizer_resolve(s, 0x10, &sym), 0);
    assert_string_equal(sym.name, "[unknown]");
    same_names(s, pcs, 2);
    assert_true(cg_symbolizer_bytes(s) - before < TABLE_BYTES);
    cg_symbolizer_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(few_pcs_in_many_modules_are_named_without_tables),
        cmocka_unit_test(a_module_asked_again_loads_its_table),
        cmocka_unit_test(many_pcs_load_the_table_and_repeats_count_once),
        cmocka_unit_test(a_pc_in_no_module_keeps_the_prefetched_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
