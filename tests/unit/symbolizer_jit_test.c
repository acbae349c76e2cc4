/*
 * symbolizer_jit_test.c - PCs in no ELF module: named from this process's
 * /tmp/perf-PID.map with the file "[jit]", "[unknown]" without a file
 * otherwise, and names that stay valid after the map moves on.
 */
#include "core/symbols/symbolizer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

static void jit_code_is_named_from_the_perf_map(void **state)
{
    (void)state;
    /* Anonymous executable-looking memory, like a JIT's code space. */
    size_t len = 1u << 16;
    char *code = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(code != MAP_FAILED);
    char path[64];
    snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%llx 100 JS:*handleRequest /srv/app.js:10:3\n",
            (unsigned long long)(uintptr_t)code);
    fclose(f);

    struct cg_symbolizer *s = cg_symbolizer_new(NULL);
    assert_non_null(s);
    struct cg_symbol sym;
    assert_int_equal(cg_symbolizer_resolve(s, (uintptr_t)code + 0x10, &sym), 0);
    assert_string_equal(sym.name, "JS:*handleRequest /srv/app.js:10:3");
    assert_string_equal(sym.file, "[jit]");
    const char *first = sym.name;

    /* Past the code object: unknown, no file. */
    assert_int_equal(cg_symbolizer_resolve(s, (uintptr_t)code + 0x1000, &sym), 0);
    assert_string_equal(sym.name, "[unknown]");
    assert_null(sym.file);

    /* The same PC gives the same string, which outlives further lookups. */
    assert_int_equal(cg_symbolizer_resolve(s, (uintptr_t)code + 0x20, &sym), 0);
    assert_ptr_equal(sym.name, first);
    assert_string_equal(first, "JS:*handleRequest /srv/app.js:10:3");
    assert_true(cg_symbolizer_bytes(s) > 0);

    cg_symbolizer_free(s);
    unlink(path);
    munmap(code, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jit_code_is_named_from_the_perf_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
