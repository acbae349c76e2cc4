/*
 * python_merge_test.c - one stack out of native frames and the Python
 * chain (core/runtime/python_merge.c): each run of Python frames takes
 * the place of its evaluator frame, runs and evaluator frames are paired
 * from the root, extra runs at the leaf go in with the innermost paired
 * one, extra evaluator frames stay native, and with no evaluator frame
 * the Python frames become the native ones' callers; a chain cut short
 * is paired from the leaf.
 */
#include "core/runtime/python_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#define EVAL 0x1000 /* [0x1000, 0x2000) is the evaluator */

static char *names[] = {"f0", "f1", "f2", "f3", "f4", "f5"};
static struct py_func funcs_storage[6];

/* A cg_py with the evaluator's range and six functions f0..f5 (ids 1..6). */
static void setup(struct cg_py *py)
{
    memset(py, 0, sizeof(*py));
    py->eval[0].start = EVAL;
    py->eval[0].end = 0x2000;
    py->n_eval = 1;
    for (int i = 0; i < 6; i++) {
        funcs_storage[i].name = names[i];
        funcs_storage[i].file = "/app.py";
    }
    py->funcs = funcs_storage;
    py->funcs_n = 6;
}

/* A resolved Python frame: function f<i>, line, entry flag (or cut). */
static size_t put_flags(uint64_t *w, size_t n, int f, int line, unsigned more)
{
    unsigned flags = CG_PY_RESOLVED | more;
    w[n] = CG_PY_WORD_TAG | (uint64_t)flags << 32 | (uint32_t)line;
    w[n + 1] = (uint64_t)f + 1;
    w[n + 2] = 0;
    return n + CG_PY_WORDS;
}

static size_t put(uint64_t *w, size_t n, int f, int line, bool entry)
{
    unsigned flags = CG_PY_RESOLVED | (entry ? CG_PY_ENTRY : 0);
    w[n] = CG_PY_WORD_TAG | (uint64_t)flags << 32 | (uint32_t)line;
    w[n + 1] = (uint64_t)f + 1;
    w[n + 2] = 0;
    return n + CG_PY_WORDS;
}

/* The merged stack as text: "pc:5" for natives, "f2@7" for Python. */
static void render(const struct cg_py *py, const uint64_t *w, size_t n, char *out, size_t cap)
{
    struct cg_py_merged m[64];
    size_t k = cg_py_merge(py, w, n, m, 64);
    out[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        char one[32];
        if (m[i].python)
            snprintf(one, sizeof(one), "%s%s@%d", i ? " " : "", m[i].name, m[i].line);
        else
            snprintf(one, sizeof(one), "%spc:%llx", i ? " " : "", (unsigned long long)m[i].pc);
        strncat(out, one, cap - strlen(out) - 1);
    }
}

static void each_run_replaces_its_evaluator_frame(void **state)
{
    (void)state;
    struct cg_py py;
    setup(&py);
    /* leaf: a C function, eval (runs f0, f1), a C caller, eval (runs f2), main */
    uint64_t w[64] = {0x10, EVAL + 5, 0x20, EVAL + 9, 0x30};
    size_t n = 5;
    n = put(w, n, 0, 10, false);
    n = put(w, n, 1, 20, true);
    n = put(w, n, 2, 30, true);
    char s[256];
    render(&py, w, n, s, sizeof(s));
    assert_string_equal(s, "pc:10 f0@10 f1@20 pc:20 f2@30 pc:30");
}

static void runs_pair_from_the_root_extra_runs_join_the_innermost(void **state)
{
    (void)state;
    struct cg_py py;
    setup(&py);
    /* Two runs but one evaluator frame (the leaf call is being entered). */
    uint64_t w[64] = {0x10, EVAL + 5, 0x30};
    size_t n = 3;
    n = put(w, n, 0, 1, true);
    n = put(w, n, 1, 2, true);
    char s[256];
    render(&py, w, n, s, sizeof(s));
    assert_string_equal(s, "pc:10 f0@1 f1@2 pc:30");
}

static void extra_evaluator_frames_at_the_leaf_stay_native(void **state)
{
    (void)state;
    struct cg_py py;
    setup(&py);
    uint64_t w[64] = {EVAL + 1, 0x20, EVAL + 9, 0x30};
    size_t n = 4;
    n = put(w, n, 3, 4, true);
    char s[256];
    render(&py, w, n, s, sizeof(s));
    /* The interrupted PC (index 0) is looked up as is, not at pc - 1. */
    assert_string_equal(s, "pc:1001 pc:20 f3@4 pc:30");
}

static void without_an_evaluator_frame_python_frames_are_the_callers(void **state)
{
    (void)state;
    struct cg_py py;
    setup(&py);
    uint64_t w[64] = {0x10};
    size_t n = 1;
    n = put(w, n, 4, 5, false);
    n = put(w, n, 5, 6, true);
    char s[256];
    render(&py, w, n, s, sizeof(s));
    assert_string_equal(s, "pc:10 f4@5 f5@6");
}

static void a_chain_cut_short_pairs_from_the_leaf(void **state)
{
    (void)state;
    struct cg_py py;
    setup(&py);
    /* Three evaluator frames; the chain was cut after two runs (its root
     * side lost): the runs take the two innermost evaluator frames, the
     * outermost stays native. */
    uint64_t w[64] = {0x10, EVAL + 5, 0x20, EVAL + 6, 0x30, EVAL + 7, 0x40};
    size_t n = 7;
    n = put(w, n, 0, 1, true);
    n = put_flags(w, n, 1, 2, CG_PY_CUT);
    char s[256];
    render(&py, w, n, s, sizeof(s));
    assert_string_equal(s, "pc:10 f0@1 pc:20 f1@2 pc:30 pc:1007 pc:40");
}

static void a_stack_without_python_frames_is_left_alone(void **state)
{
    (void)state;
    struct cg_py py;
    setup(&py);
    uint64_t w[64] = {0x10, EVAL + 3, 0x30};
    char s[256];
    render(&py, w, 3, s, sizeof(s));
    assert_string_equal(s, "pc:10 pc:1003 pc:30");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_run_replaces_its_evaluator_frame),
        cmocka_unit_test(runs_pair_from_the_root_extra_runs_join_the_innermost),
        cmocka_unit_test(extra_evaluator_frames_at_the_leaf_stay_native),
        cmocka_unit_test(without_an_evaluator_frame_python_frames_are_the_callers),
        cmocka_unit_test(a_chain_cut_short_pairs_from_the_leaf),
        cmocka_unit_test(a_stack_without_python_frames_is_left_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
