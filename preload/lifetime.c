/*
 * lifetime.c - the process lives exactly as long as the program's threads.
 *
 * glibc ends a process with exit(0) when its last thread ends by
 * pthread_exit or by returning from its start routine: it counts the
 * threads pthread_create made, and the agent's threads count too.  Left
 * alone, a program whose main thread calls pthread_exit would never exit
 * once its workers are done, and a fork child whose only thread returns
 * would stay forever, its parent waiting in waitpid; and since the
 * agent's threads block every signal, SIGTERM would stay pending.
 *
 * DESIGN: the program's threads are counted as glibc counts them: the
 * main thread, and each thread our pthread_create wrapper starts for a
 * thread that is not the agent's.  A thread-specific key marks each one;
 * its destructor runs on the way out, however the thread ends.  It first
 * re-arms itself once, so that it runs in the second round of
 * destructors, after every other key's (the program's and libraries'
 * clean-ups) has run, as glibc's own count is taken after them.  When the
 * count reaches zero and a scan of /proc/self/task shows nothing but the
 * agent's threads and zombies (the main thread after pthread_exit), the
 * thread calls exit(0) itself: what glibc would have done, on the same
 * thread, so atexit handlers, stdio flushing and the agent's final report
 * all happen as without the agent.  If the scan still sees another thread
 * (one that is just finishing its own exit, or one made without
 * pthread_create), a watcher thread of the agent's looks again until the
 * process is alone, then calls exit(0).
 *
 * What it won't do: end a process while any of its other threads runs
 * (the scan decides, the count only says when to look); act in a
 * process where no thread of the agent's runs.
 */
#include "preload/preload.h"

#include "core/base/log.h"
#include "core/base/own_thread.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Values of the key: set when the thread starts, then once more from the
 * first destructor call so that the second one comes after every other
 * key's. */
#define MARK_STARTED ((void *)1)
#define MARK_LEAVING ((void *)2)

static pthread_key_t g_life_key;
static bool g_life_key_ok;
static _Atomic long g_app_threads;
static _Atomic bool g_watcher_started;

static void *watch_until_alone(void *unused)
{
    /* Every 5 ms for the first second (a thread finishing its own exit),
     * then every 100 ms (a thread that predates the agent or bypassed
     * pthread_create: the process lives as long as it does). */
    for (unsigned round = 0;; round++) {
        if (atomic_load(&g_app_threads) <= 0 && cg_own_threads_alone())
            exit(0);
        struct timespec ts = {0, round < 200 ? 5000000 : 100000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void last_thread_check(void)
{
    /* No shortcut on "no agent thread runs": one just started (a fork
     * child's) may not have recorded its tid yet.  Alone without any
     * agent thread, exit(0) is what glibc is about to do anyway. */
    if (cg_own_threads_alone())
        exit(0);
    if (atomic_exchange(&g_watcher_started, true))
        return;
    CG_DEBUG("the program's last counted thread ended while another thread runs: "
             "the process ends when only the agent's threads are left");
    pthread_t t;
    int rc = cg_own_thread_start(&cg_real, &t, watch_until_alone, NULL);
    if (rc != 0) {
        atomic_store(&g_watcher_started, false);
        CG_WARN("the program's last thread ended but the agent cannot start a thread to "
                "end the process: %s",
                strerror(-rc));
        return;
    }
    pthread_detach(t);
}

static void app_thread_leaving(void *mark)
{
    if (mark == MARK_STARTED) {
        pthread_setspecific(g_life_key, MARK_LEAVING);
        return;
    }
    if (atomic_fetch_sub(&g_app_threads, 1) == 1)
        last_thread_check();
}

void cg_lifetime_init(void)
{
    g_life_key_ok = pthread_key_create(&g_life_key, app_thread_leaving) == 0;
    if (!g_life_key_ok)
        return;
    atomic_store(&g_app_threads, 1);
    pthread_setspecific(g_life_key, MARK_STARTED);
}

bool cg_lifetime_thread_creating(void)
{
    if (!g_life_key_ok || cg_own_thread_is_current())
        return false;
    atomic_fetch_add(&g_app_threads, 1);
    return true;
}

void cg_lifetime_thread_not_created(void)
{
    atomic_fetch_sub(&g_app_threads, 1);
}

void cg_lifetime_thread_started(void)
{
    if (g_life_key_ok)
        pthread_setspecific(g_life_key, MARK_STARTED);
}

void cg_lifetime_fork_child(void)
{
    cg_own_threads_forget_in_child();
    atomic_store(&g_watcher_started, false);
    if (!g_life_key_ok)
        return;
    /* The forking thread is the child's only thread; it counts even if
     * it predates the agent (its key may be unset). */
    atomic_store(&g_app_threads, 1);
    pthread_setspecific(g_life_key, MARK_STARTED);
}
