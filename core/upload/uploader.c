/*
 * uploader.c - the uploader thread and its queue (see uploader.h for the
 * rules; the calls to the service are in uploader_post.c).
 *
 * DESIGN: the agent thread appends finished periods to `incoming` under
 * the lock and signals; the uploader thread moves them into its own queue
 * (merging where allowed) and does all network work without the lock.
 * Entries in the queue are oldest first.  An entry is either "open" (no
 * document yet, or the last post was refused: more samples may be merged
 * into it and it gets a new token when posted) or "uncertain" (posted
 * without an answer: its document and token are kept and re-posted
 * unchanged until the service answers).
 */
#include "core/upload/uploader_internal.h"

#include "core/base/error.h"
#include "core/base/own_thread.h"
#include "core/profile/calltree.h"
#include "core/upload/codeguru.h"
#include "sts/chain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define REFRESH_CHECK_MS 1000

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

struct cg_uploader *cg_uploader_new(const struct cg_uploader_options *opts)
{
    if (!opts->group)
        return NULL;
    struct cg_uploader *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->group = strdup(opts->group);
    u->region = dup_or_null(opts->region);
    u->role_arn = dup_or_null(opts->role_arn);
    u->external_id = dup_or_null(opts->external_id);
    char session[80];
    if (opts->role_session_name)
        snprintf(session, sizeof(session), "%s", opts->role_session_name);
    else
        cg_chain_default_session_name(session, sizeof(session));
    u->session_name = strdup(session);
    if (!u->group || !u->session_name || (opts->region && !u->region) ||
        (opts->role_arn && !u->role_arn) || (opts->external_id && !u->external_id)) {
        cg_uploader_free(u);
        return NULL;
    }
    u->user_wall = opts->user_wall_interval;
    u->user_reporting = opts->user_reporting_interval;
    u->user_depth = opts->user_max_stack_depth;
    u->memory_budget = (uint64_t)opts->memory_limit_mb * 1024u * 1024u / 2u;
    atomic_store(&u->period_ms, opts->reporting_interval_ms);
    u->opts = *opts;
    /* Copied above: the caller's strings are not kept. */
    u->opts.group = u->opts.region = u->opts.role_arn = NULL;
    u->opts.role_session_name = u->opts.external_id = NULL;
    snprintf(u->fleet_id, sizeof(u->fleet_id), "%s", opts->fleet_id ? opts->fleet_id : "");
    u->opts.fleet_id = NULL;
    cg_uuid_v4(u->agent_id);
    u->min_reporting_ms = CG_UPLOADER_DEFAULT_MIN_REPORTING_MS;
    pthread_mutex_init(&u->lock, NULL);
    cg_own_thread_cond_init(&u->cond);
    u->incoming_tail = &u->incoming;
    return u;
}

void cg_uploader_entry_free(struct cg_uploader *u, struct cg_upload_entry *e)
{
    if (!e)
        return;
    atomic_fetch_sub(&u->entries, 1);
    cg_calltree_free(e->tree);
    free(e->doc);
    free(e);
}

void cg_uploader_free(struct cg_uploader *u)
{
    if (!u)
        return;
    for (struct cg_upload_entry *e = u->queue, *n; e; e = n) {
        n = e->next;
        cg_uploader_entry_free(u, e);
    }
    for (struct cg_upload_entry *e = u->incoming, *n; e; e = n) {
        n = e->next;
        cg_uploader_entry_free(u, e);
    }
    cg_codeguru_free(u->cg);
    cg_cred_cache_free(u->creds);
    free(u->group);
    free(u->region);
    free(u->role_arn);
    free(u->session_name);
    free(u->external_id);
    pthread_mutex_destroy(&u->lock);
    pthread_cond_destroy(&u->cond);
    free(u);
}

pid_t cg_uploader_tid(const struct cg_uploader *u)
{
    return u ? atomic_load(&u->tid) : 0;
}

uint64_t cg_uploader_cpu_ns(const struct cg_uploader *u)
{
    clockid_t clk;
    struct timespec ts;
    if (!u || !atomic_load(&u->tid) || !atomic_load(&u->started) ||
        pthread_getcpuclockid(u->thread, &clk) != 0 || clock_gettime(clk, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t cg_uploader_encode_ns(const struct cg_uploader *u)
{
    return u ? atomic_load(&u->encode_ns) : 0;
}

size_t cg_uploader_bytes(const struct cg_uploader *u)
{
    return u ? atomic_load(&u->queue_bytes) : 0;
}

bool cg_uploader_holds_sigsafe(struct cg_uploader *u)
{
    return u && atomic_load(&u->entries) != 0;
}

void cg_uploader_submit(struct cg_uploader *u, struct cg_calltree *tree,
                        const struct cg_profile_meta *meta)
{
    struct cg_upload_entry *e = calloc(1, sizeof(*e));
    if (!e) {
        CG_ERROR("out of memory queueing a profile for upload; %llu samples not sent",
                 (unsigned long long)meta->num_times_sampled);
        cg_calltree_free(tree);
        return;
    }
    e->tree = tree;
    e->meta = *meta;
    snprintf(e->fleet_id, sizeof(e->fleet_id), "%s", meta->fleet.id ? meta->fleet.id : "");
    snprintf(e->runtime_version, sizeof(e->runtime_version), "%s",
             meta->runtime_version ? meta->runtime_version : "");
    snprintf(e->agent_version, sizeof(e->agent_version), "%s",
             meta->agent_version ? meta->agent_version : "");
    e->meta.fleet = (struct cg_fleet_info){.id = e->fleet_id, .type = "UNKNOWN",
                                           .vcpus = meta->fleet.vcpus};
    e->meta.runtime_version = e->runtime_version;
    e->meta.agent_version = e->agent_version;
    for (size_t i = 0; i < meta->n_errors; i++)
        if (!strcmp(meta->error_names[i], "unprofiledThreads"))
            e->unprofiled_threads = meta->error_counts[i];
    e->meta.error_names = NULL;
    e->meta.error_counts = NULL;
    e->meta.n_errors = 0;
    e->tree_bytes = cg_calltree_bytes(tree);
    /* Counted before the agent thread goes on to clear its own
     * "unreported" flag (cg_agent_has_data_sigsafe). */
    atomic_fetch_add(&u->entries, 1);
    pthread_mutex_lock(&u->lock);
    *u->incoming_tail = e;
    u->incoming_tail = &e->next;
    pthread_cond_broadcast(&u->cond);
    pthread_mutex_unlock(&u->lock);
}

/* ---- waiting ---- */

static bool stopping(struct cg_uploader *u)
{
    pthread_mutex_lock(&u->lock);
    bool stop = u->stop || u->stop_soon;
    pthread_mutex_unlock(&u->lock);
    return stop;
}

void cg_uploader_stop_soon(struct cg_uploader *u)
{
    if (!u)
        return;
    pthread_mutex_lock(&u->lock);
    u->stop_soon = true;
    pthread_mutex_unlock(&u->lock);
}

/* Waits until `until_ms`, new work or stop.  Returns false on stop. */
static bool wait_for_work(struct cg_uploader *u, uint64_t until_ms)
{
    struct timespec ts = {(time_t)(until_ms / 1000), (long)(until_ms % 1000) * 1000000L};
    pthread_mutex_lock(&u->lock);
    while (!u->stop && !u->incoming) {
        if (pthread_cond_timedwait(&u->cond, &u->lock, &ts) == ETIMEDOUT)
            break;
    }
    bool stop = u->stop;
    pthread_mutex_unlock(&u->lock);
    return !stop;
}

bool cg_uploader_retry_wait(void *ctx, uint64_t ms)
{
    struct cg_uploader *u = ctx;
    uint64_t until = cg_uploader_mono_ms() + ms;
    struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
    pthread_mutex_lock(&u->lock);
    if (u->flushing) {
        while (pthread_cond_timedwait(&u->cond, &u->lock, &ts) != ETIMEDOUT)
            ;
        pthread_mutex_unlock(&u->lock);
        return true;
    }
    while (!u->stop) {
        if (pthread_cond_timedwait(&u->cond, &u->lock, &ts) == ETIMEDOUT)
            break;
    }
    bool stop = u->stop;
    pthread_mutex_unlock(&u->lock);
    return !stop;
}

/* ---- the queue ---- */

static bool mergeable(const struct cg_upload_entry *into, const struct cg_upload_entry *e)
{
    return !into->uncertain && into->meta.cpu_hz == e->meta.cpu_hz &&
           into->meta.wall_interval_ms == e->meta.wall_interval_ms;
}

static int merge(struct cg_upload_entry *into, struct cg_upload_entry *e)
{
    int rc = cg_calltree_merge(into->tree, e->tree);
    if (rc != 0)
        return rc;
    struct cg_profile_meta *m = &into->meta;
    const struct cg_profile_meta *n = &e->meta;
    if (n->start_ms < m->start_ms)
        m->start_ms = n->start_ms;
    if (n->end_ms > m->end_ms)
        m->end_ms = n->end_ms;
    if (n->agent_memory_mb > m->agent_memory_mb)
        m->agent_memory_mb = n->agent_memory_mb;
    m->agent_time_ms += n->agent_time_ms;
    m->cpu_time_s += n->cpu_time_s;
    if (n->num_threads > m->num_threads)
        m->num_threads = n->num_threads;
    m->num_times_sampled += n->num_times_sampled;
    m->dropped_samples += n->dropped_samples;
    m->handler_ns_total += n->handler_ns_total;
    m->handler_calls += n->handler_calls;
    for (int i = 0; i < CG_ACT_N; i++)
        m->agent_cpu_ns[i] += n->agent_cpu_ns[i];
    if (e->unprofiled_threads > into->unprofiled_threads)
        into->unprofiled_threads = e->unprofiled_threads;
    into->tree_bytes = cg_calltree_bytes(into->tree);
    return 0;
}

/* Moves submitted periods into the queue, merging into the newest open
 * entry when the sampling settings match. */
static void take_incoming(struct cg_uploader *u)
{
    pthread_mutex_lock(&u->lock);
    struct cg_upload_entry *list = u->incoming;
    u->incoming = NULL;
    u->incoming_tail = &u->incoming;
    pthread_mutex_unlock(&u->lock);
    struct cg_upload_entry **tail = &u->queue;
    while (*tail)
        tail = &(*tail)->next;
    struct cg_upload_entry *last = NULL;
    for (struct cg_upload_entry *q = u->queue; q; q = q->next)
        last = q;
    while (list) {
        struct cg_upload_entry *e = list;
        list = e->next;
        e->next = NULL;
        if (last && mergeable(last, e) && merge(last, e) == 0) {
            cg_uploader_entry_free(u, e);
            continue;
        }
        *tail = e;
        tail = &e->next;
        last = e;
    }
}

static size_t queue_bytes(const struct cg_uploader *u)
{
    size_t n = 0;
    for (const struct cg_upload_entry *e = u->queue; e; e = e->next)
        n += e->tree_bytes + e->doc_len;
    return n;
}

void cg_uploader_enforce_budget(struct cg_uploader *u)
{
    atomic_store(&u->queue_bytes, queue_bytes(u));
    while (u->queue && u->queue->next && queue_bytes(u) > u->memory_budget) {
        struct cg_upload_entry *e = u->queue;
        u->queue = e->next;
        u->dropped_profiles++;
        u->dropped_samples += e->meta.num_times_sampled;
        CG_WARN("CodeGuru Profiler: dropping an undelivered profile of %llu samples to stay "
                "within the memory limit (counted in the next profile's debugInfo)",
                (unsigned long long)e->meta.num_times_sampled);
        cg_uploader_entry_free(u, e);
    }
    atomic_store(&u->queue_bytes, queue_bytes(u));
}

/* ---- the thread ---- */

/* First thing on the thread (before the random delay, which is for the
 * service's sake): link-local metadata answers in milliseconds, and the
 * earlier the agent knows, the more of its documents say where they ran. */
static void detect_fleet(struct cg_uploader *u)
{
    if (!cg_fleet_detect(&u->fleet))
        return;
    u->fleet_detected = true;
    snprintf(u->fleet_id, sizeof(u->fleet_id), "%s", cg_fleet_instance_id(&u->fleet));
    if (u->opts.set_fleet)
        u->opts.set_fleet(u->opts.apply_ctx, &u->fleet);
}

static void *uploader_main(void *arg)
{
    struct cg_uploader *u = arg;
    atomic_store(&u->tid, (pid_t)syscall(SYS_gettid));
    detect_fleet(u);
    uint64_t max_delay = u->opts.initial_delay_max_ms ? u->opts.initial_delay_max_ms : 1000;
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
        r = (uint32_t)cg_uploader_mono_ms();
    uint64_t start_at = cg_uploader_mono_ms() + r % (max_delay + 1);
    bool running = true;
    /* A random start spreads a fleet's first calls. */
    while (running && cg_uploader_mono_ms() < start_at) {
        pthread_mutex_lock(&u->lock);
        bool stop = u->stop;
        pthread_mutex_unlock(&u->lock);
        if (stop)
            running = false;
        else
            wait_for_work(u, start_at);
    }
    if (running)
        cg_uploader_configure(u, 0);
    while (running) {
        uint64_t now = cg_uploader_mono_ms();
        uint64_t wake = now + REFRESH_CHECK_MS;
        /* Exiting, no ConfigureAgent is made (below): a passed deadline
         * would only make the wait return at once, again and again. */
        if (u->next_configure_ms < wake && !stopping(u))
            wake = u->next_configure_ms;
        running = wait_for_work(u, wake);
        take_incoming(u);
        if (!running)
            break;
        if (u->creds) {
            char err[1024];
            if (cg_cred_cache_refresh_if_due(u->creds, 0, err, sizeof(err)) < 0)
                cg_uploader_log_failure(u, CG_LOG_WARN, err);
        }
        cg_uploader_deliver(u, false, 0);
        /* Not when the process is exiting: the flush should be all it waits for. */
        if (cg_uploader_mono_ms() >= u->next_configure_ms && !stopping(u))
            cg_uploader_configure(u, 0);
    }
    /* Final flush, bounded by the caller's deadline. */
    pthread_mutex_lock(&u->lock);
    uint64_t deadline = u->stop_deadline_ms;
    u->flushing = true;
    pthread_mutex_unlock(&u->lock);
    take_incoming(u);
    if (u->queue && !u->configured && !u->setup_failed && cg_uploader_mono_ms() < deadline)
        cg_uploader_configure(u, deadline); /* learn the minimum reporting time first */
    cg_uploader_deliver(u, true, deadline);
    pthread_mutex_lock(&u->lock);
    u->done = true;
    pthread_cond_broadcast(&u->cond);
    pthread_mutex_unlock(&u->lock);
    return NULL;
}

int cg_uploader_start(struct cg_uploader *u)
{
    int rc = cg_own_thread_start(u->opts.real, &u->thread, uploader_main, u);
    if (rc != 0)
        return rc;
    atomic_store(&u->started, true);
    return 0;
}

int cg_uploader_stop(struct cg_uploader *u, uint64_t deadline_ms)
{
    if (!atomic_load(&u->started))
        return 0;
    pthread_mutex_lock(&u->lock);
    u->stop = true;
    u->stop_deadline_ms = deadline_ms;
    pthread_cond_broadcast(&u->cond);
    bool done = cg_own_thread_wait_done(&u->cond, &u->lock, &u->done, deadline_ms * 1000000u);
    pthread_mutex_unlock(&u->lock);
    if (!done) {
        CG_WARN("CodeGuru Profiler: the last upload did not finish in time; exiting without "
                "it");
        return CG_ESTATE;
    }
    atomic_store(&u->started, false);
    pthread_join(u->thread, NULL);
    return 0;
}
