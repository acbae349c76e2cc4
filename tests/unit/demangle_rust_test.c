/*
 * demangle_rust_test.c - Rust v0 names.  The symbols come from a real
 * program built by rustc 1.95 with -C symbol-mangling-version=v0; the
 * expected names are what binutils' independent demangler (c++filt)
 * prints, without the crate hashes we leave out.  Over all 640 v0 symbols
 * of that program the two agree (see docs/symbolizer.md).
 */
#include "core/demangle.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void expect(const char *mangled, const char *want)
{
    char *got = cg_demangle(mangled);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void real_symbols(void **state)
{
    (void)state;
    /* const generics and a backref to the crate */
    expect("_RINvCskK7mfDs1mzF_1m7generichKj3_EB2_", "m::generic::<u8, 3>");
    /* an inherent impl on a slice type, generic args with backrefs */
    expect("_RINvMNtCsgEmfK2I1SDS_4core5sliceSh11copy_withinINtNtNtB5_3ops5range14Range"
           "InclusivejEECsfEOYDRpO4Ta_11miniz_oxide",
           "<[u8]>::copy_within::<core::ops::range::RangeInclusive<usize>>");
    /* closures */
    expect("_RINvMNtNtCsjrHSEGnQ3l9_3std4sync9once_lockINtB3_8OnceLockNtNtB7_2fs4FileE10"
           "initializeNCNvNtNtNtB7_3sys6random5linux9getrandom0NtNtNtB7_2io5error5ErrorEB7_",
           "<std::sync::once_lock::OnceLock<std::fs::File>>::initialize::<std::sys::random::"
           "linux::getrandom::{closure#0}, std::io::error::Error>");
    /* &mut [u8] */
    expect("_RINvNtCsgEmfK2I1SDS_4core3ptr13drop_in_placeINtNvNtCsjrHSEGnQ3l9_3std2io17"
           "default_write_fmt7AdapterINtNtBL_6cursor6CursorQShEEEBN_",
           "core::ptr::drop_in_place::<std::io::default_write_fmt::Adapter<std::io::cursor::"
           "Cursor<&mut [u8]>>>");
    /* fn pointers and unit */
    expect("_RINvNtNtCsjrHSEGnQ3l9_3std3sys9backtrace28___rust_begin_short_backtraceFEuuECsk"
           "K7mfDs1mzF_1m",
           "std::sys::backtrace::__rust_begin_short_backtrace::<fn(), ()>");
    /* shims and trait definitions */
    expect("_RNSNvYNCINvNtCsjrHSEGnQ3l9_3std2rt10lang_startuE0INtNtNtCsgEmfK2I1SDS_4core3op"
           "s8function6FnOnceuE9call_once6vtableCskK7mfDs1mzF_1m",
           "<std::rt::lang_start<()>::{closure#0} as core::ops::function::FnOnce<()>>::"
           "call_once::{shim:vtable#0}");
    /* trait impls */
    expect("_RNvXNvNtCsjrHSEGnQ3l9_3std2io17default_write_fmtINtB2_7AdapterINtNtB4_6cursor6"
           "CursorQShEENtNtCsgEmfK2I1SDS_4core3fmt5Write9write_strB6_",
           "<std::io::default_write_fmt::Adapter<std::io::cursor::Cursor<&mut [u8]>> as "
           "core::fmt::Write>::write_str");
    /* dyn traits and a disambiguated impl */
    expect("_RNvXs1g_NtCsgEmfK2I1SDS_4core3fmtRDNtB6_5DebugEL_Bx_3fmtB8_",
           "<&dyn core::fmt::Debug as core::fmt::Debug>::fmt");
    /* one-element tuples keep their comma */
    expect("_RNvYNvNtNtNtCsjrHSEGnQ3l9_3std3sys2fs4unix12canonicalizeINtNtNtCsgEmfK2I1SDS_4"
           "core3ops8function2FnTRNtNtNtBZ_3ffi5c_str4CStrEE4callBa_",
           "<std::sys::fs::unix::canonicalize as core::ops::function::Fn<(&core::ffi::c_str::"
           "CStr,)>>::call");
    /* a vendor suffix after the symbol is not part of the name */
    expect("_RNvCs1234_7mycrate3foo.llvm.123456", "mycrate::foo");
}

static void bad_input_is_left_alone(void **state)
{
    (void)state;
    const char *bad[] = {
        "_R",                                 /* empty */
        "_RNvCs1234_7mycrate",                /* truncated */
        "_RNvCs1234_7mycrate99foo",           /* length past the end */
        "_RB_",                               /* a backref to itself */
        "_RNvB0_3foo",                        /* a backref loop */
        "_RNvCs!5_7mycrate3foo",              /* not a base-62 digit */
        "_RNvCs_u7mycrate3foo",               /* punycode: kept mangled */
        "_RZ",                                /* unknown production */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *got = cg_demangle_rust_v0(bad[i]);
        assert_null(got);
    }
    /* Deep nesting stops at the depth limit instead of the stack's. */
    size_t n = 20000;
    char *deep = malloc(n + 3);
    memcpy(deep, "_R", 2);
    memset(deep + 2, 'I', n);
    deep[n + 2] = '\0';
    assert_null(cg_demangle_rust_v0(deep));
    free(deep);
    assert_null(cg_demangle_rust_v0("_ZN3foo3barE"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_symbols),
        cmocka_unit_test(bad_input_is_left_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
