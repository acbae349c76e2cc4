/*
 * agent_internal.h - what the files of the agent share, one file per
 * phase of its life:
 *   agent.c          start: creating the agent and its threads;
 *   agent_threads.c  per-thread set-up: registering threads, their CPU
 *                    timers, the /proc/self/task scan, standing aside;
 *   agent_loop.c     the agent thread: draining rings, wall-clock ticks,
 *                    limits, what ConfigureAgent asked for;
 *   agent_report.c   the periodic report: symbols, call tree, document,
 *                    local sink and uploader;
 *   agent_exit.c     stop and the _exit flush (fork and exec: see there).
 * Private to core/agent/.
 *
 * Owns: the layout of struct cg_agent.
 * Thread safety: as marked on each field: settings are written before
 * the agent thread starts; "agent-thread state" only on that thread;
 * atomics anywhere; fields "guarded by wake_lock" under it.
 * Signal safety: cg_agent_exit_flush_sigsafe and cg_agent_has_data_sigsafe
 * use only the atomics, clock.h and raw futex calls; nothing else here is
 * async-signal-safe.
 */
#ifndef CG_AGENT_INTERNAL_H
#define CG_AGENT_INTERNAL_H

#include "core/agent/agent.h"

#include "core/base/clock.h"
#include "core/base/cpu_account.h"
#include "core/base/uuid.h"
#include "core/upload/fleet.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct cg_agent {
    /* settings copied at creation */
    uint32_t cpu_hz;
    uint32_t wall_interval_ms;
    uint32_t max_stack_depth;
    uint64_t reporting_interval_ms;
    char *output_dir;
    bool output_shared;      /* output_mode=shared: 0644/0755 instead of 0600/0700 */
    char *profile_name;     /* group name, else program name: file names */
    uint32_t cpu_limit_percent;
    uint64_t memory_limit_bytes;
    const char *kill_file;
    struct cg_agent_options opts;

    struct cg_threads *threads;
    struct cg_frame_rules *frame_rules; /* NULL: every sample via libunwind */
    uint64_t rules_learned_in_drain;
    pthread_mutex_t reg_lock; /* registration: find-then-claim is atomic */
    _Atomic bool stopped;     /* stand_aside or stop: no more timers */
    /* Set by cg_agent_stand_aside_sigsafe (the reason, static storage):
     * the agent thread logs it and finishes the stand-down. */
    _Atomic(const char *) aside_why;
    _Atomic bool modules_changed;
    _Atomic pid_t tid;
    _Atomic uint64_t unprofiled_threads; /* registry full or timer failed */

    pthread_t thread;
    bool thread_started;
    pthread_mutex_t wake_lock;
    pthread_cond_t wake_cond;
    bool stop_requested;      /* guarded by wake_lock */
    bool kicked;              /* guarded by wake_lock: drain now */
    _Atomic bool drain_soon;      /* a ring passed half full (the handler): drain */
    _Atomic size_t exited_pending; /* EXITED slots not yet reclaimed */
    bool done;                /* guarded by wake_lock */

    /* agent-thread state */
    struct cg_stackagg *stacks;
    struct cg_symbolizer *symbolizer;
    struct cg_wall *wall;        /* created at the first wall tick */
    uint64_t *wall_scratch;      /* CG_MAX_UNWIND_FRAMES pcs */
    uint64_t wall_unwinds, wall_reused, wall_moved; /* for debug logging */
    uint64_t period_start_ms;   /* epoch ms */
    uint64_t last_sample_ms;    /* epoch ms of the last drained sample */
    uint64_t period_cpu_ns;     /* process CPU at period start */
    uint64_t period_agent_ns;   /* agent thread CPU at period start */
    uint64_t period_upload_ns;  /* upload thread CPU at period start */
    uint64_t period_upload_enc_ns; /* its encoding CPU at period start */
    struct cg_cpu_account acct; /* agent thread CPU by activity, this period */
    uint64_t samples_in_period;
    uint64_t drops_in_period;
    uint64_t handler_ns_in_period; /* time spent in the handler, all threads */
    uint64_t handler_calls_in_period;
    uint64_t slow_samples_in_period; /* records flagged CG_REC_SLOW */
    uint64_t threads_seen_max;
    uint64_t loader_generation; /* dlpi_adds + dlpi_subs at the last check */
    uint64_t loader_unloads;    /* dlpi_subs at the last check */
    /* The main thread registered; the agent thread reads its stack bounds
     * (glibc reads /proc/self/maps for them: not in the constructor). */
    pthread_t main_thread;
    _Atomic bool main_stack_pending;
    uint64_t started_mono_ns;     /* when the agent thread started */
    uint64_t handler_ns_total;    /* handler time since start, all threads */
    size_t last_tree_bytes;       /* memory of the last call tree built */
    char fleet_id[CG_UUID_BUF];
    char runtime_version[32];
    char *exe_path;       /* /proc/self/exe at creation: pprof's main mapping; may be NULL */
    uint32_t vcpus;

    /* Python frames (core/runtime/python.h): inert until an interpreter
     * shows up. */
    struct cg_py *py;
    bool py_attached;             /* agent thread: last poll's answer */
    uint64_t *py_scratch;         /* CG_MAX_UNWIND_FRAMES words, for resolving */
    /* Java frames (core/runtime/jvm.h): inert until a JVM shows up. */
    struct cg_jvm *jvm;
    bool jvm_attached;            /* agent thread: last poll's answer */
    bool jvm_flush_requested;     /* guarded by wake_lock: VMDeath waits */
    uint64_t jvm_flush_done;      /* guarded by wake_lock: drains since */
    pid_t *java_tids;             /* agent thread: tids the JVM sampled this wall tick, sorted */
    size_t java_tids_n, java_tids_cap;
    uint64_t jvm_failures_reported; /* agent thread: failed Java walks already in a report */

    /* CodeGuru Profiler delivery (NULL without a profiling group) */
    struct cg_uploader *uploader;
    /* What ConfigureAgent asked for, set from the uploader thread and
     * taken over by the agent thread at its next wake-up (0: no change). */
    _Atomic bool paused;              /* shouldProfile=false or a setup error */
    bool paused_applied;              /* agent thread: timers disarmed */
    _Atomic uint64_t svc_reporting_interval_ms;
    _Atomic uint32_t svc_wall_interval_ms;
    _Atomic uint32_t svc_max_stack_depth;
    _Atomic bool svc_changed;
    pid_t pid;                        /* the process this agent belongs to */
    _Atomic bool exit_requested;      /* _exit: stop and flush (set sigsafe) */
    _Atomic uint32_t wake_seq;        /* futex word the agent thread sleeps on:
                                         bumped by cg_agent_wake after any flag
                                         it should look at is set */
    _Atomic uint64_t stop_deadline_ns;/* CLOCK_MONOTONIC; 0: none set */
    /* 1 once the thread is done; a futex word, so the _exit path can sleep
     * on it (FUTEX_WAIT) and the thread wake it, with no lock. */
    _Atomic uint32_t finished;
    /* Samples drained into the stack table (or taken by wall ticks) and
     * not yet handed to a sink: stored true before the slot's
     * records_taken moves on (threads.h), false once the report has
     * written them and queued them with the uploader.  With the rings and
     * the uploader's queue it tells the exit paths whether a final report
     * has anything to keep (cg_agent_has_data_sigsafe). */
    _Atomic bool unreported;
    struct cg_fleet fleet;            /* written once by the uploader, then */
    _Atomic bool fleet_ready;         /* published here; read by the agent */
};

static inline pid_t cg_agent_current_tid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* agent_exit.c */

/* True when a final report would have something to keep: a record still
 * in a ring, samples drained but not yet reported, a profile in the
 * uploader's queue, or a stand-down line still to log.  Async-signal-
 * safe, lock-free.  A sample committed while it runs may be missed (as
 * if it came after the exit). */
bool cg_agent_has_data_sigsafe(struct cg_agent *a);

/* Wakes the agent thread to look at its flags (kicked, stop_requested,
 * exit_requested, jvm_flush_requested), set before the call.  Async-
 * signal-safe: an atomic increment and a futex wake. */
void cg_agent_wake(struct cg_agent *a);

/* The agent thread is done: sets `finished` and wakes the _exit path if
 * it sleeps on it.  Agent thread. */
void cg_agent_mark_finished(struct cg_agent *a);

/* agent_threads.c */

/* Deletes every slot's timer, under reg_lock. */
void cg_agent_delete_timers(struct cg_agent *a);

/* Logs the reason cg_agent_stand_aside_sigsafe left and deletes, under
 * reg_lock, any timer left; nothing when none was left.  The agent thread
 * at each wake-up and before the final report, and cg_agent_stop; never
 * from a signal handler.  Only one caller gets the reason. */
void cg_agent_finish_stand_aside(struct cg_agent *a);

/* Arms (the service said resume) or disarms (pause) every timer, keeping
 * them allocated; nothing once the agent stopped. */
void cg_agent_arm_timers(struct cg_agent *a, bool arm);

/* Registers threads found in /proc/self/task that nobody registered, and
 * retires slots of threads that vanished.  Agent thread. */
void cg_agent_rescan_tasks(struct cg_agent *a);
/* Field 22 (starttime) of /proc/self/task/TID/stat, 0 when unreadable. */
uint64_t cg_agent_read_start_ticks(pid_t tid);
/* The same from a NUL-terminated stat text; 0 when it has no field 22. */
uint64_t cg_agent_parse_start_ticks(const char *stat);

/* Gives the main thread's slot its stack bounds once it has registered.
 * Agent thread. */
void cg_agent_record_main_stack(struct cg_agent *a);

/* agent_loop.c */

/* The agent thread's body: arg is the agent. */
void *cg_agent_main(void *arg);

/* agent_report.c */

/* Builds, writes and submits the period's profile (final: the last one),
 * then starts a new period.  Agent thread. */
void cg_agent_report(struct cg_agent *a, bool final);

/* Memory the agent holds (registry, rings, stack table, symbols, the last
 * call tree, the upload queue). */
size_t cg_agent_bytes(const struct cg_agent *a);

#endif
