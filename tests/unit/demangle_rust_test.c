/*
 * demangle_rust_test.c - Rust v0 names.
 *
 * real_program_symbols: symbols of a program built by rustc 1.95 with
 * -C symbol-mangling-version=v0 (generics, closures, shims, trait objects
 * with for<'a> binders, fn pointers with ABIs, const generics, non-ASCII
 * identifiers).  The expected names are what binutils' c++filt prints
 * without crate hashes, except where c++filt 2.40 is wrong and
 * rustc-demangle is not (chars past ASCII, '\'', u128 values).
 * rustc_demangle_vectors: the expected outputs of rustc-demangle's own
 * tests for its "{:#}" form (const values of every kind, punycode,
 * backref explosion, suffixes).
 * The 101,527 v0 symbols of rustc 1.95's librustc_driver all demangle and
 * agree with c++filt apart from the same c++filt bugs and its dropping of
 * ".cold"-style suffixes (see docs/symbolizer.md).
 */
#include "core/symbols/demangle.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void expect(const char *mangled, const char *want)
{
    char *got = cg_demangle(mangled);
    if (!got || strcmp(got, want) != 0)
        print_error("%s\n  want %s\n  got  %s\n", mangled, want, got ? got : "(null)");
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void real_program_symbols(void **state)
{
    (void)state;
    /* const generics and a backref to the crate */
    expect("_RINvCskK7mfDs1mzF_1m7generichKj3_EB2_", "m::generic::<u8, 3>");
    expect("_RINvCskK7mfDs1mzF_1m7genericReKj7_EB2_", "m::generic::<&str, 7>");
    expect("_RINvCskK7mfDs1mzF_1m5cboolKb1_EB2_", "m::cbool::<true>");
    expect("_RINvCskK7mfDs1mzF_1m4cnegKln5_EB2_", "m::cneg::<-5>");
    expect("_RINvCskK7mfDs1mzF_1m5ccharKc78_EB2_", "m::cchar::<'x'>");
    expect("_RINvCskK7mfDs1mzF_1m5ccharKca_EB2_", "m::cchar::<'\\n'>");
    expect("_RINvCskK7mfDs1mzF_1m5ccharKc27_EB2_", "m::cchar::<'\\''>");
    expect("_RINvCskK7mfDs1mzF_1m5ccharKc2202_EB2_", "m::cchar::<'\xe2\x88\x82'>");
    expect("_RINvCskK7mfDs1mzF_1m5ci128Koffffffffffffffffffffffffffffffff_EB2_",
           "m::ci128::<0xffffffffffffffffffffffffffffffff>");
    expect("_RINvCskK7mfDs1mzF_1m3arrtKj3_EB2_", "m::arr::<u16, 3>");
    /* an inherent impl on a slice type, generic args with backrefs */
    expect("_RINvMNtCsgEmfK2I1SDS_4core5sliceSh11copy_withinINtNtNtB5_3ops5range14Range"
           "InclusivejEECsfEOYDRpO4Ta_11miniz_oxide",
           "<[u8]>::copy_within::<core::ops::range::RangeInclusive<usize>>");
    expect("_RNvMCskK7mfDs1mzF_1mINtB2_7WrappermE4showB2_", "<m::Wrapper<u32>>::show");
    /* closures */
    expect("_RINvMNtNtCsjrHSEGnQ3l9_3std4sync9once_lockINtB3_8OnceLockNtNtB7_2fs4FileE10"
           "initializeNCNvNtNtNtB7_3sys6random5linux9getrandom0NtNtNtB7_2io5error5ErrorEB7_",
           "<std::sync::once_lock::OnceLock<std::fs::File>>::initialize::<std::sys::random::"
           "linux::getrandom::{closure#0}, std::io::error::Error>");
    expect("_RINvCskK7mfDs1mzF_1m10takes_hrtbNCNvB2_4main0EB2_",
           "m::takes_hrtb::<m::main::{closure#0}>");
    /* &mut [u8], raw pointers, one-element tuples keep their comma */
    expect("_RINvNtCsgEmfK2I1SDS_4core3ptr13drop_in_placeINtNvNtCsjrHSEGnQ3l9_3std2io17"
           "default_write_fmt7AdapterINtNtBL_6cursor6CursorQShEEEBN_",
           "core::ptr::drop_in_place::<std::io::default_write_fmt::Adapter<std::io::cursor::"
           "Cursor<&mut [u8]>>>");
    expect("_RNvMs3_NtCslNYArtu3iFV_5alloc7raw_vecINtB5_6RawVecPaE8grow_oneCsjrHSEGnQ3l9_3std",
           "<alloc::raw_vec::RawVec<*const i8>>::grow_one");
    expect("_RNvYNvNtNtNtCsjrHSEGnQ3l9_3std3sys2fs4unix12canonicalizeINtNtNtCsgEmfK2I1SDS_4"
           "core3ops8function2FnTRNtNtNtBZ_3ffi5c_str4CStrEE4callBa_",
           "<std::sys::fs::unix::canonicalize as core::ops::function::Fn<(&core::ffi::c_str::"
           "CStr,)>>::call");
    /* fn pointers: unit, ABIs ("C-unwind" is mangled C_unwind), binders */
    expect("_RINvNtNtCsjrHSEGnQ3l9_3std3sys9backtrace28___rust_begin_short_backtraceFEuuECsk"
           "K7mfDs1mzF_1m",
           "std::sys::backtrace::__rust_begin_short_backtrace::<fn(), ()>");
    expect("_RINvCskK7mfDs1mzF_1m11takes_fnptrFlElEB2_", "m::takes_fnptr::<fn(i32) -> i32>");
    expect("_RINvCskK7mfDs1mzF_1m11takes_fnptrFUKClElEB2_",
           "m::takes_fnptr::<unsafe extern \"C\" fn(i32) -> i32>");
    expect("_RINvCskK7mfDs1mzF_1m11takes_fnptrFK8C_unwindlElEB2_",
           "m::takes_fnptr::<extern \"C-unwind\" fn(i32) -> i32>");
    expect("_RINvCskK7mfDs1mzF_1m11takes_fnptrFG_RL0_eERL0_eEB2_",
           "m::takes_fnptr::<for<'a> fn(&'a str) -> &'a str>");
    expect("_RNvMs3_NtCslNYArtu3iFV_5alloc7raw_vecINtB5_6RawVecTOhFUKCBN_EuENtNtCsjrHSEGnQ3l9_"
           "3std5alloc6SystemE8grow_oneB13_",
           "<alloc::raw_vec::RawVec<(*mut u8, unsafe extern \"C\" fn(*mut u8)), "
           "std::alloc::System>>::grow_one");
    /* trait objects: binders, associated types inside the trait's <...> */
    expect("_RINvNtCsgEmfK2I1SDS_4core3ptr13drop_in_placeINtNtCslNYArtu3iFV_5alloc5boxed3BoxDG0_"
           "INtNtNtB4_3ops8function2FnTRL1_INtNtCsjrHSEGnQ3l9_3std5panic13PanicHookInfoL0_EEEp6"
           "OutputuNtNtB4_6marker4SyncNtB2N_4SendEL_EEB1T_",
           "core::ptr::drop_in_place::<alloc::boxed::Box<dyn for<'a, 'b> core::ops::function::"
           "Fn<(&'a std::panic::PanicHookInfo<'b>,), Output = ()> + core::marker::Sync + "
           "core::marker::Send>>");
    expect("_RNvXs1g_NtCsgEmfK2I1SDS_4core3fmtRDNtB6_5DebugEL_Bx_3fmtB8_",
           "<&dyn core::fmt::Debug as core::fmt::Debug>::fmt");
    /* shims and trait impls */
    expect("_RNSNvYNCINvNtCsjrHSEGnQ3l9_3std2rt10lang_startuE0INtNtNtCsgEmfK2I1SDS_4core3op"
           "s8function6FnOnceuE9call_once6vtableCskK7mfDs1mzF_1m",
           "<std::rt::lang_start<()>::{closure#0} as core::ops::function::FnOnce<()>>::"
           "call_once::{shim:vtable#0}");
    expect("_RNvXNvNtCsjrHSEGnQ3l9_3std2io17default_write_fmtINtB2_7AdapterINtNtB4_6cursor6"
           "CursorQShEENtNtCsgEmfK2I1SDS_4core3fmt5Write9write_strB6_",
           "<std::io::default_write_fmt::Adapter<std::io::cursor::Cursor<&mut [u8]>> as "
           "core::fmt::Write>::write_str");
    /* non-ASCII identifiers (punycode) */
    expect("_RINvCskK7mfDs1mzF_1mu9gre_6ka8ijEB2_", "m::gr\xc3\xb6\xc3\x9f" "e::<usize>");
    expect("_RNvNtCskK7mfDs1mzF_1m11unicode_modu9gre_6ka8l",
           "m::unicode_mod::gr\xc3\xbc\xc3\x9f" "e");
    /* suffixes: ThinLTO's ".llvm.HEX" goes, others stay (the symbolizer
     * cuts ".cold" itself) */
    expect("_RNvCs1234_7mycrate3foo.llvm.123456", "mycrate::foo");
    expect("_RINvCs3Wn5k6Pa3dh_8thin_vec10alloc_sizeNtNtCsjyvvofjlheH_10rustc_span6symbol6"
           "SymbolECshek8c565Rq6_18rustc_attr_parsing.cold",
           "thin_vec::alloc_size::<rustc_span::symbol::Symbol>.cold");
    /* i128 extremes (c++filt 2.40 gets these wrong) */
    expect("_RNvXs8Z_NtNtCshg5UprtI8ZK_4jiff4util8rangeintINtB6_5ri128Knn80000000000000000000"
           "000000000000_Kn7fffffffffffffffffffffffffffffff_ENtNtCsgEmfK2I1SDS_4core3fmt7Display"
           "3fmtBa_",
           "<jiff::util::rangeint::ri128<-0x80000000000000000000000000000000, "
           "0x7fffffffffffffffffffffffffffffff> as core::fmt::Display>::fmt");
}

static void rustc_demangle_vectors(void **state)
{
    (void)state;
    expect("_RNvC6_123foo3bar", "123foo::bar");
    expect("_RC4f128", "f128");
    expect("_RNqCs4fqI2P2rA04_11utf8_identsu30____7hkackfecea1cbdathfdh9hlq6y",
           "utf8_idents::\xe1\x83\xa1\xe1\x83\x90\xe1\x83\xad\xe1\x83\x9b\xe1\x83\x94\xe1\x83"
           "\x9a\xe1\x83\x90\xe1\x83\x93_\xe1\x83\x92\xe1\x83\x94\xe1\x83\x9b\xe1\x83\xa0\xe1"
           "\x83\x98\xe1\x83\x94\xe1\x83\x9a\xe1\x83\x98_\xe1\x83\xa1\xe1\x83\x90\xe1\x83\x93"
           "\xe1\x83\x98\xe1\x83\x9a\xe1\x83\x98");
    expect("_RNCNCNgCs6DXkGYLi8lr_2cc5spawn00B5_", "cc::spawn::{closure#0}::{closure#0}");
    expect("_RNCINkXs25_NgCsbmNqQUJIY6D_4core5sliceINyB9_4IterhENuNgNoBb_4iter8iterator8Iterat"
           "or9rpositionNCNgNpB9_6memchr7memrchrs_0E0Bb_",
           "<core::slice::Iter<u8> as core::iter::iterator::Iterator>::rposition::<core::slice::"
           "memchr::memrchr::{closure#1}>::{closure#0}");
    expect("_RINbNbCskIICzLVDPPb_5alloc5alloc8box_freeDINbNiB4_5boxed5FnBoxuEp6OutputuEL_ECs1"
           "iopQbuBiw2_3std",
           "alloc::alloc::box_free::<dyn alloc::boxed::FnBox<(), Output = ()>>");
    expect("_RMC0INtC8arrayvec8ArrayVechKj7b_E", "<arrayvec::ArrayVec<u8, 123>>");
    expect("_RMC0WmRm1_m9_", "<u32 is 1..=9>");
    expect("_RMC0WmORm1_m2_Rm5_m6_E", "<u32 is 1..=2 | 5..=6>");
    expect("_RNvNvMCs4fqI2P2rA04_13const_genericINtB4_3FooKpE3foo3FOO",
           "<const_generic::Foo<_>>::foo::FOO");
    /* const values: "_RIC0K" value "E" prints "::<" value ">" */
    static const char *const consts[][2] = {
        {"p", "_"},
        {"hb_", "11"},
        {"off00ff00ff00ff00ff_", "0xff00ff00ff00ff00ff"},
        {"s98_", "152"},
        {"anb_", "-11"},
        {"b0_", "false"},
        {"c22_", "'\"'"},
        {"e616263_", "{*\"abc\"}"},
        {"e27_", "{*\"'\"}"},
        {"e090a_", "{*\"\\t\\n\"}"},
        {"ee28882c3bc_", "{*\"\xe2\x88\x82\xc3\xbc\"}"},
        {"Re616263_", "\"abc\""},
        {"Rp", "{&_}"},
        {"Rc58_", "{&'X'}"},
        {"RRRh0_", "{&&&0}"},
        {"RRRe_", "{&&\"\"}"},
        {"QAE", "{&mut []}"},
        {"Ah1_h2_h3_E", "{[1, 2, 3]}"},
        {"AAh1_h2_EAh3_h4_EE", "{[[1, 2], [3, 4]]}"},
        {"Tj0_E", "{(0,)}"},
        {"TRe616263_c78_RAh1_h2_h3_EE", "{(\"abc\", 'x', &[1, 2, 3])}"},
        {"VNvINtNtC4core6option6OptionjE4NoneU", "{core::option::Option::<usize>::None}"},
        {"VNvINtNtC4core6option6OptionjE4SomeTj0_E",
         "{core::option::Option::<usize>::Some(0)}"},
        {"VNtC3foo3BarS1sRe616263_2chc78_5sliceRAh1_h2_h3_EE",
         "{foo::Bar { s: \"abc\", ch: 'x', slice: &[1, 2, 3] }}"},
    };
    for (size_t i = 0; i < sizeof(consts) / sizeof(consts[0]); i++) {
        char mangled[256], want[256];
        snprintf(mangled, sizeof(mangled), "_RIC0K%sE", consts[i][0]);
        snprintf(want, sizeof(want), "::<%s>", consts[i][1]);
        expect(mangled, want);
    }
    /* Six nested backrefs: 2^6 copies of "_", from a 38-byte symbol. */
    char *got = cg_demangle("_RMC0TTTTTTpB8_EB7_EB6_EB5_EB4_EB3_E");
    assert_non_null(got);
    size_t underscores = 0;
    for (const char *c = got; *c; c++)
        underscores += *c == '_';
    assert_int_equal(underscores, 64);
    assert_true(strncmp(got, "<((((((_, _), (_, _)), ((_, _), (_, _))), ", 42) == 0);
    free(got);
    expect("_RC3foo.llvm.9D1C9369@@16", "foo");
    expect("_RNvNtNtNtNtCs92dm3009vxr_4rand4rngs7adapter9reseeding4fork23FORK_HANDLER_REGISTE"
           "RED.0.0",
           "rand::rngs::adapter::reseeding::fork::FORK_HANDLER_REGISTERED.0.0");
}

static void bad_input_is_left_alone(void **state)
{
    (void)state;
    const char *bad[] = {
        "_R",                                 /* empty */
        "_RNvCs1234_7mycrate",                /* truncated */
        "_RNvCs1234_7mycrate99foo",           /* length past the end */
        "_RB_",                               /* a backref to itself */
        "_RNvB0_3foo",                        /* a backref forward */
        "_RNvCs!5_7mycrate3foo",              /* not a base-62 digit */
        "_RNvCs_u8mycrate_3foo",              /* punycode with no insertions */
        "_RZ",                                /* unknown production */
        "_R0NvC1a1b",                         /* a version number */
        "_Rnope",                             /* paths start upper-case */
        "_RNvC1a1b trailing",                 /* not a suffix */
        "_RNvC1a1b\xc3\xa9",                  /* not ASCII */
        "_RIC0Kb2_E",                         /* bool 2 */
        "_RIC0Kcd800_E",                      /* a surrogate is no char */
        "_RIC0Ke616_E",                       /* half a byte */
        "_RIC0Kec3_E",                        /* cut UTF-8 */
        "_RIC0Kec0af_E",                      /* overlong UTF-8 */
        "_RIC0Kf1_E",                         /* floats are no const */
        "_RIC0RL1_hE",                        /* lifetime with no binder */
        "_RIC0DNvC1a1bEE",                    /* dyn without its lifetime */
        "_RINvC1a1bKVC1xZE",                  /* no such ADT value kind */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *got = cg_demangle_rust_v0(bad[i]);
        if (got)
            print_error("%s -> %s\n", bad[i], got);
        assert_null(got);
    }
    /* Deep nesting stops at the depth limit instead of the stack's. */
    size_t n = 20000;
    char *deep = malloc(n + 8);
    memcpy(deep, "_RIC0", 5);
    memset(deep + 5, 'R', n);
    memcpy(deep + 5 + n, "pE", 3);
    assert_null(cg_demangle_rust_v0(deep));
    free(deep);
    assert_null(cg_demangle_rust_v0("_ZN3foo3barE"));
    assert_null(cg_demangle("_RZ"));
}

/* A name past the output bound is cut, marked, and still checked. */
static void long_names_are_cut(void **state)
{
    (void)state;
    /* _RIC0 then 1000 x "C4abcd", then E: "::<abcd, abcd, ...>" */
    size_t n = 1000;
    char *sym = malloc(6 * n + 8);
    strcpy(sym, "_RIC0");
    for (size_t i = 0; i < n; i++)
        strcat(sym, "C4abcd");
    strcat(sym, "E");
    char *got = cg_demangle_rust_v0(sym);
    assert_non_null(got);
    size_t len = strlen(got);
    assert_true(len < 4096 && len > 4000);
    assert_string_equal(got + len - 3, "...");
    assert_true(strncmp(got, "::<abcd, abcd", 13) == 0);
    free(got);
    /* ... and an error after the cut still refuses the whole name. */
    sym[strlen(sym) - 1] = 'Z';
    assert_null(cg_demangle_rust_v0(sym));
    free(sym);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_program_symbols),
        cmocka_unit_test(rustc_demangle_vectors),
        cmocka_unit_test(bad_input_is_left_alone),
        cmocka_unit_test(long_names_are_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
