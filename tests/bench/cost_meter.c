/*
 * cost_meter.c - what a preloaded profiler itself spends in a process,
 * measured from outside it, the same way for every profiler.
 *
 * `make bench` preloads it after the profiler (LD_PRELOAD=profiler:meter).
 * It splits the process's CPU time into:
 *
 *   start    the main thread's CPU time when main() is entered:
 *            the loader and every library constructor, the profiler's
 *            start-up included;
 *   handler  time inside the SIGPROF handler the profiler installed (when
 *            main() is entered, the meter puts a wrapper around it that
 *            times each call with the vDSO monotonic clock);
 *   threads  CPU time of every thread but the main one when exit() is
 *            called (a profiler's background thread; the program measured
 *            here, xz -T1, has none of its own);
 *   exit     everything after exit() is called: atexit handlers and
 *            destructors (a profiler's final write).  The parent computes
 *            it as the child's rusage total minus the main thread's and
 *            the other threads' CPU time written here.
 *
 * At exit() (main's return included: the meter passes its value to
 * exit() itself) it writes one line to the file COST_METER_OUT names:
 *   start_ns handler_ns handler_calls main_thread_ns other_threads_ns
 * A program that leaves through _exit() is not metered.
 *
 * What it cannot see: the cache and TLB misses the program takes after an
 * interruption (the "signals only" line of the whole-process table shows
 * those for an empty handler).  A bench tool: it trusts its environment.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef void (*siginfo_handler)(int, siginfo_t *, void *);
typedef void (*plain_handler)(int);

static _Atomic(void *) g_profiler_handler; /* the profiler's handler */
static atomic_int g_profiler_siginfo;      /* it takes siginfo */
static atomic_ullong g_handler_ns, g_handler_calls;
static unsigned long long g_start_ns;
static clockid_t g_main_clock;
static int g_have_main_clock;

static unsigned long long clock_ns(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

static void metered_handler(int sig, siginfo_t *info, void *uc)
{
    unsigned long long t0 = clock_ns(CLOCK_MONOTONIC);
    void *h = atomic_load(&g_profiler_handler);
    if (atomic_load(&g_profiler_siginfo))
        ((siginfo_handler)h)(sig, info, uc);
    else if (h)
        ((plain_handler)h)(sig);
    atomic_fetch_add(&g_handler_ns, clock_ns(CLOCK_MONOTONIC) - t0);
    atomic_fetch_add(&g_handler_calls, 1);
}

/* Every profiler here installs its SIGPROF handler before main() (from
 * a constructor); the meter puts its timer around whatever is there then.
 * Interposing sigaction() would miss cgagent, whose implementation library
 * calls libc's directly. */
static void wrap_profile_handler(void)
{
    /* libc's own: cgagent's exported sigaction() would take the meter for
     * an application installing a handler and stop profiling. */
    int (*libc_sigaction)(int, const struct sigaction *, struct sigaction *);
    *(void **)&libc_sigaction = dlsym(RTLD_NEXT, "sigaction");
    struct sigaction cur;
    if (!libc_sigaction || libc_sigaction(SIGPROF, NULL, &cur) != 0)
        return;
    int siginfo = (cur.sa_flags & SA_SIGINFO) != 0;
    void *h = siginfo ? (void *)cur.sa_sigaction : (void *)cur.sa_handler;
    if (!siginfo && (cur.sa_handler == SIG_DFL || cur.sa_handler == SIG_IGN))
        return;
    atomic_store(&g_profiler_siginfo, siginfo);
    atomic_store(&g_profiler_handler, h);
    struct sigaction wrapped = cur;
    wrapped.sa_flags |= SA_SIGINFO;
    wrapped.sa_sigaction = metered_handler;
    libc_sigaction(SIGPROF, &wrapped, NULL);
}

typedef int (*main_fn)(int, char **, char **);
static main_fn g_main;

static int metered_main(int argc, char **argv, char **envp)
{
    g_start_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    g_have_main_clock = pthread_getcpuclockid(pthread_self(), &g_main_clock) == 0;
    wrap_profile_handler();
    /* What libc does with main's value, through the metered exit(). */
    exit(g_main(argc, argv, envp));
}

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void),
                      void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
    int (*real)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void), void *);
    *(void **)&real = dlsym(RTLD_NEXT, "__libc_start_main");
    g_main = main;
    return real(metered_main, argc, argv, init, fini, rtld_fini, stack_end);
}

/* CPU time of every thread but the main one (the thread group leader),
 * each from its own clock.  CLOCK_PROCESS_CPUTIME_ID would not do: while
 * a process-wide CPU timer is armed (ITIMER_PROF, as gperftools and the
 * "signals only" library arm it) the kernel reads it from a running sum
 * that can trail the threads' own clocks by a few milliseconds. */
static unsigned long long other_threads_ns(void)
{
    DIR *dir = opendir("/proc/self/task");
    if (!dir)
        return 0;
    unsigned long long sum = 0;
    pid_t leader = getpid();
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);
        if (tid <= 0 || tid == leader)
            continue;
        /* The kernel's clock id of a thread's CPU time (what
         * pthread_getcpuclockid builds): ~tid << 3 | per-thread | sched. */
        clockid_t id = (clockid_t)((~(unsigned)tid << 3) | 4 | 2);
        sum += clock_ns(id);
    }
    closedir(dir);
    return sum;
}

void exit(int status)
{
    void (*real)(int) __attribute__((noreturn));
    *(void **)&real = dlsym(RTLD_NEXT, "exit");
    unsigned long long main_ns = g_have_main_clock ? clock_ns(g_main_clock) : 0;
    unsigned long long others_ns = other_threads_ns();
    const char *path = getenv("COST_METER_OUT");
    if (path) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dprintf(fd, "%llu %llu %llu %llu %llu\n", g_start_ns, atomic_load(&g_handler_ns),
                    atomic_load(&g_handler_calls), main_ns, others_ns);
            close(fd);
        }
    }
    real(status);
}
