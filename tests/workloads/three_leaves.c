/*
 * three_leaves.c - three leaves taking 50%, 25% and 25% of the CPU, one
 * of them on the main thread, so main is in the profile's stacks.
 *
 *   main         -> half_caller    -> leaf_half     2 units
 *   quarter_a    -> qa_caller      -> leaf_quarter_a 1 unit
 *   quarter_b    -> qb_caller      -> leaf_quarter_b 1 unit
 *
 * Each leaf runs on its own thread and spends its units of that thread's
 * CPU time (CLOCK_THREAD_CPUTIME_ID, read every 200k iterations), so the
 * split holds whatever the machine's speed, load or number of cores.
 * quarter_b starts its work when quarter_a is done: two threads are busy
 * at a time, so two cores are not overcommitted (CPU timers noticed late
 * lean the samples, tests/e2e/profiles.py), and the run takes 2 units of
 * wall-clock time there.
 * Built without frame pointers, leaves static: the profile is right only
 * if unwinding uses DWARF CFI and symbols come from .symtab
 * (tests/e2e/test_musl.py builds it with musl-gcc as well).
 *
 * usage: three_leaves [UNIT_SECONDS]   (default 0.5; total CPU = 4 units)
 * Prints one line that does not depend on timing; exits 0.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double unit_s = 0.5;
static volatile uint64_t sink;

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define SPIN(seconds, salt)                                              \
    do {                                                                 \
        double until = thread_cpu_s() + (seconds);                       \
        uint64_t x = (salt);                                             \
        do {                                                             \
            for (int i = 0; i < 200000; i++)                             \
                x = x * 6364136223846793005ull + 1442695040888963407ull; \
        } while (thread_cpu_s() < until);                                \
        sink += x;                                                       \
    } while (0)

static __attribute__((noinline)) void leaf_half(double s) { SPIN(s, 1); }
static __attribute__((noinline)) void leaf_quarter_a(double s) { SPIN(s, 2); }
static __attribute__((noinline)) void leaf_quarter_b(double s) { SPIN(s, 3); }

/* The asm keeps each call from becoming a tail jump. */
static __attribute__((noinline)) void half_caller(double s)
{
    leaf_half(s);
    __asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void qa_caller(double s)
{
    leaf_quarter_a(s);
    __asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void qb_caller(double s)
{
    leaf_quarter_b(s);
    __asm__ volatile("" ::: "memory");
}

static void *quarter_a(void *arg)
{
    (void)arg;
    qa_caller(unit_s);
    return NULL;
}

static void *quarter_b(void *arg)
{
    pthread_join(*(pthread_t *)arg, NULL); /* quarter_a's thread */
    qb_caller(unit_s);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        unit_s = atof(argv[1]);
    if (unit_s <= 0 || unit_s > 60) {
        fprintf(stderr, "usage: three_leaves [UNIT_SECONDS in (0, 60]]\n");
        return 2;
    }
    static pthread_t a, b;
    if (pthread_create(&a, NULL, quarter_a, NULL) || pthread_create(&b, NULL, quarter_b, &a)) {
        fprintf(stderr, "three_leaves: pthread_create failed\n");
        return 1;
    }
    half_caller(2 * unit_s);
    pthread_join(b, NULL); /* b joined a */
    printf("three_leaves: done (%g CPU-seconds of work)\n", 4 * unit_s);
    return 0;
}
