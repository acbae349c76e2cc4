/*
 * handler_mask.c - does another signal's handler ever run nested inside
 * the profiler's SIGPROF handler? (tests/e2e/test_handler_mask.py)
 *
 * usage: handler_mask SECONDS
 *
 * 1. The SIGPROF disposition as the kernel holds it, read with a raw
 *    rt_sigaction system call (the sigaction wrapper shows the program's
 *    view, SIG_DFL): one line
 *        handler yes|no mask usr1 A alrm A term A rtmin A abrt A segv A bus A
 *        ill A fpe A trap A sys A      (on one line)
 *    where A is 1 when the handler's mask blocks that signal.
 * 2. The main thread burns CPU for SECONDS with a timer of its own on
 *    its CPU clock that sends it SIGRTMIN every millisecond of CPU time.
 *    CPU-clock timers expire at the scheduler tick, so every expiry of
 *    the agent's timer comes with one of this timer in the same tick, and
 *    the kernel delivers both on the same return to user space: SIGPROF
 *    first (lower number), then SIGRTMIN on top of it unless SIGPROF's
 *    handler blocks it.  The SIGRTMIN handler looks at the mask of the
 *    context it interrupted: SIGPROF is blocked there only inside the
 *    SIGPROF handler (the program never blocks it).  One line:
 *        rtmin delivered N nested K
 * Exit status 0.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* The kernel's struct sigaction (x86-64 and arm64 both have a restorer). */
struct kernel_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};

static atomic_ulong g_delivered, g_nested;

static void on_rtmin(int signo, siginfo_t *info, void *ucv)
{
    (void)signo, (void)info;
    const ucontext_t *uc = ucv;
    atomic_fetch_add(&g_delivered, 1);
    if (sigismember(&uc->uc_sigmask, SIGPROF))
        atomic_fetch_add(&g_nested, 1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int blocks(uint64_t mask, int signo)
{
    return (int)((mask >> (signo - 1)) & 1);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 0;
    if (seconds <= 0) {
        fprintf(stderr, "usage: handler_mask SECONDS\n");
        return 2;
    }
    struct kernel_sigaction k;
    memset(&k, 0, sizeof(k));
    if (syscall(SYS_rt_sigaction, SIGPROF, NULL, &k, sizeof(k.mask)) != 0) {
        perror("rt_sigaction");
        return 3;
    }
    printf("handler %s mask usr1 %d alrm %d term %d rtmin %d abrt %d segv %d bus %d ill %d "
           "fpe %d trap %d sys %d\n",
           k.handler != (void *)SIG_DFL && k.handler != (void *)SIG_IGN ? "yes" : "no",
           blocks(k.mask, SIGUSR1), blocks(k.mask, SIGALRM), blocks(k.mask, SIGTERM),
           blocks(k.mask, SIGRTMIN), blocks(k.mask, SIGABRT), blocks(k.mask, SIGSEGV),
           blocks(k.mask, SIGBUS), blocks(k.mask, SIGILL), blocks(k.mask, SIGFPE),
           blocks(k.mask, SIGTRAP), blocks(k.mask, SIGSYS));
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_rtmin;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGRTMIN, &sa, NULL);
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGRTMIN;
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    timer_t timer;
    struct itimerspec its = {{0, 1000000}, {0, 1000000}};
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &timer) != 0 ||
        timer_settime(timer, 0, &its, NULL) != 0) {
        perror("timer");
        return 3;
    }
    volatile uint64_t x = 1;
    double end = now_s() + seconds;
    while (now_s() < end)
        for (int i = 0; i < 10000; i++)
            x = x * 6364136223846793005ull + 1;
    timer_delete(timer);
    printf("rtmin delivered %lu nested %lu\n", (unsigned long)atomic_load(&g_delivered),
           (unsigned long)atomic_load(&g_nested));
    return 0;
}
