/*
 * dynsym_ranges_test.c - exported functions' ranges from the dynamic
 * symbol table agree with what the loader says (dlsym for the start,
 * dladdr1's symbol entry for the size).
 */
#include "core/symbols/dynsym.h"

#include <dlfcn.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void expect_range_of(void *libc, const char *name)
{
    const char *names[] = {name};
    struct cg_code_range r[4];
    size_t n = cg_dynsym_ranges("/libc.so.6", names, 1, r, 4);
    assert_true(n >= 1);
    void *fn = dlsym(libc, name);
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    assert_non_null(fn);
    assert_true(dladdr1(fn, &info, (void **)&sym, RTLD_DL_SYMENT));
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].start == (uintptr_t)fn && r[i].end == (uintptr_t)fn + sym->st_size)
            found = 1;
    assert_true(found);
}

static void libc_functions_have_the_loaders_ranges(void **state)
{
    (void)state;
    void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    assert_non_null(libc);
    expect_range_of(libc, "pthread_sigmask"); /* versioned: two entries */
    expect_range_of(libc, "sigprocmask");
    expect_range_of(libc, "syscall");
    expect_range_of(libc, "qsort");
    dlclose(libc);
}

static void unknown_names_and_objects_give_nothing(void **state)
{
    (void)state;
    const char *names[] = {"no_such_function_anywhere", "pthread_sigmask"};
    struct cg_code_range r[4];
    assert_int_equal(cg_dynsym_ranges("/libc.so.6", names, 1, r, 4), 0);
    assert_int_equal(cg_dynsym_ranges("/no-such-object.so", names, 2, r, 4), 0);
    /* max bounds what is written */
    assert_int_equal(cg_dynsym_ranges("/libc.so.6", names + 1, 1, r, 1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(libc_functions_have_the_loaders_ranges),
        cmocka_unit_test(unknown_names_and_objects_give_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
