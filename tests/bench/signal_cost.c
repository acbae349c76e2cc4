/*
 * signal_cost.c - what one profiling signal costs the thread it
 * interrupts, at a chosen stack depth.
 *
 *   signal_cost DEPTH COUNT own     an empty SIGPROF handler of its own:
 *                                   the bare cost of delivering a signal
 *   signal_cost DEPTH COUNT agent   whatever handler is installed (run it
 *                                   with the agent preloaded)
 *   signal_cost DEPTH COUNT paired  both in one process, alternating: a
 *                                   SIGUSR2 to an empty handler of its own
 *                                   (bare delivery), then a SIGPROF to the
 *                                   installed (the agent's) handler
 *   signal_cost DEPTH COUNT paired THREADS HOPDIR
 *                                   the same in a busier process: THREADS
 *                                   more threads (blocked, as a server's
 *                                   idle workers are) and every
 *                                   HOPDIR/hop_NNN.so loaded (copies of
 *                                   tests/bench/hop.c), every other frame of
 *                                   the stack in a different one of them
 *
 * The paired mode is the one `make bench` uses: on a virtual machine the
 * cost of delivering a signal drifts by tens of percent between processes
 * and minutes, and alternating in one process puts both measurements
 * under the same drift.
 *
 * The thread recurses DEPTH frames, then sends itself COUNT signals with
 * rt_tgsigqueueinfo and si_code SI_TIMER, which the kernel delivers before
 * the call returns, so the time around the call is the whole cost: kernel
 * entry, signal frame, handler, sigreturn.  The agent's handler takes it
 * as a CPU-timer sample (it ignores signals that are not SI_TIMER).  The
 * signals are spaced 5 ms apart, spinning on the CPU (SIGPROF at 100 Hz
 * in paired mode), so the agent's thread drains the ring between them (a
 * full ring would make the handler return early and look cheap).  Prints
 * the median and the 10th/90th percentiles in ns (and, paired, the bare
 * signals' median).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static int depth, count;
static uint64_t gap_ns = 5 * 1000 * 1000; /* 100 Hz of SIGPROF in paired mode */
static uint64_t *costs;

static void empty_handler(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)info;
    (void)uc;
    handled++;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t *bare_costs; /* paired mode: the SIGUSR2 deliveries */

typedef int (*hop_fn)(int level, int (*next)(int));
static hop_fn *hops; /* cg_bench_hop of each loaded copy */
static int hop_count;

/* One signal to this thread; returns what the call cost, handler included. */
static uint64_t one_signal(int sig)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = sig;
    info.si_code = SI_TIMER;
    pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);
    uint64_t t0 = now_ns();
    syscall(SYS_rt_tgsigqueueinfo, pid, tid, sig, &info);
    return now_ns() - t0;
}

/* The gap between signals is spent on the CPU, as it is before every real
 * CPU-time sample: a thread is only ever sampled while it runs.  (After a
 * sleep, a virtual machine's idle vCPU comes back with cold caches and
 * TLBs, which multiplies the cost of any handler that touches memory.) */
static void spin_ns(uint64_t ns)
{
    uint64_t until = now_ns() + ns;
    while (now_ns() < until)
        __asm__ volatile("" ::: "memory");
}

static void measure(void)
{
    for (int i = 0; i < count; i++) {
        if (bare_costs) {
            bare_costs[i] = one_signal(SIGUSR2);
            spin_ns(gap_ns);
        }
        costs[i] = one_signal(SIGPROF);
        spin_ns(gap_ns);
    }
}

static __attribute__((noinline)) int descend(int level)
{
    if (level >= depth) {
        measure();
        return 0;
    }
    /* With libraries loaded, every other frame is a hop in the next one. */
    int r = hop_count && level % 2 ? hops[(level / 2) % hop_count](level + 1, descend)
                                   : descend(level + 1);
    __asm__ volatile("" ::: "memory"); /* no tail call: every frame stays */
    return r + 1;
}

static void *idle_thread(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

/* THREADS idle threads and every HOPDIR/hop_NNN.so; 0 when all are there. */
static int make_process_busy(int threads, const char *hop_dir)
{
    for (int i = 0; i < threads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, idle_thread, NULL) != 0) {
            fprintf(stderr, "signal_cost: pthread_create failed at %d\n", i);
            return -1;
        }
    }
    hops = calloc(1000, sizeof(*hops));
    if (!hops)
        return -1;
    for (hop_count = 0; hop_count < 1000; hop_count++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/hop_%03d.so", hop_dir, hop_count);
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h)
            break;
        hops[hop_count] = (hop_fn)(uintptr_t)dlsym(h, "cg_bench_hop");
        if (!hops[hop_count]) {
            fprintf(stderr, "signal_cost: %s has no cg_bench_hop\n", path);
            return -1;
        }
    }
    if (hop_count == 0) {
        fprintf(stderr, "signal_cost: no %s/hop_000.so: %s\n", hop_dir, dlerror());
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc != 4 && argc != 6) || (strcmp(argv[3], "own") && strcmp(argv[3], "agent") &&
                                     strcmp(argv[3], "paired"))) {
        fprintf(stderr, "usage: signal_cost DEPTH COUNT own|agent|paired [THREADS HOPDIR]\n");
        return 2;
    }
    depth = atoi(argv[1]);
    count = atoi(argv[2]);
    if (depth < 1 || depth > 10000 || count < 10) {
        fprintf(stderr, "signal_cost: DEPTH in [1, 10000], COUNT >= 10\n");
        return 2;
    }
    costs = calloc((size_t)count, sizeof(*costs));
    if (!costs)
        return 1;
    bool paired = !strcmp(argv[3], "paired");
    if (paired && !(bare_costs = calloc((size_t)count, sizeof(*bare_costs))))
        return 1;
    if (!strcmp(argv[3], "own") || paired) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = empty_handler;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigaction(paired ? SIGUSR2 : SIGPROF, &sa, NULL);
    }
    if (argc == 6 && make_process_busy(atoi(argv[4]), argv[5]) != 0)
        return 1;
    descend(1);
    qsort(costs, (size_t)count, sizeof(*costs), cmp_u64);
    printf("median_ns %llu p10_ns %llu p90_ns %llu", (unsigned long long)costs[count / 2],
           (unsigned long long)costs[count / 10], (unsigned long long)costs[count * 9 / 10]);
    if (paired) {
        qsort(bare_costs, (size_t)count, sizeof(*bare_costs), cmp_u64);
        printf(" bare_median_ns %llu", (unsigned long long)bare_costs[count / 2]);
    }
    printf("\n");
    free(costs);
    free(bare_costs);
    return 0;
}
