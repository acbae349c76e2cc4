/*
 * agent_exit.c - the end of an agent: stop (the destructor: exit(),
 * return from main) and the _exit flush (the _exit/_Exit wrappers).
 *
 * Fork and exec need nothing here.  A fork child gets a fresh agent from
 * preload/'s atfork handler (cg_agent_new + cg_agent_start) and leaks its
 * copy of the parent's, which another thread may have been changing when
 * memory was copied; exec deletes every POSIX timer and LD_PRELOAD brings
 * a fresh agent into the new image.
 *
 * DESIGN: both ways out set a deadline, then let the agent thread do the
 * work (last drain, final report, upload flush) and wait for it, bounded.
 * What it won't do: keep a process from exiting, or free what a late
 * signal could still read.
 */
#include "core/agent/agent_internal.h"

#include "core/base/error.h"
#include "core/base/log.h"
#include "core/base/own_thread.h"
#include "core/upload/uploader.h"


int cg_agent_stop(struct cg_agent *a, uint64_t timeout_ms)
{
    cg_uploader_stop_soon(a->uploader);
    atomic_store(&a->stopped, true);
    cg_agent_delete_timers(a);
    if (!a->thread_started)
        return 0;
    uint64_t deadline = cg_clock_ns(CLOCK_MONOTONIC) + timeout_ms * 1000000u;
    uint64_t unset = 0;
    atomic_compare_exchange_strong(&a->stop_deadline_ns, &unset, deadline);
    pthread_mutex_lock(&a->wake_lock);
    a->stop_requested = true;
    pthread_cond_broadcast(&a->wake_cond);
    bool done = cg_own_thread_wait_done(&a->wake_cond, &a->wake_lock, &a->done, deadline);
    pthread_mutex_unlock(&a->wake_lock);
    if (!done) {
        CG_WARN("the final report did not finish within %llu ms; exiting without it",
                (unsigned long long)timeout_ms);
        return CG_ESTATE;
    }
    pthread_join(a->thread, NULL);
    a->thread_started = false;
    return 0;
}

void cg_agent_exit_flush_sigsafe(struct cg_agent *a, uint64_t timeout_ms)
{
    /* Only the process that owns this agent (not a vfork child sharing its
     * memory), only while its thread runs. */
    if (!a || getpid() != a->pid || !a->thread_started || atomic_load(&a->finished) ||
        cg_agent_current_tid() == atomic_load(&a->tid))
        return;
    uint64_t now = cg_clock_ns(CLOCK_MONOTONIC);
    uint64_t deadline = now + timeout_ms * 1000000u;
    uint64_t unset = 0;
    atomic_compare_exchange_strong(&a->stop_deadline_ns, &unset, deadline);
    atomic_store(&a->exit_requested, true);
    /* No lock, no condition variable: poll.  The agent thread notices the
     * request within a drain interval (100 ms). */
    while (!atomic_load(&a->finished) && cg_clock_ns(CLOCK_MONOTONIC) < deadline + 200000000u) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
}
