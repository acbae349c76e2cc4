/*
 * uploader.h - delivers profiles to CodeGuru Profiler in the central
 * account, on its own thread, so the network never stalls sampling or the
 * application.
 *
 * The agent thread hands over each period's call tree (cg_uploader_submit,
 * never blocks on I/O).  The uploader thread:
 *   - at start detects EC2 or ECS/Fargate for fleetInfo (fleet.h), then,
 *     after a random delay of up to a second, builds the credential chain
 *     (sts/chain.h) and calls ConfigureAgent; again after
 *     every report, or every period while the service is unreachable or
 *     the group is misconfigured;
 *   - applies shouldProfile, periodInSeconds and agentParameters through
 *     the agent's callback, except values the user set (SPEC §3);
 *   - posts a profile once it spans MinimumTimeForReportingInMilliseconds
 *     (shorter periods are merged into the next one);
 *   - keeps what could not be delivered: a profile the service refused
 *     for now (5xx, throttling) is merged into the next one; one that got
 *     no answer at all (the service may have taken it) is posted again
 *     as-is with the same profileToken, so it can never be counted twice;
 *     queued profiles are bounded by half the memory limit, and what is
 *     dropped to stay under it is counted in the next document's
 *     debugInfo.errorsCount (unsentProfilesDropped, unsentSamplesDropped);
 *   - refreshes credentials in the background (cred_cache.h windows);
 *   - at stop, posts what is left within the caller's deadline.
 *
 * Owns: the upload thread, the queue of undelivered profiles, the
 * credential cache and the CodeGuru client; submit takes the tree, the
 * meta's strings are copied.
 * Thread safety: submit, stop_soon and the getters from any thread (the
 * agent thread, in practice); new/start/stop/free from one thread.
 * Signal safety: only cg_uploader_holds_sigsafe.
 */
#ifndef CG_UPLOADER_H
#define CG_UPLOADER_H

#include "core/base/real_fns.h"
#include "core/profile/profile_doc.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cg_calltree;
struct cg_uploader;

/* Values from ConfigureAgent the agent should use; 0 = no change. */
struct cg_service_settings {
    bool should_profile;
    uint64_t reporting_interval_ms;
    uint32_t wall_interval_ms;
    uint32_t max_stack_depth;
};

struct cg_fleet;

struct cg_uploader_options {
    const struct cg_real_fns *real;       /* libc's pthread_create for the upload
                                             thread (borrowed, must outlive u) */
    const char *group;                    /* profiling group name; NULL: no uploader */
    const char *region;                   /* the group's region; NULL: from the AWS
                                             configuration (sts/chain.h) */
    const char *role_arn;                 /* central-account role; NULL: base credentials */
    const char *role_session_name;        /* NULL: cgagent-<host>-<pid> */
    const char *external_id;              /* AssumeRole ExternalId; NULL: none */
    uint64_t reporting_interval_ms;       /* ConfigureAgent's poll period until the
                                             service names one */
    uint32_t memory_limit_mb;             /* the queue may hold half of it */
    /* Settings the user chose: ConfigureAgent must not override them. */
    bool user_wall_interval, user_reporting_interval, user_max_stack_depth;
    const char *fleet_id;                 /* the UUID used when nothing is detected */
    void (*apply)(void *ctx, const struct cg_service_settings *s);
    /* Called once, from the upload thread, when EC2/ECS was detected
     * (fleet.h); the agent uses it in later documents. */
    void (*set_fleet)(void *ctx, const struct cg_fleet *f);
    void *apply_ctx;
    uint64_t initial_delay_max_ms;        /* 0: 1000 */
    bool local_sink;                      /* profiles are also written locally: keep
                                             sampling even if uploading cannot work */
};

/* Returns NULL when opts has no profiling group (nothing to do), or on
 * out-of-memory.  Copies the strings of opts; keeps opts->real and
 * apply_ctx. */
struct cg_uploader *cg_uploader_new(const struct cg_uploader_options *opts);

/* Starts the upload thread (libc's pthread_create, every signal blocked).
 * Returns 0 or -errno. */
int cg_uploader_start(struct cg_uploader *u);

/* Queues one period for delivery; takes `tree`. */
void cg_uploader_submit(struct cg_uploader *u, struct cg_calltree *tree,
                        const struct cg_profile_meta *meta);

/* The process is about to exit (the final report is coming): deliver
 * what arrives, but make no more ConfigureAgent calls.  Any thread. */
void cg_uploader_stop_soon(struct cg_uploader *u);

/* Delivers what is queued until `deadline_ms` (CLOCK_MONOTONIC) and stops
 * the thread.  Returns 0, or CG_ESTATE when the thread did not finish in
 * time (it is left to die with the process). */
int cg_uploader_stop(struct cg_uploader *u, uint64_t deadline_ms);

void cg_uploader_free(struct cg_uploader *u);

/* The uploader thread's id (0 before it runs), so the agent never samples
 * or registers it. */
pid_t cg_uploader_tid(const struct cg_uploader *u);

/* The upload thread's CPU time so far and the bytes its queue holds, for
 * the agent's overhead report and its CPU and memory limits.  Any thread;
 * NULL-safe (0). */
uint64_t cg_uploader_cpu_ns(const struct cg_uploader *u);

/* The part of that CPU time spent encoding documents, so far: the agent's
 * per-activity breakdown (core/base/cpu_account.h).  Any thread; NULL-safe
 * (0).  Read it before cg_uploader_cpu_ns so it never exceeds it. */
uint64_t cg_uploader_encode_ns(const struct cg_uploader *u);
size_t cg_uploader_bytes(const struct cg_uploader *u);

/* True while a submitted profile is neither delivered nor dropped (in the
 * queue, or being posted): what an exit would flush.  NULL-safe (false).
 * Async-signal-safe: one atomic load. */
bool cg_uploader_holds_sigsafe(struct cg_uploader *u);

#endif
