/*
 * agent_loop.c - the agent thread: every drain interval (100 ms) it moves
 * every ring's records into the raw-stack table; every wall interval it
 * takes wall-clock stacks of threads that are off the CPU; every second
 * it checks its limits and scans /proc/self/task; every reporting interval
 * it reports (agent_report.c).  At a wall tick in a JVM, Java threads
 * that wait, sleep or block on a monitor come from JVMTI with their
 * state (core/runtime/jvm.h); the /proc view takes the other threads.  All of that work (malloc, file I/O,
 * symbol tables) happens here, never in the handler and never on an
 * application thread.
 *
 * DESIGN: one loop, one timed wait on a futex word (wait_until); the
 * uploader's callback (ConfigureAgent's answer), heavy thread churn, stop
 * and the _exit path (which may run in a signal handler) wake it early
 * through cg_agent_wake.  The final drain only drains:
 * frame rules, the main thread's stack bounds and the JVM poll serve
 * samples still to come, and none come after it.  What it won't do:
 * burst after falling behind (a missed wall tick is skipped).
 */
#include "core/agent/agent_internal.h"

#include "core/base/log.h"
#include "core/runtime/jvm.h"
#include "core/runtime/python.h"
#include "core/sample/count_key.h"
#include "core/sample/frame_rules.h"
#ifdef CG_MUSL
#include "core/sample/loaded_objects.h"
#endif
#include "core/sample/ring.h"
#include "core/sample/stackagg.h"
#include "core/sample/threads.h"
#include "core/sample/wall.h"
#include "core/upload/uploader.h"

#include <errno.h>
#include <linux/futex.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names the record's Java methods now, while the VM can still answer
 * (the names are cached; the report finds them there). */
static void name_java_frames(struct cg_agent *a, const struct cg_sample_rec *rec)
{
    for (size_t i = 0; i + 1 < rec->depth; i++) {
        if (!cg_word_is_java(rec->pcs[i]))
            continue;
        struct cg_java_frame f;
        cg_jvm_frame(a->jvm, rec->pcs[i + 1], (int32_t)(uint32_t)rec->pcs[i], &f);
        i++;
    }
}

/* At most this many rules learned per drain (about 7 us each, so at most
 * 0.2% of a CPU): a program that just started, or that runs much new code
 * at once, is learned over a few drains instead of in one long one. */
#define CG_RULES_PER_DRAIN 32

/* Learns the frame rules of a sample the handler had to unwind with
 * libunwind, so the next samples of that code take the short walk.  The
 * walk cannot pass a frame without a rule, so learning stops at the first
 * address refused (JIT code: every Java stack has some). */
static void learn_rules(struct cg_agent *a, const struct cg_sample_rec *rec)
{
    for (size_t i = 0; i < rec->depth; i++) {
        uint64_t pc = rec->pcs[i];
        if (cg_word_is_java(pc) || cg_word_is_py(pc))
            return; /* native frames come first; Java or Python words after them */
        uint64_t addr = i == 0 ? pc : pc - 1;
        enum cg_frame_rule_state st = cg_frame_rules_state(a->frame_rules, addr);
        if (st == CG_FRAME_RULE_REFUSED)
            return;
        if (st == CG_FRAME_RULE_KNOWN)
            continue;
        if (a->rules_learned_in_drain >= CG_RULES_PER_DRAIN)
            return;
        a->rules_learned_in_drain++;
        if (!cg_frame_rules_learn(a->frame_rules, addr))
            return;
    }
}

/* The interpreter's loop is one large function that almost every Python
 * sample passes through, at PCs all over it: its frame rules are learned
 * at once (each lookup learns a whole CFI row, and addresses a row
 * already gave are skipped), instead of a few per drain as samples miss
 * them, each miss costing that sample a libunwind walk. */
static void learn_python_rules(struct cg_agent *a)
{
    uint64_t start, end;
    if (!a->frame_rules || !cg_py_eval_range(a->py, &start, &end))
        return;
    for (uint64_t pc = start; pc < end; pc += 16)
        if (cg_frame_rules_state(a->frame_rules, pc) == CG_FRAME_RULE_UNKNOWN)
            cg_frame_rules_learn(a->frame_rules, pc);
}

static void drain_slot(struct cg_thread_slot *s, void *ctx)
{
    struct cg_agent *a = ctx;
    /* Read the state before draining: once EXITED nothing more is pushed,
     * so a ring drained after seeing EXITED is empty for good.  Reading it
     * after would race with a last sample pushed just before the exit. */
    bool exited = atomic_load(&s->state) == CG_SLOT_EXITED;
    const struct cg_sample_rec *rec;
    uint64_t taken = 0;
    while ((rec = cg_ring_peek(s->ring)) != NULL) {
        taken++;
        unsigned flags = rec->flags & (CG_REC_TRUNCATED | CG_REC_UNWIND_FAILED);
        const uint64_t *pcs = rec->pcs;
        size_t depth = rec->depth;
        if (rec->flags & CG_REC_PYTHON) {
            /* Name the code objects now, while they are likely alive. */
            depth = cg_py_resolve(a->py, rec->pcs, depth, a->py_scratch);
            pcs = a->py_scratch;
        }
        if (cg_stackagg_add(a->stacks, pcs, depth, rec->key, flags, rec->weight) == 0)
            a->samples_in_period += rec->weight;
        else
            a->drops_in_period += rec->weight;
        a->drops_in_period += rec->missed;
        if (a->jvm_attached)
            name_java_frames(a, rec);
        if (rec->flags & CG_REC_SLOW)
            a->slow_samples_in_period++;
        if ((rec->flags & (CG_REC_SLOW | CG_REC_LEARN)) && a->frame_rules &&
            a->rules_learned_in_drain < CG_RULES_PER_DRAIN)
            learn_rules(a, rec);
        cg_ring_release(s->ring, rec);
        a->last_sample_ms = 0; /* set below, once per drain */
    }
    if (taken) {
        /* `unreported` first: the exit paths read the rings, then it
         * (cg_agent_has_data_sigsafe), so these samples are always in
         * one or the other. */
        atomic_store(&a->unreported, true);
        atomic_fetch_add(&s->records_taken, taken);
    }
    uint64_t hns = atomic_load_explicit(&s->handler_ns, memory_order_relaxed);
    a->handler_ns_in_period += hns - s->handler_ns_reported;
    a->handler_ns_total += hns - s->handler_ns_reported;
    s->handler_ns_reported = hns;
    uint64_t calls = atomic_load_explicit(&s->handler_calls, memory_order_relaxed);
    a->handler_calls_in_period += calls - s->handler_calls_reported;
    s->handler_calls_reported = calls;
    uint64_t drops = cg_ring_drops(s->ring);
    a->drops_in_period += drops - s->drops_reported;
    s->drops_reported = drops;
    if (exited) {
        free(s->wall_pcs);
        s->wall_pcs = NULL;
        s->wall_depth = 0;
        if (s->self_registered)
            atomic_fetch_sub(&a->exited_pending, 1);
        cg_threads_reclaim(a->threads, s);
    }
}

static int read_loader_counts(struct dl_phdr_info *info, size_t size, void *data)
{
    uint64_t *counts = data;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
        counts[0] = (uint64_t)info->dlpi_adds;
        counts[1] = (uint64_t)info->dlpi_subs;
    }
    return 1; /* the counters are the same in every entry: one is enough */
}

/* Notices dlopen/dlclose without wrapping them (docs/internals.md, "Why
 * not wrap dlopen").  After a dlclose the frame rules are forgotten: the
 * unloaded library's addresses may hold other code from now on. */
static bool check_modules(struct cg_agent *a)
{
    uint64_t counts[2] = {0, 0};
    dl_iterate_phdr(read_loader_counts, counts);
    if (counts[1] != a->loader_unloads && a->frame_rules)
        cg_frame_rules_clear(a->frame_rules);
    a->loader_unloads = counts[1];
    uint64_t gen = counts[0] + counts[1];
    if (gen != a->loader_generation) {
        a->loader_generation = gen;
#ifdef CG_MUSL
        /* The handler's libunwind sees new objects through this list
         * (core/sample/loaded_objects.h). */
        cg_loaded_objects_refresh();
#endif
        atomic_store(&a->modules_changed, true);
        return true;
    }
    return false;
}

/* final: the last drain before the final report; no sample comes after
 * it, so it learns no frame rules, reads no stack bounds and does not
 * look for a JVM (a few hundred microseconds an exit would wait for). */
static void drain_all(struct cg_agent *a, bool final)
{
    bool changed = check_modules(a);
    cg_py_begin(a->py);
    if (!final && !cg_agent_is_stopped(a))
        a->jvm_attached = cg_jvm_poll(a->jvm, changed) || a->jvm_attached;
    if (!final && !cg_agent_is_stopped(a)) {
        bool was = a->py_attached;
        a->py_attached = cg_py_poll(a->py, changed);
        if (a->py_attached && !was)
            learn_python_rules(a);
    }
    uint64_t before = a->samples_in_period;
    uint64_t t0 = cg_cpu_account_now();
    a->rules_learned_in_drain = final ? CG_RULES_PER_DRAIN : 0;
    if (!final)
        cg_agent_record_main_stack(a);
    cg_threads_for_each(a->threads, drain_slot, a);
    cg_cpu_account_add(&a->acct, CG_ACT_DRAIN, t0);
    if (a->samples_in_period != before)
        a->last_sample_ms = cg_clock_epoch_ms();
    size_t n = cg_threads_count(a->threads);
    if (n > a->threads_seen_max)
        a->threads_seen_max = n;
}

static int cmp_tid(const void *x, const void *y)
{
    pid_t p = *(const pid_t *)x, q = *(const pid_t *)y;
    return p < q ? -1 : p > q;
}

/* True when this tick's JVMTI sample already counted the thread. */
static bool is_java_sampled(const struct cg_agent *a, pid_t tid)
{
    return a->java_tids_n &&
           bsearch(&tid, a->java_tids, a->java_tids_n, sizeof(tid), cmp_tid) != NULL;
}

/* A Java thread off the CPU with its JVM state (core/runtime/jvm.h). */
static void java_wall_sample(void *ctx, pid_t tid, const uint64_t *words, size_t n,
                             enum cg_count_key key)
{
    struct cg_agent *a = ctx;
    if (a->java_tids_n == a->java_tids_cap) {
        size_t cap = a->java_tids_cap ? a->java_tids_cap * 2 : 64;
        pid_t *t = realloc(a->java_tids, cap * sizeof(*t));
        if (!t)
            return; /* not counted here: the native view counts it */
        a->java_tids = t;
        a->java_tids_cap = cap;
    }
    a->java_tids[a->java_tids_n++] = tid;
    if (cg_stackagg_add(a->stacks, words, n, key, 0, 1) == 0)
        a->samples_in_period++;
}

/* One wall-clock sample of a thread that is off the CPU (SPEC §4), without
 * signalling it: see core/sample/wall.h.  Threads on the CPU are the CPU timers'
 * business and are skipped. */
static void wall_sample_slot(struct cg_thread_slot *s, void *ctx)
{
    struct cg_agent *a = ctx;
    if (atomic_load(&s->state) != CG_SLOT_ACTIVE || s->tid == cg_agent_tid(a) ||
        is_java_sampled(a, s->tid))
        return;
    struct cg_wall_state st;
    if (cg_wall_read_state(s->tid, &st) != 0 || !st.in_syscall)
        return;
    unsigned key = st.state == 'D' ? CG_KEY_BLOCKED : CG_KEY_WAITING;
    if (s->wall_depth && s->wall_sp == st.sp && s->wall_pc == st.pc && s->wall_nr == st.nr) {
        /* Still blocked where it was: the same stack. */
        if (cg_stackagg_add(a->stacks, s->wall_pcs, s->wall_depth, key, 0, 1) == 0)
            a->samples_in_period++;
        a->wall_reused++;
        return;
    }
    size_t depth = 0;
    if (cg_wall_unwind(a->wall, &st, a->wall_scratch, CG_MAX_UNWIND_FRAMES, &depth) != 0)
        return;
    a->wall_unwinds++;
    if (a->py_attached) {
        /* Its Python callers, read while it still waits (checked again
         * below), named at once. */
        size_t n = cg_py_walk_thread(a->py, s->tid, a->wall_scratch + depth,
                                     CG_MAX_UNWIND_FRAMES - depth);
        if (n) {
            n = cg_py_resolve(a->py, a->wall_scratch + depth, n, a->py_scratch);
            memcpy(a->wall_scratch + depth, a->py_scratch, n * sizeof(*a->py_scratch));
            depth += n;
        }
    }
    struct cg_wall_state again;
    if (cg_wall_read_state(s->tid, &again) != 0 || !again.in_syscall || again.sp != st.sp ||
        again.pc != st.pc || again.nr != st.nr) {
        a->wall_moved++; /* it ran meanwhile: the stack may be torn */
        return;
    }
    uint64_t *copy = realloc(s->wall_pcs, depth * sizeof(*copy));
    if (copy) {
        memcpy(copy, a->wall_scratch, depth * sizeof(*copy));
        s->wall_pcs = copy;
        s->wall_depth = depth;
        s->wall_sp = st.sp;
        s->wall_pc = st.pc;
        s->wall_nr = st.nr;
    }
    if (cg_stackagg_add(a->stacks, a->wall_scratch, depth, key, 0, 1) == 0)
        a->samples_in_period++;
}

static void wall_tick(struct cg_agent *a)
{
    if (!a->wall) {
        a->wall = cg_wall_new();
        a->wall_scratch = malloc(CG_MAX_UNWIND_FRAMES * sizeof(*a->wall_scratch));
        if (!a->wall || !a->wall_scratch) {
            CG_WARN("cannot set up wall-clock sampling: out of memory; CPU sampling goes on");
            a->wall_interval_ms = 0;
            return;
        }
    }
    /* Java threads first: those the JVM reports with a state are skipped
     * by the native view below, so no thread is counted twice. */
    a->java_tids_n = 0;
    if (a->jvm_attached && cg_jvm_wall_sample(a->jvm, a->max_stack_depth, java_wall_sample, a) > 0)
        qsort(a->java_tids, a->java_tids_n, sizeof(*a->java_tids), cmp_tid);
    if (a->py_attached) {
        cg_py_begin(a->py);
        cg_py_threads_snapshot(a->py);
    }
    cg_threads_for_each(a->threads, wall_sample_slot, a);
    if (a->samples_in_period)
        atomic_store(&a->unreported, true);
}

bool cg_agent_over_cpu_limit(uint64_t agent_cpu_ns, uint64_t wall_ns, uint32_t limit_percent)
{
    if (wall_ns < 10ull * 1000000000u || limit_percent == 0)
        return false;
    return agent_cpu_ns * 100u > wall_ns * (uint64_t)limit_percent;
}

/* The agent's limits (SPEC §4): past any of them it stops sampling for
 * good, with one log line, and keeps what it has for the reports. */
static void check_limits(struct cg_agent *a)
{
    if (cg_agent_is_stopped(a))
        return;
    if (access(a->kill_file, F_OK) == 0) {
        char why[300];
        snprintf(why, sizeof(why), "%s exists (kill switch)", a->kill_file);
        cg_agent_stand_aside(a, why);
        return;
    }
    uint64_t cpu = cg_clock_ns(CLOCK_THREAD_CPUTIME_ID) + a->handler_ns_total +
                   cg_uploader_cpu_ns(a->uploader);
    uint64_t wall = cg_clock_ns(CLOCK_MONOTONIC) - a->started_mono_ns;
    if (cg_agent_over_cpu_limit(cpu, wall, a->cpu_limit_percent)) {
        char why[200];
        snprintf(why, sizeof(why), "the agent used %.1f%% CPU (limit %u%%, CGAGENT_CPU_LIMIT_PERCENT)",
                 100.0 * (double)cpu / (double)wall, a->cpu_limit_percent);
        cg_agent_stand_aside(a, why);
        return;
    }
    size_t bytes = cg_agent_bytes(a);
    if (bytes > a->memory_limit_bytes) {
        char why[200];
        snprintf(why, sizeof(why), "the agent holds %.1f MB (limit %llu MB, CGAGENT_MEMORY_LIMIT_MB)",
                 (double)bytes / 1048576.0, (unsigned long long)(a->memory_limit_bytes >> 20));
        cg_agent_stand_aside(a, why);
    }
}

/* Waits until `deadline_ns` (CLOCK_MONOTONIC), a kick, a ring past half
 * full (cg_agent_drain_soon_sigsafe), or a stop or exit request.  Returns true when stop or exit was requested.  The thread
 * sleeps on the wake_seq futex rather than on wake_cond: the _exit path
 * may run in a signal handler, where no lock may be taken and no
 * condition variable signalled, but a futex wake is one system call
 * (cg_agent_wake).  The sequence number is read before the flags, so a
 * flag set after they were looked at has bumped it and the wait returns
 * at once; an idle thread wakes only at its deadlines. */
static bool wait_until(struct cg_agent *a, uint64_t deadline_ns)
{
    for (;;) {
        uint32_t seq = atomic_load(&a->wake_seq);
        pthread_mutex_lock(&a->wake_lock);
        bool stop = a->stop_requested || atomic_load(&a->exit_requested);
        bool kicked = a->kicked;
        a->kicked = false;
        pthread_mutex_unlock(&a->wake_lock);
        bool drain = atomic_exchange(&a->drain_soon, false);
        if (stop || kicked || drain || cg_clock_ns(CLOCK_MONOTONIC) >= deadline_ns)
            return stop;
        struct timespec ts = {(time_t)(deadline_ns / 1000000000u),
                              (long)(deadline_ns % 1000000000u)};
        /* Absolute CLOCK_MONOTONIC deadline; EINTR, EAGAIN (seq moved) and
         * ETIMEDOUT all just loop to look again. */
        syscall(SYS_futex, (uint32_t *)&a->wake_seq, FUTEX_WAIT_BITSET_PRIVATE, seq, &ts, NULL,
                FUTEX_BITSET_MATCH_ANY);
    }
}

/* Takes over what ConfigureAgent asked for (agent thread). */
static void take_service_settings(struct cg_agent *a, uint64_t now, uint64_t *next_report,
                                  uint64_t *next_wall)
{
    bool paused = atomic_load(&a->paused);
    if (paused != a->paused_applied && a->cpu_hz && !cg_agent_is_stopped(a)) {
        cg_agent_arm_timers(a, !paused);
        CG_INFO("sampling %s", paused ? "paused (the service said shouldProfile=false, or the "
                                        "profiling group is not usable)"
                                      : "resumed");
    }
    a->paused_applied = paused;
    if (!atomic_exchange(&a->svc_changed, false))
        return;
    uint64_t r = atomic_load(&a->svc_reporting_interval_ms);
    if (r && r != a->reporting_interval_ms) {
        a->reporting_interval_ms = r;
        *next_report = now + r * 1000000u;
    }
    uint32_t w = atomic_load(&a->svc_wall_interval_ms);
    if (w && w != a->wall_interval_ms && a->wall_interval_ms) {
        a->wall_interval_ms = w;
        *next_wall = now + (uint64_t)w * 1000000u;
    }
    uint32_t d = atomic_load(&a->svc_max_stack_depth);
    if (d)
        a->max_stack_depth = d;
}

/* The VM is about to die and waits in jvm_before_death (agent.c) until a
 * drain that started after its request has named every Java method the
 * rings held. */
static bool take_jvm_flush_request(struct cg_agent *a)
{
    pthread_mutex_lock(&a->wake_lock);
    bool req = a->jvm_flush_requested;
    a->jvm_flush_requested = false;
    pthread_mutex_unlock(&a->wake_lock);
    return req;
}

static void ack_jvm_flush(struct cg_agent *a)
{
    pthread_mutex_lock(&a->wake_lock);
    a->jvm_flush_done++;
    pthread_cond_broadcast(&a->wake_cond);
    pthread_mutex_unlock(&a->wake_lock);
}

/* While a CPython interpreter is starting, the first second. */
#define PY_PENDING_POLL_NS (10ull * 1000000u)
#define PY_PENDING_FOR_NS (1000ull * 1000000u)

void *cg_agent_main(void *arg)
{
    struct cg_agent *a = arg;
    atomic_store(&a->tid, cg_agent_current_tid());
    a->period_agent_ns = cg_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    a->started_mono_ns = cg_clock_ns(CLOCK_MONOTONIC);
    uint64_t now = cg_clock_ns(CLOCK_MONOTONIC);
    bool stop = false;
    if (a->opts.start_delay_ms)
        stop = wait_until(a, now + a->opts.start_delay_ms * 1000000u);
    uint64_t drain_ns = a->opts.drain_interval_ms * 1000000u;
    if (!stop)
        cg_py_poll(a->py, true); /* finds an interpreter that is starting */
    uint64_t next_rescan = 0;
    uint64_t next_report = cg_clock_ns(CLOCK_MONOTONIC) + a->reporting_interval_ms * 1000000u;
    uint64_t next_wall = cg_clock_ns(CLOCK_MONOTONIC) + a->wall_interval_ms * 1000000u;
    while (!stop) {
        uint64_t wake = cg_clock_ns(CLOCK_MONOTONIC) + drain_ns;
        /* An interpreter found but not yet started: look again soon, so
         * its first samples get Python frames too. */
        if (drain_ns > PY_PENDING_POLL_NS && cg_py_pending(a->py) &&
            wake - a->started_mono_ns < PY_PENDING_FOR_NS)
            wake -= drain_ns - PY_PENDING_POLL_NS;
        if (a->wall_interval_ms && next_wall < wake)
            wake = next_wall;
        if ((stop = wait_until(a, wake)))
            break; /* the final drain below does the rest */
        cg_agent_finish_stand_aside(a);
        bool flush = take_jvm_flush_request(a);
        drain_all(a, false);
        if (flush)
            ack_jvm_flush(a);
        now = cg_clock_ns(CLOCK_MONOTONIC);
        take_service_settings(a, now, &next_report, &next_wall);
        if (a->wall_interval_ms && now >= next_wall) {
            /* Stopped or paused: no tick, but the deadline still moves on;
             * a deadline left behind would make every wait above return
             * at once and the thread spin on a CPU. */
            if (!cg_agent_is_stopped(a) && !a->paused_applied) {
                uint64_t t0 = cg_cpu_account_now();
                wall_tick(a);
                cg_cpu_account_add(&a->acct, CG_ACT_WALL, t0);
            }
            next_wall += a->wall_interval_ms * 1000000u;
            if (next_wall < now) /* fell behind: skip, do not burst */
                next_wall = now + a->wall_interval_ms * 1000000u;
        }
        if (now >= next_rescan) {
            check_limits(a);
            uint64_t t0 = cg_cpu_account_now();
            cg_agent_rescan_tasks(a);
            cg_cpu_account_add(&a->acct, CG_ACT_THREAD_SCAN, t0);
            next_rescan = now + a->opts.rescan_interval_ms * 1000000u;
        }
        if (now >= next_report) {
            cg_agent_report(a, false);
            next_report = now + a->reporting_interval_ms * 1000000u;
        }
    }
    /* Stopping: from here on the uploader only flushes. */
    cg_uploader_stop_soon(a->uploader);
    if (atomic_load(&a->exit_requested)) {
        /* _exit's thread could not take the registry lock itself. */
        atomic_store(&a->stopped, true);
        cg_agent_delete_timers(a);
    }
    cg_agent_finish_stand_aside(a);
    bool flush = take_jvm_flush_request(a);
    drain_all(a, true);
    if (flush)
        ack_jvm_flush(a);
    cg_agent_report(a, true);
    /* The final profile is queued: deliver it in the time that is left. */
    uint64_t deadline = atomic_load(&a->stop_deadline_ns);
    if (a->uploader)
        cg_uploader_stop(a->uploader, (deadline ? deadline
                                                 : cg_clock_ns(CLOCK_MONOTONIC) + 5000000000u) /
                                          1000000u);
    cg_agent_mark_finished(a);
    pthread_mutex_lock(&a->wake_lock);
    a->done = true;
    pthread_cond_broadcast(&a->wake_cond);
    pthread_mutex_unlock(&a->wake_lock);
    return NULL;
}
