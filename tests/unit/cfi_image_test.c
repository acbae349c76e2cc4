/*
 * cfi_image_test.c - the compiled unwind rows (core/sample/cfi_image.h)
 * against the row found for one address at a time by cfi_row.c (itself
 * checked against libunwind in cfi_row_test.c), at every fifth byte of
 * libc's and this program's code; an image of an object that is then
 * unloaded stops answering once forgotten.
 */
#include "core/sample/cfi_image.h"
#include "core/sample/cfi_row.h"
#include "tests/unit/code_range.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

/* Compares image and single-row answers over the object's code. */
static void image_agrees(const char *part, size_t min_rows)
{
    struct code_range r = code_range_of(part);
    assert_true(r.hi > r.lo);
    static struct cg_cfi_images images;
    cg_cfi_images_init(&images, 64u << 20);
    assert_true(cg_cfi_images_add(&images, r.lo + (r.hi - r.lo) / 2));
    size_t rows, bytes;
    assert_true(cg_cfi_images_stats(&images, r.lo, &rows, &bytes));
    assert_true(rows >= min_rows);
    struct cg_cfi_reader *rd = calloc(1, sizeof(*rd));
    assert_non_null(rd);
    size_t same = 0, with_row = 0, differ = 0;
    for (uint64_t a = r.lo; a < r.hi; a += 5) {
        struct cg_cfi_row one, img;
        bool a_ok = cg_cfi_row_find(rd, a, &one);
        bool b_ok = cg_cfi_images_row_sigsafe(&images, a, &img);
        bool agree = a_ok == b_ok &&
                     (!a_ok || (one.cfa == img.cfa && one.cfa_off == img.cfa_off &&
                                one.rbp_off == img.rbp_off));
        if (agree) {
            same++;
            with_row += a_ok;
        } else if (differ++ < 5) {
            fprintf(stderr, "%s+%#lx: single %d (cfa %d%+d rbp %d), image %d (cfa %d%+d rbp %d)\n",
                    part, (unsigned long)(a - r.lo), a_ok, one.cfa, one.cfa_off, one.rbp_off,
                    b_ok, img.cfa, img.cfa_off, img.rbp_off);
        }
    }
    fprintf(stderr, "%s: %zu addresses agree (%zu with a row), %zu differ; %zu rows, %zu bytes\n",
            part[0] ? part : "program", same, with_row, differ, rows, bytes);
    assert_int_equal(differ, 0);
    assert_true(with_row > same / 2);
    free(rd);
    cg_cfi_images_cleanup(&images);
}

static void libc_rows_agree(void **state)
{
    (void)state;
    image_agrees("/libc.so", 5000);
}

static void program_rows_agree(void **state)
{
    (void)state;
    image_agrees("", 50);
}

static void an_unloaded_object_is_forgotten(void **state)
{
    (void)state;
    void *h = dlopen("libbz2.so.1.0", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        skip(); /* libbz2 is usual on Debian (dpkg needs it), not promised */
    struct code_range r = code_range_of("libbz2");
    assert_true(r.hi > r.lo);
    static struct cg_cfi_images images;
    cg_cfi_images_init(&images, 64u << 20);
    struct cg_cfi_row row;
    uint64_t probe = 0;
    assert_true(cg_cfi_images_add(&images, r.lo));
    for (uint64_t a = r.lo; a < r.hi && !probe; a += 16)
        if (cg_cfi_images_row_sigsafe(&images, a, &row))
            probe = a;
    assert_true(probe != 0);
    cg_cfi_images_forget(&images); /* still loaded: kept */
    assert_true(cg_cfi_images_row_sigsafe(&images, probe, &row));
    if (dlclose(h) != 0)
        skip();
    struct code_range gone = code_range_of("libbz2");
    if (gone.hi)
        skip(); /* something else holds libbz2 */
    cg_cfi_images_forget(&images);
    assert_false(cg_cfi_images_row_sigsafe(&images, probe, &row));
    cg_cfi_images_cleanup(&images);
}

static void a_cap_refuses_an_image(void **state)
{
    (void)state;
    struct code_range r = code_range_of("/libc.so");
    static struct cg_cfi_images images;
    cg_cfi_images_init(&images, 4096);
    assert_false(cg_cfi_images_add(&images, r.lo));
    struct cg_cfi_row row;
    assert_false(cg_cfi_images_row_sigsafe(&images, r.lo + 64, &row));
    cg_cfi_images_cleanup(&images);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(libc_rows_agree),
        cmocka_unit_test(program_rows_agree),
        cmocka_unit_test(an_unloaded_object_is_forgotten),
        cmocka_unit_test(a_cap_refuses_an_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
