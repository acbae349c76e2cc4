/*
 * stress.c - programs that break careless profilers.  Each mode prints a
 * deterministic line and exits 0 when it ran correctly, or says what went
 * wrong and exits 1.
 *
 *   stress prefork N        fork N children without exec; each burns CPU
 *                           and exits with its index; the parent checks
 *                           every status
 *   stress eintr SECONDS    threads loop in nanosleep, poll, epoll_wait,
 *                           read (pipe) and pthread_cond_timedwait; any
 *                           EINTR is fatal (exit 1), as in real programs
 *                           that treat it as an error
 *   stress malloc SECONDS   one thread hammers malloc/free (holding the
 *                           malloc arena lock much of the time) while
 *                           another burns CPU: samples land inside malloc
 *   stress dlopen N         dlopen/dlsym/dlclose libm N times while a
 *                           thread burns CPU
 *   stress fastexit         a vfork child leaves at once through _exit; then a
 *                           fork child and the parent burn CPU and leave
 *                           through _exit (no exit handlers)
 *   stress sigblock         one thread burns CPU with SIGPROF blocked, then
 *                           unblocked; another is created while its creator
 *                           blocks SIGPROF
 *   stress sigprof          burns CPU, installs its own SIGPROF handler and
 *                           ITIMER_PROF, checks that it gets its signals,
 *                           then sleeps 0.6 s and checks that no other
 *                           thread spent more than 60 ms of CPU meanwhile
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

static double now_s(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static __attribute__((noinline)) void burn_cpu(double seconds)
{
    double until = now_s(CLOCK_THREAD_CPUTIME_ID) + seconds;
    uint64_t x = 1;
    while (now_s(CLOCK_THREAD_CPUTIME_ID) < until)
        for (int i = 0; i < 100000; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
    sink += x;
}

static int fail(const char *what)
{
    printf("stress: FAILED: %s: %s\n", what, strerror(errno));
    fflush(stdout);
    _exit(1);
}

/* ---- prefork ---- */
static int prefork(int n)
{
    pid_t pids[64];
    if (n < 1 || n > 64)
        return 2;
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            fail("fork");
        if (pids[i] == 0) {
            burn_cpu(0.15);
            exit(10 + i); /* exit, not _exit: destructors flush profilers */
        }
    }
    for (int i = 0; i < n; i++) {
        int st;
        if (waitpid(pids[i], &st, 0) != pids[i])
            fail("waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 10 + i) {
            printf("stress: FAILED: child %d status %#x\n", i, st);
            return 1;
        }
    }
    burn_cpu(0.1);
    printf("stress prefork: %d children ok\n", n);
    return 0;
}

/* ---- eintr ---- */
static double eintr_until;

static void *loop_nanosleep(void *a)
{
    (void)a;
    struct timespec ts = {0, 30 * 1000 * 1000};
    while (now_s(CLOCK_MONOTONIC) < eintr_until)
        if (nanosleep(&ts, NULL) != 0)
            fail("nanosleep");
    return NULL;
}

static void *loop_poll(void *a)
{
    (void)a;
    while (now_s(CLOCK_MONOTONIC) < eintr_until)
        if (poll(NULL, 0, 40) < 0)
            fail("poll");
    return NULL;
}

static void *loop_epoll(void *a)
{
    (void)a;
    int ep = epoll_create1(0);
    struct epoll_event ev;
    while (now_s(CLOCK_MONOTONIC) < eintr_until)
        if (epoll_wait(ep, &ev, 1, 50) < 0)
            fail("epoll_wait");
    close(ep);
    return NULL;
}

static int pipe_fds[2];

static void *loop_read(void *a)
{
    (void)a;
    char c;
    for (;;) {
        ssize_t n = read(pipe_fds[0], &c, 1);
        if (n < 0)
            fail("read");
        if (n == 0 || c == 'q')
            return NULL;
    }
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void *loop_cond(void *a)
{
    (void)a;
    pthread_mutex_lock(&mu);
    while (now_s(CLOCK_MONOTONIC) < eintr_until) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        int rc = pthread_cond_timedwait(&cv, &mu, &ts);
        if (rc != 0 && rc != ETIMEDOUT) {
            errno = rc;
            fail("pthread_cond_timedwait");
        }
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

static int eintr(double seconds)
{
    eintr_until = now_s(CLOCK_MONOTONIC) + seconds;
    if (pipe(pipe_fds) != 0)
        fail("pipe");
    void *(*fns[])(void *) = {loop_nanosleep, loop_poll, loop_epoll, loop_read, loop_cond};
    pthread_t t[5];
    for (int i = 0; i < 5; i++)
        if (pthread_create(&t[i], NULL, fns[i], NULL) != 0)
            fail("pthread_create");
    burn_cpu(seconds / 4);
    while (now_s(CLOCK_MONOTONIC) < eintr_until)
        usleep(10000);
    if (write(pipe_fds[1], "q", 1) != 1)
        fail("write");
    for (int i = 0; i < 5; i++)
        pthread_join(t[i], NULL);
    printf("stress eintr: no EINTR seen\n");
    return 0;
}

/* ---- malloc ---- */
static volatile int malloc_stop;

static void *malloc_hammer(void *a)
{
    (void)a;
    uint64_t n = 0;
    while (!malloc_stop) {
        void *p[64];
        for (int i = 0; i < 64; i++)
            p[i] = malloc(16 + (size_t)((n + (unsigned)i) % 4000));
        for (int i = 0; i < 64; i++)
            free(p[i]);
        n++;
    }
    return NULL;
}

static int malloc_mode(double seconds)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, malloc_hammer, NULL) != 0)
            fail("pthread_create");
    burn_cpu(seconds);
    malloc_stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("stress malloc: ok\n");
    return 0;
}

/* ---- dlopen ---- */
static volatile int burner_stop;

static void *burner(void *a)
{
    (void)a;
    while (!burner_stop)
        burn_cpu(0.01);
    return NULL;
}

static int dlopen_mode(int n)
{
    pthread_t t;
    if (pthread_create(&t, NULL, burner, NULL) != 0)
        fail("pthread_create");
    double acc = 0;
    for (int i = 0; i < n; i++) {
        void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            printf("stress: FAILED: dlopen: %s\n", dlerror());
            return 1;
        }
        double (*cosine)(double) = (double (*)(double))dlsym(h, "cos");
        acc += cosine ? cosine(0.0) : 0;
        dlclose(h);
    }
    burn_cpu(0.3); /* enough CPU that the profile is never empty */
    burner_stop = 1;
    pthread_join(t, NULL);
    printf("stress dlopen: %d loads, sum %.0f\n", n, acc);
    return 0;
}

/* ---- sigprof ---- */
static volatile sig_atomic_t own_signals;

static void own_handler(int sig)
{
    (void)sig;
    own_signals++;
}

static int sigprof_mode(void)
{
    burn_cpu(0.2); /* the agent samples this part */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = own_handler;
    if (sigaction(SIGPROF, &sa, NULL) != 0)
        fail("sigaction");
    struct itimerval it = {{0, 10000}, {0, 10000}};
    if (setitimer(ITIMER_PROF, &it, NULL) != 0)
        fail("setitimer");
    burn_cpu(0.3);
    memset(&it, 0, sizeof(it));
    setitimer(ITIMER_PROF, &it, NULL);
    if (own_signals < 5) {
        printf("stress: FAILED: own SIGPROF handler got %d signals\n", (int)own_signals);
        return 1;
    }
    printf("stress sigprof: own handler ran\n");
    /* Then idle: whatever stepped aside must not keep a CPU busy.  The
     * program has one thread, so any CPU time beyond its own is someone
     * else's (a preloaded profiler's thread).  A thread that wakes on time
     * uses well under 1% of 0.6 s; one that spins, most of it. */
    double others0 = now_s(CLOCK_PROCESS_CPUTIME_ID) - now_s(CLOCK_THREAD_CPUTIME_ID);
    struct timespec idle = {0, 600000000};
    while (nanosleep(&idle, &idle) != 0)
        ;
    double others = now_s(CLOCK_PROCESS_CPUTIME_ID) - now_s(CLOCK_THREAD_CPUTIME_ID) - others0;
    if (others > 0.06) {
        printf("stress: FAILED: other threads used %.0f ms of CPU while the program slept 600 ms\n",
               others * 1e3);
        return 1;
    }
    return 0;
}

/* sigblock: a thread that blocks SIGPROF for a while, and a thread created
 * while its creator blocks it (it inherits the mask; the agent's wrapper
 * must unblock it there or that thread is never sampled). */
static __attribute__((noinline)) void blocked_phase(void)
{
    burn_cpu(0.4);
}

static __attribute__((noinline)) void unblocked_phase(void)
{
    burn_cpu(0.4);
}

static void *sigblock_worker(void *a)
{
    (void)a;
    sigset_t prof, old;
    sigemptyset(&prof);
    sigaddset(&prof, SIGPROF);
    if (pthread_sigmask(SIG_BLOCK, &prof, &old) != 0)
        fail("pthread_sigmask");
    blocked_phase();
    if (pthread_sigmask(SIG_SETMASK, &old, NULL) != 0)
        fail("pthread_sigmask");
    unblocked_phase();
    return NULL;
}

static __attribute__((noinline)) void *born_blocked(void *a)
{
    (void)a;
    burn_cpu(0.4);
    return NULL;
}

static int sigblock_mode(void)
{
    pthread_t w, b;
    if (pthread_create(&w, NULL, sigblock_worker, NULL) != 0)
        fail("pthread_create");
    sigset_t prof, old;
    sigemptyset(&prof);
    sigaddset(&prof, SIGPROF);
    pthread_sigmask(SIG_BLOCK, &prof, &old);
    if (pthread_create(&b, NULL, born_blocked, NULL) != 0)
        fail("pthread_create");
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_join(w, NULL);
    pthread_join(b, NULL);
    printf("stress sigblock: ok\n");
    return 0;
}

/* fastexit: a fork child and then the parent leave through _exit, which
 * skips exit handlers and destructors (the way many server children go). */
static __attribute__((noinline)) void child_work(void)
{
    burn_cpu(0.3);
}

static __attribute__((noinline)) void parent_work(void)
{
    burn_cpu(0.3);
}

static int fastexit_mode(void)
{
    /* A vfork child shares our memory: _exit there must not touch the
     * parent's agent. */
    pid_t v = vfork();
    if (v < 0)
        fail("vfork");
    if (v == 0)
        _exit(3);
    int vstatus;
    if (waitpid(v, &vstatus, 0) != v || !WIFEXITED(vstatus) || WEXITSTATUS(vstatus) != 3) {
        printf("stress fastexit: FAILED: vfork child status %d\n", vstatus);
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0)
        fail("fork");
    if (pid == 0) {
        child_work();
        _exit(7);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 7) {
        printf("stress fastexit: FAILED: child status %d\n", status);
        return 1;
    }
    parent_work();
    printf("stress fastexit: ok\n");
    fflush(stdout);
    _exit(0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: stress prefork N | eintr S | malloc S | dlopen N | sigprof | sigblock | fastexit\n");
        return 2;
    }
    const char *m = argv[1];
    const char *arg = argc > 2 ? argv[2] : "1";
    if (strcmp(m, "prefork") == 0)
        return prefork(atoi(arg));
    if (strcmp(m, "eintr") == 0)
        return eintr(atof(arg));
    if (strcmp(m, "malloc") == 0)
        return malloc_mode(atof(arg));
    if (strcmp(m, "dlopen") == 0)
        return dlopen_mode(atoi(arg));
    if (strcmp(m, "sigprof") == 0)
        return sigprof_mode();
    if (strcmp(m, "sigblock") == 0)
        return sigblock_mode();
    if (strcmp(m, "fastexit") == 0)
        return fastexit_mode();
    fprintf(stderr, "stress: unknown mode %s\n", m);
    return 2;
}
