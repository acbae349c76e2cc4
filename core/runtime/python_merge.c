/*
 * python_merge.c - one stack of native and Python frames.
 *
 * DESIGN: a record holds the native unwind (leaf first) and then the
 * Python chain (leaf first), each Python frame flagged when it was the
 * first one an evaluator call ran (CG_PY_ENTRY).  So the Python frames
 * fall into runs, one per call of _PyEval_EvalFrameDefault, and each run
 * takes the place of one native evaluator frame.  Runs and evaluator
 * frames are paired from the root: the outermost call is the most
 * certain on both sides (a sample taken while a call is being entered or
 * left may show the native frame without its run, or the run without its
 * frame, but only at the leaf end).  Runs left over at the leaf end go in
 * with the innermost paired run; evaluator frames left over stay native.
 * With no evaluator frame at all (a native unwind that stopped early)
 * the Python frames go above the native ones, as their callers.  A chain
 * the handler cut short (CG_PY_CUT) has no certain root: it is paired
 * from the leaf instead, its extra runs above the native frames.
 * What it won't do: guess across a stack cut short at the root.
 */
#include "core/runtime/python_internal.h"

static bool is_eval(const struct cg_py *py, uint64_t pc)
{
    for (size_t i = 0; i < py->n_eval; i++)
        if (pc >= py->eval[i].start && pc < py->eval[i].end)
            return true;
    return false;
}

static size_t put_py(const struct cg_py *py, const uint64_t *w, struct cg_py_merged *out,
                     size_t k, size_t max)
{
    if (k >= max)
        return k;
    struct cg_py_merged *m = &out[k];
    m->python = true;
    m->pc = 0;
    m->name = cg_py_func_name(py, w[1], &m->file);
    m->line = (int)(uint32_t)w[0];
    return k + 1;
}

/* Emits Python frames [from, to) (indexes of frames, not words). */
static size_t put_run(const struct cg_py *py, const uint64_t *pyw, size_t from, size_t to,
                      struct cg_py_merged *out, size_t k, size_t max)
{
    for (size_t f = from; f < to; f++)
        k = put_py(py, &pyw[f * CG_PY_WORDS], out, k, max);
    return k;
}

size_t cg_py_merge(const struct cg_py *py, const uint64_t *words, size_t n,
                   struct cg_py_merged *out, size_t max)
{
    size_t nat = 0;
    while (nat < n && !cg_word_is_py(words[nat]))
        nat++;
    const uint64_t *pyw = &words[nat];
    size_t n_py = (n - nat) / CG_PY_WORDS;
    /* Run ends (exclusive frame indexes), leaf first. */
    size_t run_end[CG_PY_MAX_FRAMES];
    size_t runs = 0;
    for (size_t f = 0; f < n_py && runs < CG_PY_MAX_FRAMES; f++) {
        unsigned flags = (unsigned)(pyw[f * CG_PY_WORDS] >> 32);
        if (flags & CG_PY_ENTRY || f + 1 == n_py)
            run_end[runs++] = f + 1;
    }
    /* Evaluator frames among the native ones, leaf first. */
    size_t evals = 0;
    for (size_t i = 0; i < nat; i++)
        if (py && is_eval(py, i ? words[i] - 1 : words[i]))
            evals++;
    size_t paired = runs < evals ? runs : evals;
    /* A chain cut short has lost its root side: pair from the leaf, and
     * the runs left over go above the native frames. */
    bool cut = n_py && ((pyw[(n_py - 1) * CG_PY_WORDS] >> 32) & CG_PY_CUT);
    size_t first_run = cut ? 0 : runs - paired;   /* runs [first_run, +paired) are paired */
    size_t first_eval = cut ? 0 : evals - paired; /* with evaluator frames [first_eval, +paired) */
    size_t k = 0, e = 0;
    for (size_t i = 0; i < nat && k < max; i++) {
        uint64_t pc = words[i];
        if (!(py && paired && is_eval(py, i ? pc - 1 : pc))) {
            out[k++] = (struct cg_py_merged){.pc = pc, .leaf = i == 0};
            continue;
        }
        size_t this_eval = e++;
        if (this_eval < first_eval || this_eval >= first_eval + paired) {
            out[k++] = (struct cg_py_merged){.pc = pc, .leaf = i == 0};
            continue;
        }
        size_t r = first_run + (this_eval - first_eval);
        /* The innermost paired run also takes the unpaired ones inside it. */
        size_t from = r == first_run ? 0 : run_end[r - 1];
        k = put_run(py, pyw, from, run_end[r], out, k, max);
    }
    if (!paired)
        k = put_run(py, pyw, 0, n_py, out, k, max);
    else if (cut && paired < runs)
        k = put_run(py, pyw, run_end[paired - 1], n_py, out, k, max);
    return k;
}
