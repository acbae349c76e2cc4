/*
 * python_layouts_test.c - the committed CPython offset tables: a row for
 * each of 3.8 .. 3.13 and none for 3.7, 3.14 or Python 2; each row's
 * frame chain, the fields its version has (non-negative) and those it
 * lacks (-1), and invariants every row must keep (frame and code sizes
 * cover the fields read, the string state after hash).  That the values
 * are CPython's own is tests/repo/test_python_layouts.py's job.
 */
#include "core/runtime/python_layout.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static const struct cg_py_layout *row(unsigned minor)
{
    const struct cg_py_layout *l = cg_py_layout_find(3, minor);
    assert_non_null(l);
    assert_int_equal(l->major, 3);
    assert_int_equal(l->minor, minor);
    return l;
}

static void every_supported_version_has_a_row(void **state)
{
    (void)state;
    for (unsigned minor = 8; minor <= 13; minor++)
        row(minor);
}

static void other_versions_have_none(void **state)
{
    (void)state;
    assert_null(cg_py_layout_find(3, 7));
    assert_null(cg_py_layout_find(3, 14));
    assert_null(cg_py_layout_find(3, 0));
    assert_null(cg_py_layout_find(2, 7));
    assert_null(cg_py_layout_find(4, 8));
}

static void each_version_has_its_frame_chain(void **state)
{
    (void)state;
    for (unsigned minor = 8; minor <= 10; minor++)
        assert_int_equal(row(minor)->chain, CG_PY_CHAIN_FRAMEOBJ);
    assert_int_equal(row(11)->chain, CG_PY_CHAIN_CFRAME);
    assert_int_equal(row(12)->chain, CG_PY_CHAIN_CFRAME);
    assert_int_equal(row(13)->chain, CG_PY_CHAIN_IFRAME);
}

/* What every version has. */
static void common_fields_are_set(void **state)
{
    (void)state;
    for (unsigned minor = 8; minor <= 13; minor++) {
        const struct cg_py_layout *l = row(minor);
        const long present[] = {
            l->runtime_interpreters_head, l->runtime_tss_key, l->interp_threads_head,
            l->tstate_interp, l->tstate_thread_id, l->tstate_frame,
            l->frame_instr, l->frame_localsplus,
            l->code_argcount, l->code_firstlineno, l->code_name, l->code_filename,
            l->code_linetable, l->code_varnames,
            l->bytes_data, l->tuple_items, l->unicode_length, l->unicode_state,
        };
        for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++)
            assert_true(present[i] > 0);
        /* Offset 0 is legitimate for these (3.12+ frames start with the code). */
        assert_true(l->tstate_next >= 0);
        assert_true(l->frame_previous >= 0);
        assert_true(l->frame_code >= 0);
        assert_int_not_equal(l->frame_previous, l->frame_code);
        assert_int_equal(l->object_type, 8);
        assert_int_equal(l->type_name, 24);
        assert_int_equal(l->bytes_size, 16);
        assert_int_equal(l->tuple_size, 16);
        assert_true(l->unicode_ascii_size > l->unicode_state);
        assert_true(l->unicode_compact_size > l->unicode_ascii_size);
    }
}

/* 3.8 - 3.10: PyFrameObject, no native id, no data stack, no owner. */
static void frame_object_versions_lack_the_newer_fields(void **state)
{
    (void)state;
    for (unsigned minor = 8; minor <= 10; minor++) {
        const struct cg_py_layout *l = row(minor);
        assert_int_equal(l->tstate_native_thread_id, -1);
        assert_int_equal(l->tstate_datastack_chunk, -1);
        assert_int_equal(l->cframe_current_frame, -1);
        assert_int_equal(l->chunk_previous, -1);
        assert_int_equal(l->chunk_size, -1);
        assert_int_equal(l->frame_owner, -1);
        assert_int_equal(l->frame_is_entry, -1);
        assert_int_equal(l->code_qualname, -1);
        assert_int_equal(l->code_adaptive, -1);
        assert_int_equal(l->owner_generator, -1);
        assert_int_equal(l->owner_cstack, -1);
        /* The frame is an object: its chain link comes after the header. */
        assert_true(l->frame_previous >= 16);
    }
}

/* 3.11+: _PyInterpreterFrame on the thread's data stack. */
static void interpreter_frame_versions_have_them(void **state)
{
    (void)state;
    for (unsigned minor = 11; minor <= 13; minor++) {
        const struct cg_py_layout *l = row(minor);
        assert_true(l->tstate_native_thread_id > 0);
        assert_true(l->tstate_datastack_chunk > 0);
        assert_int_equal(l->chunk_previous, 0);
        assert_int_equal(l->chunk_size, 8);
        assert_true(l->frame_owner > 0);
        assert_true(l->code_qualname > 0);
        assert_true(l->code_adaptive > 0);
        assert_int_equal(l->owner_generator, 1);
        assert_int_equal(l->tstate_native_thread_id, l->tstate_thread_id + 8);
    }
    assert_true(row(11)->cframe_current_frame >= 0);
    assert_true(row(12)->cframe_current_frame >= 0);
    assert_int_equal(row(13)->cframe_current_frame, -1);
    /* is_entry only on 3.11; FRAME_OWNED_BY_CSTACK from 3.12. */
    assert_true(row(11)->frame_is_entry > 0);
    assert_int_equal(row(12)->frame_is_entry, -1);
    assert_int_equal(row(13)->frame_is_entry, -1);
    assert_int_equal(row(11)->owner_cstack, -1);
    assert_int_equal(row(12)->owner_cstack, 3);
    assert_int_equal(row(13)->owner_cstack, 3);
}

/* A frame read of frame_size bytes holds the link, the code, the
   instruction, the owner and the first local; a code read of code_size
   bytes holds every code field. */
static void sizes_cover_the_fields_read(void **state)
{
    (void)state;
    for (unsigned minor = 8; minor <= 13; minor++) {
        const struct cg_py_layout *l = row(minor);
        const long frame[] = {l->frame_previous, l->frame_code, l->frame_instr,
                              l->frame_owner, l->frame_is_entry, l->frame_localsplus};
        for (size_t i = 0; i < sizeof(frame) / sizeof(frame[0]); i++)
            assert_true(frame[i] + 8 <= l->frame_size);
        assert_int_equal(l->frame_size, l->frame_localsplus + 8);
        const long code[] = {l->code_argcount, l->code_firstlineno, l->code_name,
                             l->code_qualname, l->code_filename, l->code_linetable,
                             l->code_varnames, l->code_adaptive};
        for (size_t i = 0; i < sizeof(code) / sizeof(code[0]); i++)
            assert_true(code[i] + 8 <= l->code_size);
        assert_true(l->code_size <= 512);
        assert_true(l->frame_size <= 512);
    }
}

/* Pointer-sized fields are 8-aligned; the string state follows hash. */
static void alignment_and_the_string_state(void **state)
{
    (void)state;
    for (unsigned minor = 8; minor <= 13; minor++) {
        const struct cg_py_layout *l = row(minor);
        const long words[] = {
            l->runtime_interpreters_head, l->interp_threads_head, l->tstate_next,
            l->tstate_interp, l->tstate_thread_id, l->tstate_frame, l->frame_previous,
            l->frame_instr, l->frame_localsplus, l->code_name,
            l->code_filename, l->code_linetable, l->code_varnames, l->tuple_items,
        };
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
            assert_int_equal(words[i] % 8, 0);
        assert_int_equal(l->unicode_length, 16);
        assert_int_equal(l->unicode_state, l->unicode_length + 16); /* after hash */
        assert_int_equal(l->runtime_tss_key % 4, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_supported_version_has_a_row),
        cmocka_unit_test(other_versions_have_none),
        cmocka_unit_test(each_version_has_its_frame_chain),
        cmocka_unit_test(common_fields_are_set),
        cmocka_unit_test(frame_object_versions_lack_the_newer_fields),
        cmocka_unit_test(interpreter_frame_versions_have_them),
        cmocka_unit_test(sizes_cover_the_fields_read),
        cmocka_unit_test(alignment_and_the_string_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
