/*
 * thread_churn.c - many short-lived threads, each doing a little CPU work,
 * some exiting through pthread_exit, some detached.
 *
 * usage: thread_churn [N]   (default 10000 threads, 8 alive at a time)
 * Prints the sum of the threads' results: deterministic.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t work(uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 300000; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x >> 60;
}

static void *worker(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    uint64_t r = work(i);
    if (i % 3 == 0)
        pthread_exit((void *)(uintptr_t)r);
    return (void *)(uintptr_t)r;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000;
    if (n <= 0) {
        fprintf(stderr, "usage: thread_churn [N > 0]\n");
        return 2;
    }
    uint64_t sum = 0;
    pthread_t t[8];
    for (long i = 0; i < n; i += 8) {
        int k = 0;
        for (; k < 8 && i + k < n; k++)
            if (pthread_create(&t[k], NULL, worker, (void *)(uintptr_t)(i + k)) != 0) {
                fprintf(stderr, "thread_churn: pthread_create failed\n");
                return 1;
            }
        for (int j = 0; j < k; j++) {
            void *r;
            pthread_join(t[j], &r);
            sum += (uint64_t)(uintptr_t)r;
        }
    }
    printf("thread_churn: %ld threads, sum %llu\n", n, (unsigned long long)sum);
    return 0;
}
