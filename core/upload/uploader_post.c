/*
 * uploader_post.c - the uploader's conversation with CodeGuru Profiler:
 * the client and its credentials (set up on first need), ConfigureAgent
 * and what it asks for, and posting the queue (see uploader.h).
 *
 * DESIGN: runs on the upload thread only, without the lock; every error
 * is logged once per distinct problem and turns into a state (paused,
 * uncertain, refused) that the thread's loop acts on later.  What it
 * won't do: post a profile twice under two tokens, or sample on when
 * nothing can ever be sent and no local sink wants the profiles.
 */
#include "core/upload/uploader_internal.h"

#include "core/base/cpu_account.h"
#include "core/base/http.h"
#include "core/profile/calltree.h"
#include "core/upload/codeguru.h"
#include "sts/chain.h"
#include "sts/endpoints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- logging: one line per distinct problem, then quiet ---- */

void cg_uploader_log_failure(struct cg_uploader *u, enum cg_log_level level, const char *msg)
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
    struct cg_aws_hooks hooks = {.wait_ms = cg_uploader_retry_wait, .ctx = u};
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
    const char *max_attempts = secure_getenv("AWS_MAX_ATTEMPTS");
    uint32_t attempts = 0;
    if (max_attempts) {
        unsigned long v = strtoul(max_attempts, NULL, 10);
        if (v >= 1 && v <= 10)
            attempts = (uint32_t)v;
    }
    struct cg_codeguru_options co = {
        .endpoint = endpoint, .region = region, .group = u->group, .creds = u->creds,
        .ca_bundle = secure_getenv("AWS_CA_BUNDLE"), .max_attempts = attempts, .hooks = hooks,
    };
    if (u->creds && endpoint)
        u->cg = cg_codeguru_new(&co);
    free(endpoint);
    free(region);
    if (!u->cg) {
        /* Without libcurl its loader said so already, in the one line
         * that case gets (docs/errors.md). */
        if (cg_http_available())
            CG_ERROR("CodeGuru Profiler: cannot create the client for group %s (a bad "
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

void cg_uploader_configure(struct cg_uploader *u, uint64_t deadline_ms)
{
    uint64_t now = cg_uploader_mono_ms();
    u->next_configure_ms = now + atomic_load(&u->period_ms);
    if (!setup(u))
        return;
    struct cg_agent_configuration conf;
    char err[1024];
    enum cg_codeguru_failure f =
        cg_codeguru_configure_agent(u->cg, u->fleet_id, u->agent_id, deadline_ms, &conf, err,
                                    sizeof(err));
    if (f != CG_CG_OK) {
        cg_uploader_log_failure(u, f == CG_CG_SETUP ? CG_LOG_ERROR : CG_LOG_WARN, err);
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
    /* Every value is within its documented range here (codeguru.c), so
     * the products below cannot wrap. */
    if (!u->user_wall && conf.sampling_interval_ms > 0)
        s.wall_interval_ms = (uint32_t)conf.sampling_interval_ms;
    if (!u->user_depth && conf.max_stack_depth > 0)
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

static char *encode(struct cg_uploader *u, struct cg_upload_entry *e, size_t *len)
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
    if (u->fleet_detected)
        e->meta.fleet = cg_fleet_doc_info(&u->fleet, e->meta.fleet.vcpus);
    uint64_t t0 = cg_cpu_account_now();
    char *doc = cg_profile_doc_encode(e->tree, &e->meta, len);
    atomic_fetch_add(&u->encode_ns, cg_cpu_account_now() - t0);
    e->meta.error_names = NULL;
    e->meta.error_counts = NULL;
    e->meta.n_errors = 0;
    return doc;
}

void cg_uploader_deliver(struct cg_uploader *u, bool final, uint64_t deadline_ms)
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
            struct cg_upload_entry *e = u->queue;
            u->queue = e->next;
            cg_uploader_entry_free(u, e);
        }
        atomic_store(&u->queue_bytes, 0);
        return;
    }
    cg_uploader_enforce_budget(u);
    if (u->service_says_no) {
        /* The service does not want profiles from this group now; the
         * local sink (if any) has them. */
        while (u->queue && !u->queue->uncertain) {
            struct cg_upload_entry *e = u->queue;
            CG_INFO("CodeGuru Profiler: not sending %llu samples: the service said "
                    "shouldProfile=false",
                    (unsigned long long)e->meta.num_times_sampled);
            u->queue = e->next;
            cg_uploader_entry_free(u, e);
        }
    }
    while (u->queue) {
        struct cg_upload_entry *e = u->queue;
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
                cg_uploader_entry_free(u, e);
                continue;
            }
            if (!setup(u))
                return;
            e->doc = encode(u, e, &e->doc_len);
            if (!e->doc) {
                CG_ERROR("CodeGuru Profiler: out of memory encoding a profile");
                return;
            }
            cg_uuid_v4(e->token);
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
            cg_uploader_entry_free(u, e);
            u->next_configure_ms = cg_uploader_mono_ms(); /* after every report */
            continue;
        }
        if (f == CG_CG_UNCERTAIN) {
            /* It may have arrived: keep these exact bytes and this token. */
            e->uncertain = true;
            cg_uploader_log_failure(u, CG_LOG_WARN, err);
            return;
        }
        /* Refused: nothing was taken; the next period merges into it. */
        free(e->doc);
        e->doc = NULL;
        e->doc_len = 0;
        cg_uploader_log_failure(u, f == CG_CG_SETUP ? CG_LOG_ERROR : CG_LOG_WARN, err);
        if (f == CG_CG_SETUP) {
            u->setup_paused = true;
            pause_profiling(u);
            u->next_configure_ms = cg_uploader_mono_ms() + atomic_load(&u->period_ms);
        }
        return;
    }
}

