/*
 * sigprof_in_handler.c - a program that installs its own SIGPROF handler
 * from inside a signal handler (sigaction is async-signal-safe), while
 * that handler interrupts a thread that is just starting, i.e. inside
 * the agent's pthread_create trampoline, which registers the thread
 * under the agent's registry lock (tests/stress/test_signal_takeover.py).
 *
 * usage: sigprof_in_handler SHOTS
 *
 * Each shot is a fork child, so each gets a fresh agent (one stand-down
 * per agent).  The child creates a thread on another CPU, spins a few
 * microseconds (a different delay each shot, sweeping the new thread's
 * start-up) and sends it SIGUSR1; the SIGUSR1 handler installs the
 * program's SIGPROF handler.  Measured on 2 cores: the new thread takes
 * 20-45 us to get through the agent's registration, and about 1 shot in
 * 12 lands while it holds the registry lock.  The child then arms
 * ITIMER_PROF and burns CPU until its handler has counted 5 signals from
 * that timer, and exits 0.  The parent waits for each child at most
 * 10 s (a child still running then is killed and counted hung) and
 * prints one line:
 *     shots N hung H failed F
 * It exits 0 when no child hung or failed.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WANT_TICKS 5
#define CHILD_TIMEOUT_NS (10ll * 1000000000)

static atomic_int g_installed;
static atomic_int g_ticks;

static void on_prof(int signo, siginfo_t *info, void *uc)
{
    (void)signo, (void)uc;
    /* ITIMER_PROF's expiries come from the kernel; anything else (a late
     * signal of the agent's timers) is not what this program asked for. */
    if (info->si_code == SI_KERNEL)
        atomic_fetch_add(&g_ticks, 1);
}

static void on_usr1(int signo)
{
    (void)signo;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_prof;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, NULL) == 0)
        atomic_store(&g_installed, 1);
}

static long long now_ns(void);

/* Waits (bounded) for the SIGUSR1 handler: a thread that had already
 * exited would never get the signal. */
static void *starting(void *arg)
{
    long long end = now_ns() + 1000000000ll;
    while (!atomic_load(&g_installed) && now_ns() < end)
        ;
    return arg;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void spin_ns(long long ns)
{
    long long end = now_ns() + ns;
    while (now_ns() < end)
        ;
}

static int child(int shot)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    /* On one CPU the new thread would wait for this one to stop spinning:
     * the two are pinned apart when there are two CPUs. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    cpu_set_t mine, its;
    CPU_ZERO(&mine);
    CPU_ZERO(&its);
    CPU_SET(0, &mine);
    CPU_SET(1, &its);
    if (sysconf(_SC_NPROCESSORS_ONLN) >= 2 && sched_setaffinity(0, sizeof(mine), &mine) == 0)
        pthread_attr_setaffinity_np(&attr, sizeof(its), &its);
    /* The delay sweeps 0-60 us in 0.75 us steps: the new thread's start-up
     * (clone, the trampoline, the agent's registration) takes about that. */
    pthread_t t;
    if (pthread_create(&t, &attr, starting, NULL) != 0)
        return 3;
    pthread_attr_destroy(&attr);
    spin_ns((long long)(shot % 80) * 750);
    pthread_kill(t, SIGUSR1);
    pthread_join(t, NULL);
    if (!atomic_load(&g_installed))
        return 4;
    struct itimerval it = {{0, 2000}, {0, 2000}};
    if (setitimer(ITIMER_PROF, &it, NULL) != 0)
        return 5;
    volatile unsigned long x = 0;
    while (atomic_load(&g_ticks) < WANT_TICKS)
        x++;
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    int shots = argc > 1 ? atoi(argv[1]) : 0;
    if (shots <= 0) {
        fprintf(stderr, "usage: sigprof_in_handler SHOTS\n");
        return 2;
    }
    int hung = 0, failed = 0;
    for (int i = 0; i < shots; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return 3;
        if (pid == 0)
            _exit(child(i));
        long long deadline = now_ns() + CHILD_TIMEOUT_NS;
        int status = 0;
        pid_t r;
        while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_ns() < deadline)
            usleep(1000);
        if (r == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            hung++;
        } else if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            failed++;
        }
    }
    printf("shots %d hung %d failed %d\n", shots, hung, failed);
    return hung || failed ? 1 : 0;
}
