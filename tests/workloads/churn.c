/*
 * churn.c - workloads for the reliability suite (tests/stress/).
 *
 *   churn paths THREADS DEPTH
 *       THREADS threads burn CPU in short slices until stdin reaches end
 *       of file; each slice descends a fresh random path of DEPTH calls
 *       through eight functions (path_0 .. path_7) before burning in
 *       path_leaf, so nearly every sample has a stack never seen before
 *       and a profiler's stack table grows as fast as it samples.  At end
 *       of file each thread burns 0.3 s of its CPU in after_input_work
 *       (a function the test expects no samples of once the profiler
 *       said it stopped), then the program prints "churn: paths done"
 *       and exits 0.
 *
 *   churn soak
 *       one thread burns CPU in 20 ms slices with 30 ms pauses (a little
 *       under half a core) in soak_work until stdin reaches end of file;
 *       then prints "churn: soak done, N bytes read" and exits 0.  The
 *       test decides how long it runs by closing the pipe.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

static double now_s(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static __attribute__((noinline)) void burn_for(clockid_t clk, double seconds)
{
    double until = now_s(clk) + seconds;
    uint64_t x = 1;
    while (now_s(clk) < until)
        for (int i = 0; i < 2000; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
    sink += x;
}

/* ---- paths ---- */

static __attribute__((noinline)) void path_leaf(void)
{
    burn_for(CLOCK_THREAD_CPUTIME_ID, 0.0005);
    __asm__ volatile("" ::: "memory"); /* keeps this frame: not a tail call */
}

typedef void (*step_fn)(int depth, uint32_t *seed);
static const step_fn steps[8];

static __attribute__((noinline)) void step(int depth, uint32_t *seed)
{
    if (depth <= 0) {
        path_leaf();
        return;
    }
    *seed = *seed * 1103515245u + 12345u;
    steps[(*seed >> 16) & 7](depth - 1, seed);
    __asm__ volatile("" ::: "memory"); /* not a tail call: one frame per level */
}

#define PATH_FN(n)                                                       \
    static __attribute__((noinline)) void path_##n(int depth, uint32_t *seed) \
    {                                                                    \
        step(depth, seed);                                               \
        __asm__ volatile("" ::: "memory");                               \
    }
PATH_FN(0)
PATH_FN(1)
PATH_FN(2)
PATH_FN(3)
PATH_FN(4)
PATH_FN(5)
PATH_FN(6)
PATH_FN(7)
static const step_fn steps[8] = {path_0, path_1, path_2, path_3,
                                 path_4, path_5, path_6, path_7};

struct paths_arg {
    int depth;
    uint32_t seed;
};

static volatile int input_over;

static __attribute__((noinline)) void after_input_work(void)
{
    burn_for(CLOCK_THREAD_CPUTIME_ID, 0.3);
    __asm__ volatile("" ::: "memory");
}

static void *paths_thread(void *p)
{
    struct paths_arg *a = p;
    while (!input_over)
        step(a->depth, &a->seed);
    after_input_work();
    return NULL;
}

/* Reads stdin to its end; returns the bytes read, or -1. */
static long long read_to_eof(void)
{
    char buf[4096];
    long long total = 0;
    for (;;) {
        ssize_t n = read(0, buf, sizeof(buf));
        if (n > 0) {
            total += n;
            continue;
        }
        if (n == 0)
            return total;
        perror("churn: read"); /* EINTR included: the agent must not cause one */
        return -1;
    }
}

static int run_paths(int threads, int depth)
{
    if (threads < 1 || threads > 64 || depth < 1 || depth > 5000) {
        fprintf(stderr, "churn: paths: bad thread count or depth\n");
        return 2;
    }
    pthread_t tid[64];
    struct paths_arg args[64];
    for (int i = 0; i < threads; i++) {
        args[i] = (struct paths_arg){depth, 2654435761u * (uint32_t)(i + 1)};
        if (pthread_create(&tid[i], NULL, paths_thread, &args[i]) != 0) {
            fprintf(stderr, "churn: pthread_create failed\n");
            return 1;
        }
    }
    long long got = read_to_eof();
    input_over = 1;
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    if (got < 0)
        return 1;
    printf("churn: paths done\n");
    return 0;
}

/* ---- soak ---- */

static volatile int soak_over;

static __attribute__((noinline)) void soak_work(void)
{
    burn_for(CLOCK_MONOTONIC, 0.020);
    __asm__ volatile("" ::: "memory");
}

static void *soak_thread(void *p)
{
    (void)p;
    struct timespec pause = {0, 30 * 1000 * 1000};
    while (!soak_over) {
        soak_work();
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static int run_soak(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, soak_thread, NULL) != 0) {
        fprintf(stderr, "churn: pthread_create failed\n");
        return 1;
    }
    long long total = read_to_eof();
    soak_over = 1;
    pthread_join(t, NULL);
    if (total < 0)
        return 1;
    printf("churn: soak done, %lld bytes read\n", total);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "paths") == 0)
        return run_paths(atoi(argv[2]), atoi(argv[3]));
    if (argc >= 2 && strcmp(argv[1], "soak") == 0)
        return run_soak();
    fprintf(stderr, "usage: churn paths THREADS DEPTH | churn soak\n");
    return 2;
}
