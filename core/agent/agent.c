/*
 * agent.c - the agent's start: the agent object, its uploader, and the
 * agent thread (agent_internal.h lists the other phases' files).
 *
 * DESIGN: cg_agent_new copies the settings it needs and allocates what the
 * signal handler will read (the registry and its rings) before any timer
 * exists; cg_agent_start starts the agent thread, then the upload thread,
 * both through libc's pthread_create (passed down by preload/, never the
 * wrapper) with every signal blocked, so neither is ever sampled or
 * interrupted mid-update.
 *
 * Lock order: reg_lock (registration) is taken alone; wake_lock guards
 * the stop/done flags and is never held while calling out.
 *
 * What it won't do: keep a process from exiting (stop waits at most the
 * caller's timeout), or free anything a late signal could still touch at
 * process exit (rings stay mapped until cg_agent_free).
 */
#include "core/agent/agent_internal.h"

#include "core/base/log.h"
#include "core/base/own_thread.h"
#include "core/runtime/jvm.h"
#include "core/runtime/python.h"
#include "core/sample/frame_rules.h"
#include "core/sample/ring.h"
#include "core/sample/stackagg.h"
#include "core/sample/threads.h"
#include "core/sample/wall.h"
#include "core/symbols/symbolizer.h"
#include "core/upload/uploader.h"

#include <errno.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The uploader's callback: ConfigureAgent's answer (any thread). */
static void apply_service_settings(void *ctx, const struct cg_service_settings *st)
{
    struct cg_agent *a = ctx;
    atomic_store(&a->paused, !st->should_profile);
    if (st->reporting_interval_ms)
        atomic_store(&a->svc_reporting_interval_ms, st->reporting_interval_ms);
    if (st->wall_interval_ms)
        atomic_store(&a->svc_wall_interval_ms, st->wall_interval_ms);
    if (st->max_stack_depth)
        atomic_store(&a->svc_max_stack_depth, st->max_stack_depth);
    atomic_store(&a->svc_changed, true);
    pthread_mutex_lock(&a->wake_lock);
    a->kicked = true;
    pthread_mutex_unlock(&a->wake_lock);
    cg_agent_wake(a);
}

static void set_fleet(void *ctx, const struct cg_fleet *f)
{
    struct cg_agent *a = ctx;
    if (atomic_load(&a->fleet_ready))
        return;
    a->fleet = *f;
    atomic_store_explicit(&a->fleet_ready, true, memory_order_release);
}

/* JVMTI VMDeath, on the thread ending the VM: after this no JVMTI call
 * can be made, so let the agent thread drain the rings once (naming every
 * Java method they hold) and wait for it, at most 1 s. */
static void jvm_before_death(void *ctx)
{
    struct cg_agent *a = ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += 1;
    pthread_mutex_lock(&a->wake_lock);
    uint64_t seen = a->jvm_flush_done;
    a->jvm_flush_requested = true;
    a->kicked = true;
    cg_agent_wake(a);
    while (a->jvm_flush_done == seen && !a->done && a->thread_started) {
        if (pthread_cond_timedwait(&a->wake_cond, &a->wake_lock, &ts) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&a->wake_lock);
}

struct cg_agent *cg_agent_new(const struct cg_config *cfg, const struct cg_agent_options *opts)
{
    struct cg_agent *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->cpu_hz = cfg->cpu_hz;
    a->wall_interval_ms = cfg->wall_interval_ms;
    a->max_stack_depth = cfg->max_stack_depth;
    a->reporting_interval_ms = cfg->reporting_interval_ms;
    a->cpu_limit_percent = cfg->cpu_limit_percent;
    a->memory_limit_bytes = (uint64_t)cfg->memory_limit_mb << 20;
    a->opts = *opts;
    a->kill_file = opts->kill_file ? opts->kill_file : CG_AGENT_KILL_FILE;
    if (!a->opts.drain_interval_ms)
        a->opts.drain_interval_ms = 100;
    if (!a->opts.rescan_interval_ms)
        a->opts.rescan_interval_ms = 1000;
    if (!a->opts.start_ticks)
        a->opts.start_ticks = cg_agent_read_start_ticks;
    const char *name = cfg->profiling_group ? cfg->profiling_group
                       : cfg->program_name  ? cfg->program_name
                                            : "process";
    a->output_shared = cfg->output_shared;
    if ((cfg->output_dir && !(a->output_dir = strdup(cfg->output_dir))) ||
        !(a->profile_name = strdup(name)))
        goto err;

    /* Rings get at most half of the memory limit; the rest is for the
     * stack table, symbols and the encoded document. */
    size_t ring_bytes = CG_RING_DEFAULT_BYTES;
    size_t max_threads = ((size_t)cfg->memory_limit_mb << 20) / 2 / ring_bytes;
    if (max_threads < 16)
        max_threads = 16;
    if (!(a->threads = cg_threads_new(max_threads, ring_bytes)))
        goto err;
    if (!(a->stacks = cg_stackagg_new()))
        goto err;
    /* 2^16 rules, 1 MiB of address space (pages touched as rules land):
     * without it every sample goes through libunwind. */
    if (!(a->frame_rules = cg_frame_rules_new(16)))
        CG_DEBUG("no frame rule table: the handler unwinds with libunwind only");
    struct cg_jvm_options jo = {.real = opts->real, .before_death = jvm_before_death, .ctx = a};
    if (!(a->jvm = cg_jvm_new(&jo)))
        goto err;
    if (!(a->py = cg_py_new()) ||
        !(a->py_scratch = malloc(CG_MAX_UNWIND_FRAMES * sizeof(*a->py_scratch))))
        goto err;

    pthread_mutex_init(&a->reg_lock, NULL);
    pthread_mutex_init(&a->wake_lock, NULL);
    cg_own_thread_cond_init(&a->wake_cond);

    cg_uuid_v4(a->fleet_id);
    a->pid = getpid();
    if (cfg->profiling_group) {
        struct cg_uploader_options uo = {
            .real = opts->real,
            .group = cfg->profiling_group,
            .region = cfg->region,
            .role_arn = cfg->role_arn,
            .role_session_name = cfg->role_session_name,
            .external_id = cfg->external_id,
            .reporting_interval_ms = cfg->reporting_interval_ms,
            .memory_limit_mb = cfg->memory_limit_mb,
            .user_wall_interval = cfg->user_wall_interval,
            .user_reporting_interval = cfg->user_reporting_interval,
            .user_max_stack_depth = cfg->user_max_stack_depth,
            .fleet_id = a->fleet_id,
            .apply = apply_service_settings,
            .set_fleet = set_fleet,
            .local_sink = cfg->output_dir != NULL,
            .apply_ctx = a,
        };
        if (!(a->uploader = cg_uploader_new(&uo)))
            goto err;
    }
#ifdef __GLIBC__
    snprintf(a->runtime_version, sizeof(a->runtime_version), "glibc-%s",
             gnu_get_libc_version());
#else
    /* musl tells its version to no one but a person running its loader. */
    snprintf(a->runtime_version, sizeof(a->runtime_version), "musl");
#endif
    a->exe_path = realpath("/proc/self/exe", NULL); /* NULL is fine: no main mapping */
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    a->vcpus = n > 0 ? (uint32_t)n : 1;
    a->period_start_ms = cg_clock_epoch_ms();
    a->period_cpu_ns = cg_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    return a;
err:
    cg_agent_free(a);
    return NULL;
}

void cg_agent_free(struct cg_agent *a)
{
    if (!a)
        return;
    cg_uploader_free(a->uploader);
    cg_symbolizer_free(a->symbolizer);
    cg_wall_free(a->wall);
    free(a->wall_scratch);
    free(a->java_tids);
    free(a->py_scratch);
    cg_py_free(a->py);
    cg_stackagg_free(a->stacks);
    if (!a->jvm_attached)
        cg_jvm_free(a->jvm); /* else the VM may still call back: leaked */
    cg_threads_free(a->threads);
    cg_frame_rules_free(a->frame_rules);
    free(a->output_dir);
    free(a->profile_name);
    free(a->exe_path);
    free(a);
}

struct cg_threads *cg_agent_threads(struct cg_agent *a)
{
    return a->threads;
}

struct cg_frame_rules *cg_agent_frame_rules(struct cg_agent *a)
{
    return a->frame_rules;
}

pid_t cg_agent_tid(const struct cg_agent *a)
{
    return atomic_load(&((struct cg_agent *)a)->tid);
}

bool cg_agent_is_stopped(const struct cg_agent *a)
{
    return atomic_load(&((struct cg_agent *)a)->stopped);
}

void cg_agent_modules_changed(struct cg_agent *a)
{
    atomic_store(&a->modules_changed, true);
}

int cg_agent_start(struct cg_agent *a)
{
    int rc = cg_own_thread_start(a->opts.real, &a->thread, cg_agent_main, a);
    if (rc != 0)
        return rc;
    a->thread_started = true;
    if (a->uploader && (rc = cg_uploader_start(a->uploader)) != 0)
        CG_ERROR("cannot start the upload thread: %s; profiles are not sent to CodeGuru "
                 "Profiler",
                 strerror(-rc));
    return 0;
}
