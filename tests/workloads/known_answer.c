/*
 * known_answer.c - a workload whose CPU profile is known in advance.
 *
 *   thread busy_a  burns 3 units of CPU: 1 unit in leaf_alpha (reached
 *                  through route_one) and 2 units in leaf_beta (reached
 *                  through route_two), interleaved in small chunks;
 *   thread busy_b  burns 1 unit in leaf_gamma;
 *   thread sleeper sleeps in nanosleep until the busy threads finish.
 *
 * So RUNNABLE samples split busy_a:busy_b = 3:1, and within busy_a
 * leaf_alpha:leaf_beta = 1:2.  Work is metered by each thread's own CPU
 * clock, so the split holds whatever the machine's speed or load.  The
 * leaves are static (only in .symtab) and the file is built without frame
 * pointers, so the profile is right only if symbols come from .symtab and
 * unwinding uses DWARF CFI.
 *
 * usage: known_answer [UNIT_SECONDS [fixed]]   (default 0.5; total CPU = 4 units)
 * With "fixed", a unit is a fixed amount of work (about UNIT_SECONDS of
 * CPU on a 3 GHz machine) instead of metered CPU time, so a profiler's
 * cost shows as extra CPU time (make bench); the ratios stay the same.
 * Output is deterministic: the same text with or without a profiler.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double unit_s = 0.5;
static int fixed_work; /* spin a fixed count instead of metering CPU time */

/* Blocks of 200k iterations that take about a second on a 3 GHz machine
 * (one dependent multiply-add each, about 4 cycles). */
#define FIXED_BLOCKS_PER_S 3750.0
static volatile int busy_done;
static volatile uint64_t sink;

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Spins for `seconds` of this thread's CPU time.  The clock is read once
 * per 200k iterations so the vDSO call stays far below 1% of samples. */
#define SPIN_BODY(seconds, salt)                                   \
    do {                                                           \
        double until = thread_cpu_s() + (seconds);                 \
        long blocks = (long)((seconds) * FIXED_BLOCKS_PER_S + 0.5); \
        uint64_t x = (salt);                                       \
        do {                                                       \
            for (int i = 0; i < 200000; i++)                       \
                x = x * 6364136223846793005ull + 1442695040888963407ull; \
        } while (fixed_work ? --blocks > 0 : thread_cpu_s() < until); \
        sink += x;                                                 \
    } while (0)

static __attribute__((noinline)) void leaf_alpha(double s) { SPIN_BODY(s, 1); }
static __attribute__((noinline)) void leaf_beta(double s) { SPIN_BODY(s, 2); }
static __attribute__((noinline)) void leaf_gamma(double s) { SPIN_BODY(s, 3); }

static __attribute__((noinline)) void route_one(double s)
{
    leaf_alpha(s);
    __asm__ volatile("" ::: "memory"); /* keep the call from becoming a tail jump */
}

static __attribute__((noinline)) void route_two(double s)
{
    leaf_beta(s);
    __asm__ volatile("" ::: "memory");
}

#define CHUNK_S 0.01

static void *busy_a(void *arg)
{
    (void)arg;
    double total = 3 * unit_s, done = 0;
    while (done < total) {
        route_one(CHUNK_S);
        route_two(2 * CHUNK_S);
        done += 3 * CHUNK_S;
    }
    return NULL;
}

static void *busy_b(void *arg)
{
    (void)arg;
    double total = unit_s, done = 0;
    while (done < total) {
        leaf_gamma(CHUNK_S);
        done += CHUNK_S;
    }
    return NULL;
}

static __attribute__((noinline)) void sleep_a_while(void)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static void *sleeper(void *arg)
{
    (void)arg;
    while (!busy_done)
        sleep_a_while();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        unit_s = atof(argv[1]);
    if (argc > 2)
        fixed_work = strcmp(argv[2], "fixed") == 0 ? 1 : -1;
    if (unit_s <= 0 || unit_s > 60 || fixed_work < 0) {
        fprintf(stderr, "usage: known_answer [UNIT_SECONDS in (0, 60] [fixed]]\n");
        return 2;
    }
    pthread_t a, b, s;
    if (pthread_create(&s, NULL, sleeper, NULL) || pthread_create(&a, NULL, busy_a, NULL) ||
        pthread_create(&b, NULL, busy_b, NULL)) {
        fprintf(stderr, "known_answer: pthread_create failed\n");
        return 1;
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    busy_done = 1;
    pthread_join(s, NULL);
    printf("known_answer: done (%g CPU-seconds of work)\n", 4 * unit_s);
    return 0;
}
