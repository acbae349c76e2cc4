/*
 * symbolizer_names_test.c - names for PCs: static functions, stripped
 * libraries, the vDSO, C++ and Rust manglings.
 */
#include "core/base/error.h"
#include "core/symbols/demangle.h"
#include "core/symbols/elf_symtab.h"
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

/* Only in .symtab: static, and never exported. */
static __attribute__((noinline)) int static_helper_for_test(int x)
{
    __asm__ volatile("" ::: "memory");
    return x * 3 + 1;
}

static void static_function_is_named_from_symtab(void **state)
{
    (void)state;
    assert_int_equal(static_helper_for_test(1), 4);
    struct cg_symbolizer *s = cg_symbolizer_new(NULL);
    assert_non_null(s);
    struct cg_symbol sym;
    assert_int_equal(cg_symbolizer_resolve(s, (uintptr_t)static_helper_for_test + 4, &sym), 0);
    assert_string_equal(sym.name, "static_helper_for_test");
    assert_non_null(strstr(sym.file, "symbolizer_names_test"));
    /* The same PC gives the same interned pointers. */
    struct cg_symbol again;
    cg_symbolizer_resolve(s, (uintptr_t)static_helper_for_test + 4, &again);
    assert_ptr_equal(sym.name, again.name);
    cg_symbolizer_free(s);
}

static void libc_function_is_named(void **state)
{
    (void)state;
    struct cg_symbolizer *s = cg_symbolizer_new(NULL);
    struct cg_symbol sym;
    void *p = dlsym(RTLD_DEFAULT, "getpid");
    cg_symbolizer_resolve(s, (uintptr_t)p + 1, &sym);
    assert_non_null(strstr(sym.name, "getpid"));
    assert_non_null(strstr(sym.file, "libc.so.6"));
    cg_symbolizer_free(s);
}

struct lib_info {
    const char *needle;
    uintptr_t bias;
    char path[512];
};

static int find_lib(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct lib_info *li = data;
    if (info->dlpi_name && strstr(info->dlpi_name, li->needle)) {
        li->bias = info->dlpi_addr;
        snprintf(li->path, sizeof(li->path), "%s", info->dlpi_name);
        return 1;
    }
    return 0;
}

/* Debian's liblzma exports only its API; the match finders and encoders
 * are internal.  An address inside one must not take the name of the
 * export before it. */
static void address_past_an_exported_symbol_is_basename_plus_offset(void **state)
{
    (void)state;
    void *h = dlopen("liblzma.so.5", RTLD_NOW);
    if (!h)
        skip();
    struct lib_info li = {"liblzma.so.5", 0, ""};
    dl_iterate_phdr(find_lib, &li);
    assert_true(li.bias != 0);
    struct cg_elf_symtab *t = cg_elf_symtab_load(li.path, NULL);
    assert_non_null(t);
    /* Find a gap: an address after lzma_code's end that no symbol covers. */
    void *code = dlsym(h, "lzma_code");
    uint64_t vaddr = (uint64_t)((uintptr_t)code - li.bias), start;
    const char *name;
    assert_int_equal(cg_elf_symtab_lookup(t, vaddr, &name, &start), 0);
    assert_string_equal(name, "lzma_code");
    uint64_t probe = 0;
    for (uint64_t a = vaddr; a < vaddr + 0x40000; a += 16) {
        if (cg_elf_symtab_lookup(t, a, &name, &start) == CG_ENOTFOUND) {
            probe = a;
            break;
        }
    }
    assert_true(probe != 0);
    struct cg_symbolizer *s = cg_symbolizer_new(NULL);
    struct cg_symbol sym;
    cg_symbolizer_resolve(s, (uintptr_t)(li.bias + probe), &sym);
    assert_true(strncmp(sym.name, "liblzma.so.5+0x", 15) == 0);
    assert_null(strstr(sym.name, "lzma_"));
    assert_non_null(strstr(sym.file, "liblzma.so.5"));
    /* The offset is an ELF address at or before the probe (the function's
     * start from .eh_frame, or the PC itself). */
    uint64_t off = strtoull(sym.name + 15, NULL, 16);
    assert_true(off <= probe && probe - off < 0x10000);
    cg_symbolizer_free(s);
    cg_elf_symtab_free(t);
    dlclose(h);
}

static void pc_in_no_module_is_unknown(void **state)
{
    (void)state;
    struct cg_symbolizer *s = cg_symbolizer_new(NULL);
    struct cg_symbol sym;
    assert_int_equal(cg_symbolizer_resolve(s, 0x10, &sym), 0);
    assert_string_equal(sym.name, "[unknown]");
    assert_null(sym.file);
    cg_symbolizer_free(s);
}

static void vdso_functions_are_named(void **state)
{
    (void)state;
    struct lib_info li = {"linux-vdso", 0, ""};
    dl_iterate_phdr(find_lib, &li);
    if (!li.bias)
        skip();
    void *h = dlopen("linux-vdso.so.1", RTLD_NOW | RTLD_NOLOAD);
    void *fn = h ? dlsym(h, "__vdso_clock_gettime") : NULL;
    if (!fn)
        skip();
    struct cg_symbolizer *s = cg_symbolizer_new(NULL);
    struct cg_symbol sym;
    cg_symbolizer_resolve(s, (uintptr_t)fn + 2, &sym);
    assert_non_null(strstr(sym.name, "clock_gettime"));
    assert_string_equal(sym.file, "[vdso]");
    cg_symbolizer_free(s);
}

static void cpp_and_rust_names_are_demangled(void **state)
{
    (void)state;
    /* The process needs a C++ runtime for __cxa_demangle, as a C++ program has. */
    void *cxx = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_GLOBAL);
    if (!cxx)
        skip();
    char *d = cg_demangle("_ZNSt6vectorIiSaIiEE9push_backERKi");
    assert_string_equal(d, "std::vector<int, std::allocator<int> >::push_back(int const&)");
    free(d);
    d = cg_demangle("_ZN4core3fmt5write17h0123456789abcdefE");
    assert_string_equal(d, "core::fmt::write");
    free(d);
    d = cg_demangle("_ZN3std2io5stdio12$LT$impl$GT$5flush17hfedcba9876543210E");
    assert_string_equal(d, "std::io::stdio::<impl>::flush");
    free(d);
    assert_null(cg_demangle("main"));
    assert_null(cg_demangle("_Z"));          /* garbage stays raw */
    assert_null(cg_demangle("_ZZZZ$$$$"));
}

static void expect_display_name(const char *raw, const char *want)
{
    char *got = cg_demangle_symbol(raw);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void compiler_clone_suffixes_fold_into_the_function(void **state)
{
    (void)state;
    expect_display_name("leaf.constprop.0", "leaf");
    expect_display_name("leaf.isra.0.part.1", "leaf");
    expect_display_name("do_work.cold", "do_work");
    expect_display_name("merge.lto_priv.0", "merge");
    expect_display_name("_ZL4spinv.llvm.1234567", "spin()");
    /* A C++ clone reads as its function, not "... [clone .isra.0]" (the
     * suffix used to be cut after demangling, leaving "[clone "). */
    expect_display_name("_ZN8workload5countERSt6vectorIiSaIiEE.isra.0",
                        "workload::count(std::vector<int, std::allocator<int> >&)");
    expect_display_name("_ZN1a1bEv.constprop.0.isra.0", "a::b()");
    expect_display_name(".hidden.part.0", ".hidden"); /* a leading mark is kept */
    expect_display_name("plain", "plain");
    /* And through the symbolizer, a plain static function stays whole. */
    struct cg_symbolizer *s = cg_symbolizer_new(NULL);
    struct cg_symbol sym;
    cg_symbolizer_resolve(s, (uintptr_t)static_helper_for_test, &sym);
    assert_null(strchr(sym.name, '.'));
    cg_symbolizer_free(s);
}

static void refresh_sees_a_library_loaded_later(void **state)
{
    (void)state;
    struct cg_symbolizer *s = cg_symbolizer_new(NULL);
    void *h = dlopen("libz.so.1", RTLD_NOW);
    if (!h)
        skip();
    void *fn = dlsym(h, "crc32");
    assert_int_equal(cg_symbolizer_refresh(s), 0);
    struct cg_symbol sym;
    cg_symbolizer_resolve(s, (uintptr_t)fn + 1, &sym);
    assert_string_equal(sym.name, "crc32");
    cg_symbolizer_free(s);
    dlclose(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(static_function_is_named_from_symtab),
        cmocka_unit_test(libc_function_is_named),
        cmocka_unit_test(address_past_an_exported_symbol_is_basename_plus_offset),
        cmocka_unit_test(pc_in_no_module_is_unknown),
        cmocka_unit_test(vdso_functions_are_named),
        cmocka_unit_test(cpp_and_rust_names_are_demangled),
        cmocka_unit_test(compiler_clone_suffixes_fold_into_the_function),
        cmocka_unit_test(refresh_sees_a_library_loaded_later),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
