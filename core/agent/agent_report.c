/*
 * agent_report.c - the periodic report: each unique raw stack of the
 * period is symbolized once per PC, turned root-first and added to a call
 * tree; the tree and the period's metadata become a profile document for
 * the local sink, and the tree goes to the uploader.
 *
 * DESIGN: the symbolizer is created at the first report (a process that
 * never reports never reads a symbol table) and refreshed when libraries
 * were loaded or unloaded.  What it won't do: report an empty period.
 */
#include "core/agent/agent_internal.h"

#include "core/base/error.h"
#include "core/base/log.h"
#include "core/profile/calltree.h"
#include "core/profile/profile_doc.h"
#include "core/runtime/jvm.h"
#include "core/runtime/python.h"
#include "core/sample/ring.h"
#include "core/sample/frame_rules.h"
#include "core/sample/stackagg.h"
#include "core/sample/threads.h"
#include "core/symbols/symbolizer.h"
#include "core/upload/sink_local.h"
#include "core/upload/uploader.h"

#include <stdlib.h>
#include <string.h>

size_t cg_agent_bytes(const struct cg_agent *a)
{
    return cg_threads_bytes(a->threads) + cg_stackagg_bytes(a->stacks) + cg_jvm_bytes(a->jvm) + cg_py_bytes(a->py) +
           (a->symbolizer ? cg_symbolizer_bytes(a->symbolizer) : 0) + a->last_tree_bytes +
           cg_uploader_bytes(a->uploader) + cg_frame_rules_bytes(a->frame_rules);
}

struct build_ctx {
    struct cg_agent *a;
    struct cg_calltree *tree;
    struct cg_frame *frames;
    struct cg_py_merged *merged;
    int err;
};

/* Return addresses point after the call instruction, so every frame but
 * the interrupted one (i == 0) is looked up at pc - 1: otherwise a call
 * that ends a function would be charged to the next function. */
static struct cg_symbol resolve_native(struct build_ctx *b, uint64_t pc, size_t i)
{
    if (i > 0 && pc > 0)
        pc -= 1;
    struct cg_symbol sym;
    if (cg_symbolizer_resolve(b->a->symbolizer, (uintptr_t)pc, &sym) != 0) {
        sym.name = "[unknown]";
        sym.file = NULL;
    }
    return sym;
}

/* A native frame the perf map names as Python code: a stub of the perf
 * trampoline a user turned on, whose function the frame chain gives
 * anyway. */
static bool is_python_stub(const struct cg_symbol *sym)
{
    size_t len = sym->file ? strlen(sym->file) : 0;
    return len && (sym->file[0] == '<' || (len > 3 && strcmp(sym->file + len - 3, ".py") == 0));
}

/* A stack with Python frames: native and Python frames in one list
 * (core/runtime/python.h), leaf first. */
static size_t python_frames(struct build_ctx *b, const struct cg_stack_view *st)
{
    size_t n = cg_py_merge(b->a->py, st->pcs, st->depth, b->merged, CG_MAX_UNWIND_FRAMES), k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct cg_py_merged *m = &b->merged[i];
        if (m->python) {
            b->frames[k++] = (struct cg_frame){.name = m->name, .file = m->file, .line = m->line};
            continue;
        }
        struct cg_symbol sym = resolve_native(b, m->pc, m->leaf ? 0 : 1);
        if (!is_python_stub(&sym))
            b->frames[k++] = (struct cg_frame){.name = sym.name, .file = sym.file};
    }
    return k;
}

/* Symbolizes one unique stack (leaf first in the record) into root-first
 * frames.  A stack with Java frames (ring.h) keeps its native frames only
 * up to the first one in no loaded object: past it the native unwind was
 * in JIT code. */
static void add_stack(const struct cg_stack_view *st, void *ctx)
{
    struct build_ctx *b = ctx;
    if (b->err || st->depth == 0)
        return;
    size_t depth = st->depth, java_at = depth, n = 0;
    for (size_t i = 0; i < depth; i++) {
        if (cg_word_is_py(st->pcs[i])) {
            n = python_frames(b, st);
            goto add;
        }
        if (cg_word_is_java(st->pcs[i])) {
            java_at = i;
            break;
        }
    }
    for (size_t i = 0; i < java_at; i++) {
        struct cg_symbol sym = resolve_native(b, st->pcs[i], i);
        if (java_at < depth && !sym.file)
            break;
        b->frames[n++] = (struct cg_frame){.name = sym.name, .file = sym.file};
    }
    for (size_t i = java_at; i + 1 < depth; i += 2) {
        struct cg_java_frame jf;
        cg_jvm_frame(b->a->jvm, st->pcs[i + 1], (int32_t)(uint32_t)st->pcs[i], &jf);
        b->frames[n++] = (struct cg_frame){.name = jf.name, .file = jf.file, .line = jf.line};
    }
add:
    for (size_t i = 0; i < n / 2; i++) { /* leaf first → root first */
        struct cg_frame t = b->frames[i];
        b->frames[i] = b->frames[n - 1 - i];
        b->frames[n - 1 - i] = t;
    }
    int rc = cg_calltree_add(b->tree, b->frames, n, (enum cg_count_key)st->key, st->count);
    if (rc != 0)
        b->err = rc;
}

/* Tells the symbolizer the native PCs of one unique stack, as add_stack
 * will resolve them, before any is resolved: a library with few of them
 * is then named without loading its symbol table
 * (cg_symbolizer_expect). */
static void expect_stack(const struct cg_stack_view *st, void *ctx)
{
    for (size_t i = 0; i < st->depth && !cg_word_is_java(st->pcs[i]) && !cg_word_is_py(st->pcs[i]);
         i++)
        cg_symbolizer_expect(ctx, (uintptr_t)(i > 0 && st->pcs[i] > 0 ? st->pcs[i] - 1
                                                                       : st->pcs[i]));
}

/* Failed Java stack walks (every reason) since the last report. */
static uint64_t java_walk_failures(struct cg_agent *a)
{
    uint64_t by_reason[CG_JVM_REASONS], total = 0;
    cg_jvm_walk_failures(by_reason);
    for (int i = 1; i < CG_JVM_REASONS; i++) /* 0: no Java frame, no failure */
        total += by_reason[i];
    uint64_t fresh = total - a->jvm_failures_reported;
    a->jvm_failures_reported = total;
    return fresh;
}

/* Ends the period's CPU accounting: the agent and upload threads' CPU
 * since the last call, by activity, into out (the agent thread's
 * unaccounted rest is "other"; the upload thread's is "upload" but for
 * its encoding); returns the two threads' CPU in ns.  What the agent
 * thread does after this call (encoding and writing this very document)
 * is the next period's. */
static uint64_t close_cpu_period(struct cg_agent *a, uint64_t out[CG_ACT_N])
{
    /* Encoding first: then it never exceeds the thread's CPU read after. */
    uint64_t up_enc = cg_uploader_encode_ns(a->uploader);
    uint64_t up = cg_uploader_cpu_ns(a->uploader);
    uint64_t agent = cg_cpu_account_now();
    if (up < a->period_upload_ns) /* the upload thread is gone */
        up = a->period_upload_ns;
    if (up_enc < a->period_upload_enc_ns)
        up_enc = a->period_upload_enc_ns;
    uint64_t d_agent = agent - a->period_agent_ns, d_up = up - a->period_upload_ns;
    uint64_t d_enc = up_enc - a->period_upload_enc_ns;
    if (d_enc > d_up) /* an encoding that began in the last period */
        d_enc = d_up;
    uint64_t counted = 0;
    for (int i = 0; i < CG_ACT_N; i++) {
        out[i] = a->acct.ns[i];
        counted += out[i];
    }
    out[CG_ACT_OTHER] += d_agent > counted ? d_agent - counted : 0;
    out[CG_ACT_ENCODE] += d_enc;
    out[CG_ACT_UPLOAD] += d_up - d_enc;
    a->acct = (struct cg_cpu_account){{0}};
    a->period_agent_ns = agent;
    a->period_upload_ns = up;
    a->period_upload_enc_ns = up_enc;
    return d_agent + d_up;
}

void cg_agent_report(struct cg_agent *a, bool final)
{
    uint64_t now_ms = cg_clock_epoch_ms();
    uint64_t cpu_ns = cg_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    uint64_t by_activity[CG_ACT_N];
    bool cpu_closed = false;
    if (cg_stackagg_samples(a->stacks) == 0) {
        CG_DEBUG("no samples in this period; nothing to report");
        goto reset;
    }
    uint64_t t0 = cg_cpu_account_now();
    /* Taken before a new symbolizer reads the modules, which makes a
     * refresh after it redundant. */
    bool changed = atomic_exchange(&a->modules_changed, false);
    if (!a->symbolizer) {
        if (!(a->symbolizer = cg_symbolizer_new(NULL))) {
            CG_ERROR("cannot create the symbolizer: out of memory; profile dropped");
            goto reset;
        }
    } else if (changed) {
        cg_symbolizer_refresh(a->symbolizer);
    }

    struct build_ctx b = {a, cg_calltree_new(a->max_stack_depth),
                          malloc(CG_MAX_UNWIND_FRAMES * sizeof(struct cg_frame)),
                          malloc(CG_MAX_UNWIND_FRAMES * sizeof(struct cg_py_merged)), 0};
    if (!b.tree || !b.frames || !b.merged) {
        CG_ERROR("out of memory building the call tree; profile dropped");
        goto done;
    }
    cg_stackagg_for_each(a->stacks, expect_stack, a->symbolizer);
    cg_symbolizer_prefetch(a->symbolizer);
    cg_stackagg_for_each(a->stacks, add_stack, &b);
    cg_cpu_account_add(&a->acct, CG_ACT_SYMBOLIZE, t0);
    a->last_tree_bytes = cg_calltree_bytes(b.tree);
    if (b.err) {
        CG_ERROR("building the call tree failed: %s; profile dropped", cg_strerror(b.err));
        goto done;
    }
    uint64_t end_ms = a->last_sample_ms > a->period_start_ms ? a->last_sample_ms : now_ms;
    /* errorsCount: threads never profiled (since start), Java walks that
     * failed in this period (the sample is kept, named after the reason). */
    const char *err_names[2];
    uint64_t err_counts[2];
    size_t n_errors = 0;
    uint64_t unprofiled = atomic_load(&a->unprofiled_threads);
    if (unprofiled) {
        err_names[n_errors] = "unprofiledThreads";
        err_counts[n_errors++] = unprofiled;
    }
    uint64_t walk_failed = java_walk_failures(a);
    if (walk_failed) {
        err_names[n_errors] = "javaWalkFailures";
        err_counts[n_errors++] = walk_failed;
    }
    struct cg_profile_meta meta = {
        .start_ms = a->period_start_ms,
        .end_ms = end_ms,
        .cpu_hz = a->cpu_hz,
        .wall_interval_ms = a->wall_interval_ms,
        .fleet = {.id = a->fleet_id, .type = "UNKNOWN", .vcpus = a->vcpus},
        .agent_version = CGAGENT_VERSION,
        .agent_memory_mb = (double)cg_agent_bytes(a) / (1024.0 * 1024.0),
        .agent_time_ms = (close_cpu_period(a, by_activity) + a->handler_ns_in_period) / 1000000u,
        .runtime_version = a->runtime_version,
        .main_file = a->exe_path,
        .cpu_time_s = (double)(cpu_ns - a->period_cpu_ns) / 1e9,
        .num_threads = (uint32_t)a->threads_seen_max,
        .num_times_sampled = a->samples_in_period,
        .pid = (int)getpid(),
        .dropped_samples = a->drops_in_period,
        .handler_ns_total = a->handler_ns_in_period,
        .handler_calls = a->handler_calls_in_period,
        .handler_libunwind_calls = a->slow_samples_in_period,
        .error_names = err_names,
        .error_counts = err_counts,
        .n_errors = n_errors,
    };
    cpu_closed = true;
    memcpy(meta.agent_cpu_ns, by_activity, sizeof(by_activity));
    if (atomic_load_explicit(&a->fleet_ready, memory_order_acquire))
        meta.fleet = cg_fleet_doc_info(&a->fleet, a->vcpus);
    if (a->output_dir) {
        size_t len = 0;
        t0 = cg_cpu_account_now();
        char *doc = cg_profile_doc_encode(b.tree, &meta, &len);
        cg_cpu_account_add(&a->acct, CG_ACT_ENCODE, t0);
        if (!doc)
            CG_ERROR("encoding the profile failed: out of memory; local profile dropped");
        else
            cg_sink_local_write(a->output_dir, a->output_shared, a->profile_name, getpid(), &meta,
                                b.tree, doc, len, &a->acct);
        free(doc);
    }
    CG_INFO("profile %s: %llu samples, %zu unique stacks, %zu nodes, %llu dropped%s",
            a->profile_name, (unsigned long long)a->samples_in_period,
            cg_stackagg_unique(a->stacks), cg_calltree_node_count(b.tree),
            (unsigned long long)a->drops_in_period, final ? " (final)" : "");
    if (a->uploader) {
        cg_uploader_submit(a->uploader, b.tree, &meta); /* takes the tree */
        b.tree = NULL;
    }
done:
    cg_calltree_free(b.tree);
    free(b.frames);
    free(b.merged);
    /* Every name is copied into the tree (the uploader's queue holds trees,
     * never the symbolizer's strings): old JIT names may go. */
    cg_symbolizer_next_generation(a->symbolizer);
reset:
    cg_stackagg_clear(a->stacks);
    /* Written and queued (or dropped): the exit paths need not wait for
     * these any more (cg_agent_has_data_sigsafe). */
    atomic_store(&a->unreported, false);
    a->period_start_ms = now_ms;
    a->period_cpu_ns = cpu_ns;
    if (!cpu_closed)
        close_cpu_period(a, by_activity);
    a->samples_in_period = 0;
    a->drops_in_period = 0;
    a->handler_ns_in_period = 0;
    a->handler_calls_in_period = 0;
    a->slow_samples_in_period = 0;
    a->threads_seen_max = cg_threads_count(a->threads);
}
