/*
 * deep_stack.c - a C program whose samples have a chosen stack depth:
 * main recurses DEPTH times, then a leaf burns SECONDS of its thread's CPU.
 * `make bench` compares the handler's cost here with its cost on a Python
 * program of about the same depth (tests/bench/bench.py).
 *
 * usage: deep_stack [SECONDS [DEPTH]]   (defaults 2.0 and 24)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile uint64_t sink;

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void leaf(double seconds)
{
    double end = thread_cpu_s() + seconds;
    while (thread_cpu_s() < end)
        for (int i = 0; i < 20000; i++)
            sink += (uint64_t)i * (uint64_t)i;
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
    descend(depth, seconds);
    printf("deep_stack: done\n");
    return 0;
}
