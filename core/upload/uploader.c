/*
 * uploader.c - the uploader thread (see uploader.h for the rules).
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
#include "core/upload/uploader.h"

#include "core/base/error.h"
#include "core/base/log.h"
#include "core/profile/calltree.h"
#include "core/upload/codeguru.h"
#include "core/upload/fleet.h"
#include "sts/chain.h"
#include "sts/endpoints.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MIN_REPORTING_MS 60000
#define REFRESH_CHECK_MS 1000

struct entry {
    struct entry *next;
    struct cg_calltree *tree;
    struct cg_profile_meta meta; /* strings point into this entry */
    char fleet_id[64];
    char runtime_version[48];
    char agent_version[24];
    uint64_t unprofiled_threads;
    size_t tree_bytes;
    char *doc;                   /* uncertain entries only */
    size_t doc_len;
    char token[37];
    bool uncertain;
};

struct cg_uploader {
    /* settings */
    char *group, *region, *role_arn, *session_name, *external_id;
    bool user_wall, user_reporting, user_depth;
    uint64_t memory_budget;
    _Atomic uint64_t period_ms;
    struct cg_uploader_options opts;
    char fleet_id[64];
    char agent_id[37];

    pthread_t thread;
    _Atomic bool started;
    _Atomic pid_t tid;
    _Atomic size_t queue_bytes;  /* published by the upload thread */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct entry *incoming, **incoming_tail; /* guarded by lock */
    bool stop;                                /* guarded by lock */
    uint64_t stop_deadline_ms;                /* guarded by lock */
    bool done;                                /* guarded by lock */
    bool flushing;                            /* guarded by lock: final flush */
    bool stop_soon;                           /* guarded by lock: exit is coming */

    /* uploader-thread state */
    struct entry *queue;
    struct cg_cred_cache *creds;
    struct cg_codeguru *cg;
    bool setup_failed;
    bool gave_up;                /* setup failed for good: queue discarded */
    struct cg_fleet fleet;
    bool fleet_detected;
    bool configured;
    bool setup_paused;           /* the group is misconfigured: posting waits */
    bool service_says_no;        /* shouldProfile=false: nothing is sent */
    int64_t min_reporting_ms;
    uint64_t next_configure_ms;
    uint64_t dropped_profiles, dropped_samples;
    char last_logged[160];       /* first words of the last error logged */
    bool failing;
};

static uint64_t mono_ms(void)
{
    return cg_aws_monotonic_ms();
}

static void make_uuid(char out[37])
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
        uint64_t x = mono_ms() ^ ((uint64_t)getpid() << 32);
        for (int i = 0; i < 16; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            b[i] = (unsigned char)(x >> 56);
        }
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

struct cg_uploader *cg_uploader_new(const struct cg_config *cfg,
                                    const struct cg_uploader_options *opts)
{
    if (!cfg->profiling_group)
        return NULL;
    struct cg_uploader *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->group = strdup(cfg->profiling_group);
    u->region = dup_or_null(cfg->region);
    u->role_arn = dup_or_null(cfg->role_arn);
    u->external_id = dup_or_null(cfg->external_id);
    char session[80];
    if (cfg->role_session_name)
        snprintf(session, sizeof(session), "%s", cfg->role_session_name);
    else
        cg_chain_default_session_name(session, sizeof(session));
    u->session_name = strdup(session);
    if (!u->group || !u->session_name || (cfg->region && !u->region) ||
        (cfg->role_arn && !u->role_arn) || (cfg->external_id && !u->external_id)) {
        cg_uploader_free(u);
        return NULL;
    }
    u->user_wall = cfg->user_wall_interval;
    u->user_reporting = cfg->user_reporting_interval;
    u->user_depth = cfg->user_max_stack_depth;
    u->memory_budget = (uint64_t)cfg->memory_limit_mb * 1024u * 1024u / 2u;
    atomic_store(&u->period_ms, cfg->reporting_interval_ms);
    u->opts = *opts;
    snprintf(u->fleet_id, sizeof(u->fleet_id), "%s", opts->fleet_id ? opts->fleet_id : "");
    make_uuid(u->agent_id);
    u->min_reporting_ms = DEFAULT_MIN_REPORTING_MS;
    pthread_mutex_init(&u->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&u->cond, &ca);
    pthread_condattr_destroy(&ca);
    u->incoming_tail = &u->incoming;
    return u;
}

static void entry_free(struct entry *e)
{
    if (!e)
        return;
    cg_calltree_free(e->tree);
    free(e->doc);
    free(e);
}

void cg_uploader_free(struct cg_uploader *u)
{
    if (!u)
        return;
    for (struct entry *e = u->queue, *n; e; e = n) {
        n = e->next;
        entry_free(e);
    }
    for (struct entry *e = u->incoming, *n; e; e = n) {
        n = e->next;
        entry_free(e);
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

size_t cg_uploader_bytes(const struct cg_uploader *u)
{
    return u ? atomic_load(&u->queue_bytes) : 0;
}

void cg_uploader_submit(struct cg_uploader *u, struct cg_calltree *tree,
                        const struct cg_profile_meta *meta)
{
    struct entry *e = calloc(1, sizeof(*e));
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
    pthread_mutex_lock(&u->lock);
    *u->incoming_tail = e;
    u->incoming_tail = &e->next;
    pthread_cond_broadcast(&u->cond);
    pthread_mutex_unlock(&u->lock);
}

/* ---- logging: one line per distinct problem, then quiet ---- */

static void log_failure(struct cg_uploader *u, enum cg_log_level level, const char *msg)
{
    /* The same problem again (ignoring attempt counts): debug only. */
    char key[sizeof(u->last_logged)];
    snprintf(key, sizeof(key), "%s", msg);
    if (u->failing && strncmp(u->last_logged, key, 60) == 0) {
        CG_DEBUG("%s", msg);
        return;
    }
    snprintf(u->last_logged, sizeof(u->last_logged), "%s", key);
    u->failing = true;
    cg_log(level, "%s", msg);
}

static void log_recovered(struct cg_uploader *u, const char *what)
{
    if (u->failing)
        CG_WARN("CodeGuru Profiler: %s works again for group %s", what, u->group);
    u->failing = false;
    u->last_logged[0] = '\0';
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

/* The retry wait of aws_request: cut short by stop, except during the
 * final flush (whose deadline aws_request enforces). */
static bool retry_wait(void *ctx, uint64_t ms)
{
    struct cg_uploader *u = ctx;
    uint64_t until = mono_ms() + ms;
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

static bool mergeable(const struct entry *into, const struct entry *e)
{
    return !into->uncertain && into->meta.cpu_hz == e->meta.cpu_hz &&
           into->meta.wall_interval_ms == e->meta.wall_interval_ms;
}

static int merge(struct entry *into, struct entry *e)
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
    struct entry *list = u->incoming;
    u->incoming = NULL;
    u->incoming_tail = &u->incoming;
    pthread_mutex_unlock(&u->lock);
    struct entry **tail = &u->queue;
    while (*tail)
        tail = &(*tail)->next;
    struct entry *last = NULL;
    for (struct entry *q = u->queue; q; q = q->next)
        last = q;
    while (list) {
        struct entry *e = list;
        list = e->next;
        e->next = NULL;
        if (last && mergeable(last, e) && merge(last, e) == 0) {
            entry_free(e);
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
    for (const struct entry *e = u->queue; e; e = e->next)
        n += e->tree_bytes + e->doc_len;
    return n;
}

/* Drops the oldest entries until the queue fits the budget, counting
 * what goes. */
static void enforce_budget(struct cg_uploader *u)
{
    atomic_store(&u->queue_bytes, queue_bytes(u));
    while (u->queue && u->queue->next && queue_bytes(u) > u->memory_budget) {
        struct entry *e = u->queue;
        u->queue = e->next;
        u->dropped_profiles++;
        u->dropped_samples += e->meta.num_times_sampled;
        CG_WARN("CodeGuru Profiler: dropping an undelivered profile of %llu samples to stay "
                "within the memory limit (counted in the next profile's debugInfo)",
                (unsigned long long)e->meta.num_times_sampled);
        entry_free(e);
    }
    atomic_store(&u->queue_bytes, queue_bytes(u));
}

/* ---- setup and ConfigureAgent ---- */

static bool setup(struct cg_uploader *u)
{
    if (u->cg)
        return true;
    if (u->setup_failed)
        return false;
    char err[1024];
    char *region = u->region ? strdup(u->region) : cg_chain_default_region(NULL, NULL, NULL);
    if (!region) {
        CG_ERROR("CodeGuru Profiler: no region for profiling group %s: set "
                 "AWS_CODEGURU_PROFILER_TARGET_REGION (or AWS_REGION, or use the group ARN); "
                 "profiles are not uploaded",
                 u->group);
        u->setup_failed = true;
        return false;
    }
    struct cg_aws_hooks hooks = {.wait_ms = retry_wait, .ctx = u};
    struct cg_chain_settings cs = {
        .region = region, .role_arn = u->role_arn, .session_name = u->session_name,
        .external_id = u->external_id, .hooks = hooks,
    };
    struct cg_chain chain;
    if (cg_chain_build(&cs, &chain, err, sizeof(err)) != 0) {
        CG_ERROR("CodeGuru Profiler: %s; profiles are not uploaded", err);
        free(region);
        u->setup_failed = true;
        return false;
    }
    bool user_set;
    char *endpoint = cg_aws_endpoint("CODEGURUPROFILER", "codeguru-profiler", region, NULL, NULL,
                                     &user_set);
    u->creds = cg_cred_cache_new(chain.provider, &hooks);
    chain.provider = NULL;
    CG_INFO("CodeGuru Profiler: group %s in %s at %s; credentials from %s", u->group, region,
            endpoint ? endpoint : "?", u->creds ? cg_cred_cache_describe(u->creds) : "?");
    cg_chain_cleanup(&chain);
    const char *max_attempts = getenv("AWS_MAX_ATTEMPTS");
    uint32_t attempts = 0;
    if (max_attempts) {
        unsigned long v = strtoul(max_attempts, NULL, 10);
        if (v >= 1 && v <= 10)
            attempts = (uint32_t)v;
    }
    struct cg_codeguru_options co = {
        .endpoint = endpoint, .region = region, .group = u->group, .creds = u->creds,
        .ca_bundle = getenv("AWS_CA_BUNDLE"), .max_attempts = attempts, .hooks = hooks,
    };
    if (u->creds && endpoint)
        u->cg = cg_codeguru_new(&co);
    free(endpoint);
    free(region);
    if (!u->cg) {
        CG_ERROR("CodeGuru Profiler: cannot create the client for group %s (no libcurl, a bad "
                 "endpoint URL or no memory); profiles are not uploaded",
                 u->group);
        u->setup_failed = true;
        return false;
    }
    return true;
}

static void apply(struct cg_uploader *u, const struct cg_service_settings *s)
{
    if (u->opts.apply)
        u->opts.apply(u->opts.apply_ctx, s);
}

static void pause_profiling(struct cg_uploader *u)
{
    struct cg_service_settings s = {.should_profile = false};
    apply(u, &s);
}

static void configure(struct cg_uploader *u, uint64_t deadline_ms)
{
    uint64_t now = mono_ms();
    u->next_configure_ms = now + atomic_load(&u->period_ms);
    if (!setup(u))
        return;
    struct cg_agent_configuration conf;
    char err[1024];
    enum cg_codeguru_failure f =
        cg_codeguru_configure_agent(u->cg, u->fleet_id, u->agent_id, deadline_ms, &conf, err,
                                    sizeof(err));
    if (f != CG_CG_OK) {
        log_failure(u, f == CG_CG_SETUP ? CG_LOG_ERROR : CG_LOG_WARN, err);
        if (f == CG_CG_SETUP) {
            u->setup_paused = true;
            pause_profiling(u);
        }
        return;
    }
    log_recovered(u, "ConfigureAgent");
    u->configured = true;
    u->service_says_no = !conf.should_profile;
    u->setup_paused = false;
    if (conf.min_reporting_ms >= 0)
        u->min_reporting_ms = conf.min_reporting_ms;
    struct cg_service_settings s = {.should_profile = conf.should_profile};
    if (!u->user_reporting && conf.period_s > 0) {
        s.reporting_interval_ms = (uint64_t)conf.period_s * 1000u;
        atomic_store(&u->period_ms, s.reporting_interval_ms);
    }
    if (!u->user_wall && conf.sampling_interval_ms > 0 && conf.sampling_interval_ms <= 60000)
        s.wall_interval_ms = (uint32_t)conf.sampling_interval_ms;
    if (!u->user_depth && conf.max_stack_depth > 0 && conf.max_stack_depth <= 100000)
        s.max_stack_depth = (uint32_t)conf.max_stack_depth;
    apply(u, &s);
    CG_DEBUG("ConfigureAgent: shouldProfile=%s period=%llds sampling=%lldms "
             "minimumReporting=%lldms",
             conf.should_profile ? "true" : "false", (long long)conf.period_s,
             (long long)conf.sampling_interval_ms, (long long)conf.min_reporting_ms);
    /* Next: after the next report, or a period from now when paused. */
    u->next_configure_ms = conf.should_profile ? UINT64_MAX : now + atomic_load(&u->period_ms);
}

/* ---- posting ---- */

static char *encode(struct cg_uploader *u, struct entry *e, size_t *len)
{
    const char *names[3];
    uint64_t counts[3];
    size_t n = 0;
    if (e->unprofiled_threads) {
        names[n] = "unprofiledThreads";
        counts[n++] = e->unprofiled_threads;
    }
    if (u->dropped_profiles) {
        names[n] = "unsentProfilesDropped";
        counts[n++] = u->dropped_profiles;
        names[n] = "unsentSamplesDropped";
        counts[n++] = u->dropped_samples;
    }
    e->meta.error_names = names;
    e->meta.error_counts = counts;
    e->meta.n_errors = n;
    if (u->fleet_detected) {
        const struct cg_fleet *f = &u->fleet;
        e->meta.fleet = (struct cg_fleet_info){
            .compute_type = f->compute_type,
            .host_name = f->host_name[0] ? f->host_name : NULL,
            .host_type = f->host_type[0] ? f->host_type : NULL,
            .task_arn = f->task_arn[0] ? f->task_arn : NULL,
            .vcpus = e->meta.fleet.vcpus,
        };
    }
    char *doc = cg_profile_doc_encode(e->tree, &e->meta, len);
    e->meta.error_names = NULL;
    e->meta.error_counts = NULL;
    e->meta.n_errors = 0;
    return doc;
}

/* Posts queued entries, oldest first, until one fails. */
static void deliver(struct cg_uploader *u, bool final, uint64_t deadline_ms)
{
    if (u->setup_failed) {
        /* Said once already (setup): nothing can be sent from this process.
         * Sampling goes on only for the local sink. */
        if (!u->gave_up) {
            u->gave_up = true;
            if (!u->opts.local_sink)
                pause_profiling(u);
        }
        while (u->queue) {
            struct entry *e = u->queue;
            u->queue = e->next;
            entry_free(e);
        }
        atomic_store(&u->queue_bytes, 0);
        return;
    }
    enforce_budget(u);
    if (u->service_says_no) {
        /* The service does not want profiles from this group now; the
         * local sink (if any) has them. */
        while (u->queue && !u->queue->uncertain) {
            struct entry *e = u->queue;
            CG_INFO("CodeGuru Profiler: not sending %llu samples: the service said "
                    "shouldProfile=false",
                    (unsigned long long)e->meta.num_times_sampled);
            u->queue = e->next;
            entry_free(e);
        }
    }
    while (u->queue) {
        struct entry *e = u->queue;
        if (u->setup_paused && !final)
            return;
        if (!e->uncertain) {
            uint64_t span = e->meta.end_ms > e->meta.start_ms ? e->meta.end_ms - e->meta.start_ms
                                                              : 0;
            if ((int64_t)span < u->min_reporting_ms) {
                if (!final)
                    return; /* wait: the next period is merged into it */
                CG_INFO("CodeGuru Profiler: the last %llu ms of profile (%llu samples) are "
                        "shorter than the service's minimum of %lld ms and are not uploaded",
                        (unsigned long long)span,
                        (unsigned long long)e->meta.num_times_sampled,
                        (long long)u->min_reporting_ms);
                u->queue = e->next;
                entry_free(e);
                continue;
            }
            if (!setup(u))
                return;
            e->doc = encode(u, e, &e->doc_len);
            if (!e->doc) {
                CG_ERROR("CodeGuru Profiler: out of memory encoding a profile");
                return;
            }
            make_uuid(e->token);
        }
        if (!setup(u))
            return;
        char err[1024];
        enum cg_codeguru_failure f =
            cg_codeguru_post_profile(u->cg, e->token, e->doc, e->doc_len, deadline_ms, err,
                                     sizeof(err));
        if (f == CG_CG_OK) {
            log_recovered(u, "PostAgentProfile");
            CG_INFO("CodeGuru Profiler: posted %llu samples to group %s (token %s)",
                    (unsigned long long)e->meta.num_times_sampled, u->group, e->token);
            if (!e->uncertain) {
                /* Those counts were in this document. */
                u->dropped_profiles = 0;
                u->dropped_samples = 0;
            }
            u->queue = e->next;
            entry_free(e);
            u->next_configure_ms = mono_ms(); /* after every report */
            continue;
        }
        if (f == CG_CG_UNCERTAIN) {
            /* It may have arrived: keep these exact bytes and this token. */
            e->uncertain = true;
            log_failure(u, CG_LOG_WARN, err);
            return;
        }
        /* Refused: nothing was taken; the next period merges into it. */
        free(e->doc);
        e->doc = NULL;
        e->doc_len = 0;
        log_failure(u, f == CG_CG_SETUP ? CG_LOG_ERROR : CG_LOG_WARN, err);
        if (f == CG_CG_SETUP) {
            u->setup_paused = true;
            pause_profiling(u);
            u->next_configure_ms = mono_ms() + atomic_load(&u->period_ms);
        }
        return;
    }
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
        r = (uint32_t)mono_ms();
    uint64_t start_at = mono_ms() + r % (max_delay + 1);
    bool running = true;
    /* A random start spreads a fleet's first calls. */
    while (running && mono_ms() < start_at) {
        pthread_mutex_lock(&u->lock);
        bool stop = u->stop;
        pthread_mutex_unlock(&u->lock);
        if (stop)
            running = false;
        else
            wait_for_work(u, start_at);
    }
    if (running)
        configure(u, 0);
    while (running) {
        uint64_t now = mono_ms();
        uint64_t wake = now + REFRESH_CHECK_MS;
        if (u->next_configure_ms < wake)
            wake = u->next_configure_ms;
        running = wait_for_work(u, wake);
        take_incoming(u);
        if (!running)
            break;
        if (u->creds) {
            char err[1024];
            if (cg_cred_cache_refresh_if_due(u->creds, 0, err, sizeof(err)) < 0)
                log_failure(u, CG_LOG_WARN, err);
        }
        deliver(u, false, 0);
        /* Not when the process is exiting: the flush should be all it waits for. */
        if (mono_ms() >= u->next_configure_ms && !stopping(u))
            configure(u, 0);
    }
    /* Final flush, bounded by the caller's deadline. */
    pthread_mutex_lock(&u->lock);
    uint64_t deadline = u->stop_deadline_ms;
    u->flushing = true;
    pthread_mutex_unlock(&u->lock);
    take_incoming(u);
    if (u->queue && !u->configured && !u->setup_failed && mono_ms() < deadline)
        configure(u, deadline); /* learn the minimum reporting time first */
    deliver(u, true, deadline);
    pthread_mutex_lock(&u->lock);
    u->done = true;
    pthread_cond_broadcast(&u->cond);
    pthread_mutex_unlock(&u->lock);
    return NULL;
}

int cg_uploader_start(struct cg_uploader *u)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = u->opts.pthread_create(&u->thread, NULL, uploader_main, u);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -rc;
    atomic_store(&u->started, true);
    return 0;
}

int cg_uploader_stop(struct cg_uploader *u, uint64_t deadline_ms)
{
    if (!atomic_load(&u->started))
        return 0;
    struct timespec ts = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000L};
    pthread_mutex_lock(&u->lock);
    u->stop = true;
    u->stop_deadline_ms = deadline_ms;
    pthread_cond_broadcast(&u->cond);
    int rc = 0;
    while (!u->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&u->cond, &u->lock, &ts);
    bool done = u->done;
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
