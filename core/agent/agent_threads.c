/*
 * agent_threads.c - per-thread set-up: each profiled thread gets a slot in
 * the registry (its ring) and a CPU timer; threads the pthread_create
 * wrapper never saw are found in /proc/self/task; slots of threads that
 * are gone are retired; and when the application takes the profiling
 * signal, every timer goes (without a lock when the wrappers ask, since
 * a program may call sigaction from a signal handler: the agent thread
 * logs the line later).
 *
 * DESIGN: registration (find-then-claim) happens under reg_lock, which the
 * signal handler never takes, so a thread and the task scan cannot both
 * register one tid.  A kernel timer id is deleted by whoever atomically
 * takes it from its slot: an id deleted twice could by then name someone
 * else's timer.  What it won't do: arm a timer once the agent stopped.
 */
#include "core/agent/agent_internal.h"

#include "core/base/log.h"
#include "core/base/own_thread.h"
#include "core/sample/cpu_timer.h"
#include "core/sample/threads.h"
#include "core/upload/uploader.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Takes the slot's timer away (whoever gets it deletes it): a kernel timer
 * id deleted twice could by then name someone else's timer. */
static void slot_delete_timer(struct cg_thread_slot *s)
{
    int id = atomic_exchange(&s->timer_id, -1);
    if (id >= 0)
        cg_cpu_timer_delete(id);
}

/* Gives an ACTIVE slot an armed timer on its thread.  reg_lock held. */
static int slot_arm(struct cg_agent *a, struct cg_thread_slot *s)
{
    if (a->cpu_hz == 0)
        return 0;
    int id;
    int rc = cg_cpu_timer_create(s->tid, a->opts.signo, &id);
    if (rc != 0)
        return rc;
    /* Paused by the service: the timer exists but stays disarmed. */
    rc = atomic_load(&a->paused) ? 0 : cg_cpu_timer_arm(id, 1000000000ull / a->cpu_hz);
    if (rc != 0) {
        cg_cpu_timer_delete(id);
        return rc;
    }
    s->has_timer = true;
    atomic_store(&s->timer_id, id);
    /* stand_aside may have run between our check and now. */
    if (atomic_load(&a->stopped))
        slot_delete_timer(s);
    return 0;
}

uint64_t cg_agent_read_start_ticks(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return cg_agent_parse_start_ticks(buf);
}

uint64_t cg_agent_parse_start_ticks(const char *buf)
{
    /* Field 22 (starttime) counts from after the ")" that ends comm. */
    const char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    unsigned long long v = 0;
    int field = 2;
    for (p++; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    if (field == 22)
        v = strtoull(p, NULL, 10);
    return v;
}

/* Thread t's stack bounds into its slot, for the handler's own stack walk
 * (core/sample/frame_rules.h).  Unknown (0, 0) when glibc cannot tell;
 * the handler then unwinds with libunwind. */
static void record_stack(struct cg_thread_slot *s, pthread_t t)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(t, &attr) != 0)
        return;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0 && addr && size) {
        atomic_store_explicit(&s->stack_lo, (uint64_t)(uintptr_t)addr, memory_order_relaxed);
        atomic_store_explicit(&s->stack_hi, (uint64_t)(uintptr_t)addr + size,
                              memory_order_relaxed);
    }
    pthread_attr_destroy(&attr);
}

/* A thread's own bounds come from its descriptor, at once; the main
 * thread's make glibc parse /proc/self/maps, which the agent thread does
 * instead of the constructor. */
static void record_own_stack(struct cg_agent *a, struct cg_thread_slot *s, pid_t tid)
{
    if (tid != getpid()) {
        record_stack(s, pthread_self());
        return;
    }
    a->main_thread = pthread_self();
    atomic_store_explicit(&a->main_stack_pending, true, memory_order_release);
}

void cg_agent_record_main_stack(struct cg_agent *a)
{
    if (!atomic_exchange_explicit(&a->main_stack_pending, false, memory_order_acquire))
        return;
    struct cg_thread_slot *s = cg_threads_find_sigsafe(a->threads, getpid());
    if (s)
        record_stack(s, a->main_thread);
}

struct cg_thread_slot *cg_agent_register_current_thread(struct cg_agent *a, bool self_exit_hook)
{
    if (atomic_load(&a->stopped))
        return NULL;
    pid_t tid = cg_agent_current_tid();
    pthread_mutex_lock(&a->reg_lock);
    /* The agent's task scan may have found us first: adopt that slot. */
    struct cg_thread_slot *s = cg_threads_find_sigsafe(a->threads, tid);
    if (s && cg_threads_slot_reused(s, a->opts.start_ticks(tid))) {
        /* Our tid's previous owner left without its exit hook (a raw
         * SYS_exit, a thread the scan retires only if the tid vanishes):
         * its slot's timer counts a dead thread's CPU clock, so adopting
         * it would leave us unsampled for good.  Retire it. */
        CG_DEBUG("thread id %d was reused; its old slot is retired", (int)tid);
        s->self_registered = false;
        slot_delete_timer(s);
        cg_threads_mark_exited(s);
        s = NULL;
    }
    if (!s) {
        /* 0: registered by its own thread, which registers only once (so
         * a later registration of this tid is another thread). */
        s = cg_threads_register(a->threads, tid, CG_START_TICKS_SELF);
        if (s && slot_arm(a, s) != 0) {
            cg_threads_mark_exited(s);
            s = NULL;
        }
    }
    if (s)
        s->self_registered = self_exit_hook;
    else
        atomic_fetch_add(&a->unprofiled_threads, 1);
    pthread_mutex_unlock(&a->reg_lock);
    if (s)
        record_own_stack(a, s, tid);
    return s;
}

void cg_agent_unregister_thread(struct cg_agent *a, struct cg_thread_slot *s)
{
    slot_delete_timer(s);
    cg_threads_mark_exited(s);
    /* An exited slot keeps its ring until the agent drains it.  Under heavy
     * thread churn that could fill the registry between two drains, so
     * past a quarter of the capacity the agent is asked to drain now. */
    size_t pending = atomic_fetch_add(&a->exited_pending, 1) + 1;
    if (pending > cg_threads_capacity(a->threads) / 4) {
        pthread_mutex_lock(&a->wake_lock);
        a->kicked = true;
        pthread_mutex_unlock(&a->wake_lock);
        cg_agent_wake(a);
    }
}

static void disarm_slot(struct cg_thread_slot *s, void *ctx)
{
    (void)ctx;
    slot_delete_timer(s);
}

void cg_agent_delete_timers(struct cg_agent *a)
{
    pthread_mutex_lock(&a->reg_lock);
    cg_threads_for_each(a->threads, disarm_slot, NULL);
    pthread_mutex_unlock(&a->reg_lock);
}

void cg_agent_stand_aside(struct cg_agent *a, const char *why)
{
    if (atomic_exchange(&a->stopped, true))
        return;
    cg_agent_delete_timers(a);
    if (why)
        CG_WARN("%s: profiling stops; the profile so far is still reported", why);
}

/* Takes the slot's timer as slot_delete_timer does (one syscall), from a
 * lock-free walk: an ACTIVE or EXITED slot's timer_id was set (to -1,
 * then to its timer) before the state was published, so it never reads a
 * never-used slot's zero. */
static void take_timer_sigsafe(struct cg_thread_slot *s, void *ctx)
{
    (void)ctx;
    int id = atomic_exchange(&s->timer_id, -1);
    if (id >= 0)
        cg_cpu_timer_delete(id);
}

void cg_agent_stand_aside_sigsafe(struct cg_agent *a, const char *why)
{
    if (!a || atomic_exchange(&a->stopped, true))
        return;
    /* No reg_lock: the caller may be a signal handler that interrupted
     * this very thread inside registration, which holds it.  `stopped`
     * is set first and every timer taken after; a registration that
     * stores its timer after this walk read the slot sees `stopped`
     * (slot_arm) and deletes its own.  Both sides are sequentially
     * consistent, so one of them always takes the timer.
     * cg_threads_for_each reads only the slots' states here (atomics);
     * the callback touches only the timer id (an atomic). */
    cg_threads_for_each(a->threads, take_timer_sigsafe, NULL);
    /* Release pairs with the exchange in cg_agent_finish_stand_aside. */
    atomic_store_explicit(&a->aside_why, why, memory_order_release);
    cg_agent_drain_soon_sigsafe(a);
}

void cg_agent_finish_stand_aside(struct cg_agent *a)
{
    const char *why = atomic_exchange_explicit(&a->aside_why, NULL, memory_order_acquire);
    if (!why)
        return;
    /* Under the lock, as every other stand-down: nothing is left armed. */
    cg_agent_delete_timers(a);
    CG_WARN("%s: profiling stops; the profile so far is still reported", why);
}

struct arm_ctx {
    struct cg_agent *a;
    bool arm;
};

static void rearm_slot(struct cg_thread_slot *s, void *ctx)
{
    struct arm_ctx *c = ctx;
    int id = atomic_load(&s->timer_id);
    /* A lock-free stand-down (cg_agent_stand_aside_sigsafe) may be taking
     * the timers meanwhile: an id it took is deleted, and arming it fails
     * harmlessly; look at `stopped` again so as not to arm what it is about
     * to take. */
    if (id < 0 || atomic_load(&c->a->stopped))
        return;
    if (c->arm)
        cg_cpu_timer_arm(id, 1000000000ull / c->a->cpu_hz);
    else
        cg_cpu_timer_disarm_sigsafe(id);
}

void cg_agent_arm_timers(struct cg_agent *a, bool arm)
{
    struct arm_ctx c = {a, arm};
    pthread_mutex_lock(&a->reg_lock);
    if (!atomic_load(&a->stopped))
        cg_threads_for_each(a->threads, rearm_slot, &c);
    pthread_mutex_unlock(&a->reg_lock);
}

struct scan {
    pid_t *tids;
    size_t n, cap;
};

static bool scan_has(const struct scan *sc, pid_t tid)
{
    for (size_t i = 0; i < sc->n; i++)
        if (sc->tids[i] == tid)
            return true;
    return false;
}

static void retire_vanished(struct cg_thread_slot *s, void *ctx)
{
    const struct scan *sc = ctx;
    if (atomic_load(&s->state) == CG_SLOT_ACTIVE && !scan_has(sc, s->tid)) {
        /* Gone without its exit hook (it never counted itself as exited). */
        s->self_registered = false;
        slot_delete_timer(s);
        cg_threads_mark_exited(s);
    }
}

/* Finds threads nobody registered (created before the agent, or by code
 * that bypasses pthread_create) and retires slots of threads that are gone
 * without running their TLS destructor. */
void cg_agent_rescan_tasks(struct cg_agent *a)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return;
    struct scan sc = {0};
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        if (sc.n == sc.cap) {
            size_t cap = sc.cap ? sc.cap * 2 : 64;
            pid_t *t = realloc(sc.tids, cap * sizeof(*t));
            if (!t)
                break;
            sc.tids = t;
            sc.cap = cap;
        }
        sc.tids[sc.n++] = (pid_t)atoi(e->d_name);
    }
    closedir(d);
    pid_t self = cg_agent_tid(a);
    pthread_mutex_lock(&a->reg_lock);
    if (!atomic_load(&a->stopped)) {
        for (size_t i = 0; i < sc.n; i++) {
            pid_t tid = sc.tids[i];
            if (tid == self || tid == cg_uploader_tid(a->uploader) ||
                cg_own_thread_is_tid(tid) || cg_threads_find_sigsafe(a->threads, tid))
                continue;
            struct cg_thread_slot *s =
                cg_threads_register(a->threads, tid, a->opts.start_ticks(tid));
            if (!s) {
                atomic_fetch_add(&a->unprofiled_threads, 1);
                continue;
            }
            if (slot_arm(a, s) != 0) /* ESRCH: it exited meanwhile */
                cg_threads_mark_exited(s);
            else
                CG_DEBUG("found thread %d not created through pthread_create", (int)tid);
        }
        cg_threads_for_each(a->threads, retire_vanished, &sc);
    }
    pthread_mutex_unlock(&a->reg_lock);
    free(sc.tids);
}
