/*
 * uploader_internal.h - what the two halves of the uploader share:
 * uploader.c (the thread, its queue and its waits) and uploader_post.c
 * (the conversation with CodeGuru Profiler: set-up, ConfigureAgent,
 * PostAgentProfile).  Private to core/upload/.
 *
 * Owns: the layout of struct cg_uploader and of its queue entries.
 * Thread safety: fields marked "guarded by lock" under u->lock; the
 * uploader-thread state only on the upload thread.
 * Signal safety: none of this is async-signal-safe.
 */
#ifndef CG_UPLOADER_INTERNAL_H
#define CG_UPLOADER_INTERNAL_H

#include "core/upload/uploader.h"

#include "core/base/log.h"
#include "core/base/uuid.h"
#include "core/profile/profile_doc.h"
#include "core/upload/fleet.h"
#include "sts/aws_request.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define CG_UPLOADER_DEFAULT_MIN_REPORTING_MS 60000

struct cg_upload_entry {
    struct cg_upload_entry *next;
    struct cg_calltree *tree;
    struct cg_profile_meta meta; /* strings point into this entry */
    char fleet_id[64];
    char runtime_version[48];
    char agent_version[24];
    uint64_t unprofiled_threads;
    size_t tree_bytes;
    char *doc;                   /* uncertain entries only */
    size_t doc_len;
    char token[CG_UUID_BUF];
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
    char agent_id[CG_UUID_BUF];

    pthread_t thread;
    _Atomic bool started;
    _Atomic pid_t tid;
    _Atomic size_t queue_bytes;  /* published by the upload thread */
    /* Entries submitted and not yet freed (incoming + queue): whether an
     * exit has anything to flush, read without a lock from _exit. */
    _Atomic size_t entries;
    _Atomic uint64_t encode_ns;  /* upload thread's CPU encoding, so far */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct cg_upload_entry *incoming, **incoming_tail; /* guarded by lock */
    bool stop;                                /* guarded by lock */
    uint64_t stop_deadline_ms;                /* guarded by lock */
    bool done;                                /* guarded by lock */
    bool flushing;                            /* guarded by lock: final flush */
    bool stop_soon;                           /* guarded by lock: exit is coming */

    /* uploader-thread state */
    struct cg_upload_entry *queue;
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

static inline uint64_t cg_uploader_mono_ms(void)
{
    return cg_aws_monotonic_ms();
}

/* uploader.c */

/* Frees one entry of u's (incoming or queue), counting it out of
 * u->entries.  NULL-safe. */
void cg_uploader_entry_free(struct cg_uploader *u, struct cg_upload_entry *e);

/* Drops the oldest entries until the queue fits the memory budget,
 * counting what goes. */
void cg_uploader_enforce_budget(struct cg_uploader *u);

/* The retry wait of aws_request: cut short by stop, except during the
 * final flush (whose deadline aws_request enforces). */
bool cg_uploader_retry_wait(void *ctx, uint64_t ms);

/* uploader_post.c */

/* ConfigureAgent (setting the client up first if needed), and the
 * settings it returns handed to the agent.  deadline_ms 0: none. */
void cg_uploader_configure(struct cg_uploader *u, uint64_t deadline_ms);

/* Posts queued entries, oldest first, until one fails. */
void cg_uploader_deliver(struct cg_uploader *u, bool final, uint64_t deadline_ms);

/* Logs msg once per distinct problem (then at debug level). */
void cg_uploader_log_failure(struct cg_uploader *u, enum cg_log_level level, const char *msg);

#endif
