/*
 * deep_stack.c - a C program whose samples have a chosen stack depth:
 * main recurses DEPTH times, then a leaf burns SECONDS of its thread's CPU.
 * `make bench` compares the handler's cost here with its cost on a Python
 * program of about the same depth (tests/bench/python_bench.py).
 *
 * With MIB > 0 the leaf also reads and writes MIB MiB of memory at
 * scattered places, as an interpreter's loop touches its objects, code
 * and tables between two samples: what a sample's handler finds still in
 * the caches then is what it would find in such a program.  With 0 (the
 * default) the leaf is a tight loop that leaves every cache to the
 * handler.
 *
 * usage: deep_stack [SECONDS [DEPTH [MIB]]]   (defaults 2.0, 24 and 0)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile uint64_t sink;
static uint64_t *working_set;
static size_t working_words; /* a power of two, or 0 */

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void leaf(double seconds)
{
    double end = thread_cpu_s() + seconds;
    uint64_t at = 1;
    while (thread_cpu_s() < end) {
        for (int i = 0; i < 20000; i++) {
            sink += (uint64_t)i * (uint64_t)i;
            if (working_words) {
                /* A multiplicative step: every line of the set, in no
                 * order the prefetcher follows. */
                at = (at * 6364136223846793005ull + 1442695040888963407ull);
                working_set[(at >> 20) & (working_words - 1)] += sink;
            }
        }
    }
}

__attribute__((noinline)) static void descend(int depth, double seconds)
{
    if (depth > 0)
        descend(depth - 1, seconds);
    else
        leaf(seconds);
    __asm__ volatile("" ::: "memory"); /* not a tail call: one frame per level */
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    int depth = argc > 2 ? atoi(argv[2]) : 24;
    int mib = argc > 3 ? atoi(argv[3]) : 0;
    if (mib > 0) {
        size_t words = 1;
        while (words * 2 <= (size_t)mib << 17)
            words *= 2;
        if ((working_set = calloc(words, sizeof(uint64_t))) != NULL)
            working_words = words;
    }
    descend(depth, seconds);
    printf("deep_stack: done\n");
    return 0;
}
