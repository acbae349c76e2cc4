/*
 * signal_cost.c - what one profiling signal costs the thread it
 * interrupts, at a chosen stack depth.
 *
 *   signal_cost DEPTH COUNT own     an empty SIGPROF handler of its own:
 *                                   the bare cost of delivering a signal
 *   signal_cost DEPTH COUNT agent   whatever handler is installed (run it
 *                                   with the agent preloaded)
 *
 * The thread recurses DEPTH frames, then sends itself COUNT signals with
 * rt_tgsigqueueinfo and si_code SI_TIMER, which the kernel delivers before
 * the call returns, so the time around the call is the whole cost: kernel
 * entry, signal frame, handler, sigreturn.  The agent's handler takes it
 * as a CPU-timer sample (it ignores signals that are not SI_TIMER).  The
 * signals are spaced 2 ms apart so the agent's thread drains the ring
 * between them (a full ring would make the handler return early and look
 * cheap).  Prints the median and the 10th/90th percentiles in ns.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static int depth, count;
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

static void measure(void)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = SIGPROF;
    info.si_code = SI_TIMER;
    pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);
    struct timespec gap = {0, 2 * 1000 * 1000};
    for (int i = 0; i < count; i++) {
        uint64_t t0 = now_ns();
        syscall(SYS_rt_tgsigqueueinfo, pid, tid, SIGPROF, &info);
        costs[i] = now_ns() - t0;
        nanosleep(&gap, NULL);
    }
}

static __attribute__((noinline)) int descend(int level)
{
    if (level >= depth) {
        measure();
        return 0;
    }
    int r = descend(level + 1);
    __asm__ volatile("" ::: "memory"); /* no tail call: every frame stays */
    return r + 1;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[3], "own") && strcmp(argv[3], "agent"))) {
        fprintf(stderr, "usage: signal_cost DEPTH COUNT own|agent\n");
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
    if (!strcmp(argv[3], "own")) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = empty_handler;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigaction(SIGPROF, &sa, NULL);
    }
    descend(1);
    qsort(costs, (size_t)count, sizeof(*costs), cmp_u64);
    printf("median_ns %llu p10_ns %llu p90_ns %llu\n", (unsigned long long)costs[count / 2],
           (unsigned long long)costs[count / 10], (unsigned long long)costs[count * 9 / 10]);
    free(costs);
    return 0;
}
