/*
 * loaded_objects_list_test.c - the handler's copy of the loader's object
 * list (core/sample/loaded_objects.h): a refresh lists what
 * dl_iterate_phdr lists, in its order, with the program among them; a
 * second refresh adds nothing; a library dlopen'ed later is appended by
 * the next refresh; the iteration stops at a callback's non-zero answer
 * and returns it.
 */
#include "core/sample/loaded_objects.h"

#include <dlfcn.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#define MAX 256

struct seen {
    size_t n;
    uintptr_t addr[MAX];
    const void *phdr[MAX];
    const char *name[MAX];
    size_t size;
};

static int record(struct dl_phdr_info *info, size_t size, void *data)
{
    struct seen *s = data;
    if (s->n < MAX) {
        s->addr[s->n] = info->dlpi_addr;
        s->phdr[s->n] = info->dlpi_phdr;
        s->name[s->n] = info->dlpi_name;
    }
    s->n++;
    s->size = size;
    return 0;
}

static bool holds(struct dl_phdr_info *info, uintptr_t at)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && at >= lo && at < lo + ph->p_memsz)
            return true;
    }
    return false;
}

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    return holds(info, (uintptr_t)find_self) ? 7 : 0;
}

static void refresh_lists_what_the_loader_lists(void **state)
{
    (void)state;
    int n = cg_loaded_objects_refresh();
    assert_true(n > 2);
    assert_int_equal(cg_loaded_objects_count(), (size_t)n);
    struct seen loader = {0}, copy = {0};
    dl_iterate_phdr(record, &loader);
    assert_int_equal(cg_loaded_objects_iterate_sigsafe(record, &copy), 0);
    assert_int_equal(copy.n, loader.n);
    assert_int_equal(copy.size, sizeof(struct dl_phdr_info));
    for (size_t i = 0; i < copy.n && i < MAX; i++) {
        assert_int_equal(copy.addr[i], loader.addr[i]);
        assert_ptr_equal(copy.phdr[i], loader.phdr[i]);
        assert_ptr_equal(copy.name[i], loader.name[i]);
    }
    /* The callback's answer stops the walk and is returned: the program
     * itself is listed. */
    assert_int_equal(cg_loaded_objects_iterate_sigsafe(find_self, NULL), 7);
    /* Nothing new: nothing added. */
    assert_int_equal(cg_loaded_objects_refresh(), n);
}

static void a_library_loaded_later_is_appended(void **state)
{
    (void)state;
    size_t before = cg_loaded_objects_count();
    /* A library of glibc's that no test links. */
    void *h = dlopen("libanl.so.1", RTLD_NOW | RTLD_LOCAL);
    assert_non_null(h);
    assert_int_equal(cg_loaded_objects_count(), before); /* not until a refresh */
    int n = cg_loaded_objects_refresh();
    assert_true(n > (int)before);
    struct seen copy = {0};
    cg_loaded_objects_iterate_sigsafe(record, &copy);
    bool found = false;
    for (size_t i = before; i < copy.n && i < MAX; i++)
        found |= copy.name[i] && strstr(copy.name[i], "libanl") != NULL;
    assert_true(found);
    /* Kept in the table even after the loader forgets it (only musl's
     * handler reads the table, and musl never unloads). */
    dlclose(h);
    assert_int_equal(cg_loaded_objects_refresh(), n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refresh_lists_what_the_loader_lists),
        cmocka_unit_test(a_library_loaded_later_is_appended),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
