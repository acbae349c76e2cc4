/*
 * own_thread.c - the agent's threads start with libc's pthread_create and
 * every signal blocked, record their tids while they run, and wait on
 * CLOCK_MONOTONIC (see own_thread.h).
 *
 * DESIGN: the new thread inherits the creator's mask, so the mask is
 * filled around the call and restored after it.  Each own thread starts
 * in a trampoline that marks it (a flag in the agent's one thread-local
 * word, core/base/thread_tls.h) and takes a slot of the tid table, and
 * gives the slot back from a cleanup handler, which runs on return,
 * pthread_exit and cancellation alike: a tid left behind could later name
 * one of the program's threads.  What it won't do: fall
 * back on the pthread_create symbol (our own wrapper) when the table has
 * no original.
 */
#include "core/base/own_thread.h"

#include "core/base/thread_tls.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* More than the agent ever runs at once (agent, upload, a few resolvers);
 * a thread that finds no slot is still own, and only makes
 * cg_own_threads_alone answer false while it runs. */
#define OWN_TIDS_MAX 64

static _Atomic pid_t g_own_tids[OWN_TIDS_MAX];

struct own_start {
    void *(*fn)(void *);
    void *arg;
};

static pid_t current_tid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static void leave_slot(void *p)
{
    intptr_t i = (intptr_t)p;
    if (i >= 0)
        atomic_store(&g_own_tids[i], 0);
}

/* The table's slot now holding tid, or -1 when it is full. */
__attribute__((noinline)) static intptr_t take_slot(pid_t tid)
{
    for (intptr_t i = 0; i < OWN_TIDS_MAX; i++) {
        pid_t free_slot = 0;
        if (atomic_compare_exchange_strong(&g_own_tids[i], &free_slot, tid))
            return i;
    }
    return -1;
}

static void *own_trampoline(void *p)
{
    struct own_start s = *(struct own_start *)p;
    free(p);
    /* Every signal is blocked here (cg_own_thread_start, or inherited
     * from an own creator): nothing else writes the word meanwhile. */
    cg_thread_tls_set_flag(CG_TLS_OWN, true);
    void *ret;
    pthread_cleanup_push(leave_slot, (void *)take_slot(current_tid()));
    ret = s.fn(s.arg);
    pthread_cleanup_pop(1);
    return ret;
}

int cg_own_thread_create_child(const struct cg_real_fns *real, pthread_t *thread,
                               const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    if (!real || !real->real_pthread_create)
        return ENOSYS;
    struct own_start *s = malloc(sizeof(*s));
    if (!s)
        return EAGAIN;
    s->fn = fn;
    s->arg = arg;
    int rc = real->real_pthread_create(thread, attr, own_trampoline, s);
    if (rc != 0)
        free(s);
    return rc;
}

int cg_own_thread_start(const struct cg_real_fns *real, pthread_t *thread,
                        void *(*fn)(void *), void *arg)
{
    if (!real || !real->real_pthread_create)
        return -ENOSYS;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = cg_own_thread_create_child(real, thread, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc ? -rc : 0;
}

bool cg_own_thread_is_current(void)
{
    return cg_thread_tls_has(CG_TLS_OWN);
}

bool cg_own_thread_is_tid(pid_t tid)
{
    for (int i = 0; i < OWN_TIDS_MAX; i++)
        if (tid > 0 && atomic_load(&g_own_tids[i]) == tid)
            return true;
    return false;
}

/* True when the task runs (any state but zombie or dead); a task that
 * vanished meanwhile does not. */
static bool task_is_live(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno != ENOENT && errno != ESRCH;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return n < 0 && errno != ESRCH;
    buf[n] = '\0';
    /* "tid (comm) S ...": comm may hold ')' itself, so the last one. */
    const char *paren = NULL;
    for (const char *c = buf; *c; c++)
        if (*c == ')')
            paren = c;
    if (!paren || paren[1] != ' ')
        return true; /* unreadable: assume it runs */
    char state = paren[2];
    return state != 'Z' && state != 'X' && state != 'x';
}

bool cg_own_threads_alone(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return false;
    pid_t self = current_tid();
    bool alone = true;
    struct dirent *e;
    while (alone && (e = readdir(d)) != NULL) {
        char *end;
        long tid = strtol(e->d_name, &end, 10);
        if (*end || tid <= 0 || (pid_t)tid == self || cg_own_thread_is_tid((pid_t)tid))
            continue;
        if (task_is_live((pid_t)tid))
            alone = false;
    }
    closedir(d);
    return alone;
}

void cg_own_threads_forget_in_child(void)
{
    for (int i = 0; i < OWN_TIDS_MAX; i++)
        atomic_store(&g_own_tids[i], 0);
}

void cg_own_thread_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
}

bool cg_own_thread_wait_done(pthread_cond_t *cond, pthread_mutex_t *lock, const bool *done,
                             uint64_t deadline_ns)
{
    struct timespec ts = {(time_t)(deadline_ns / 1000000000u), (long)(deadline_ns % 1000000000u)};
    int rc = 0;
    while (!*done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(cond, lock, &ts);
    return *done;
}
