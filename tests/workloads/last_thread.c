/*
 * last_thread.c - programs whose process ends when its last thread does,
 * not by returning from main (tests/e2e/test_host_lifetime.py).
 *
 *   last_thread pthread_exit   main starts a worker (0.3 s of CPU) and
 *                              calls pthread_exit; the worker prints and
 *                              returns: glibc ends the process with
 *                              exit(0), flushing stdout
 *   last_thread raw_thread     likewise, while a thread made with clone()
 *                              (not pthread_create) sleeps 0.8 s and ends:
 *                              without the agent, exit(0) ends it first
 *   last_thread worker_exit    the worker ends by pthread_exit too
 *
 * The worker also says "worker TID ending" on stderr (unbuffered).
 * stdout is a pipe in the tests, so the lines are block-buffered: they
 * appear only if exit() runs.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile double g_sink;

__attribute__((noinline)) static void burn_in_worker(double seconds)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    do {
        for (int i = 0; i < 100000; i++)
            g_sink += i * 0.5;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    } while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) * 1e-9 < seconds);
}

static int g_worker_pthread_exit;

static void *worker(void *unused)
{
    burn_in_worker(0.3);
    printf("worker done\n");
    /* unbuffered, for a test that waits for this thread to end */
    fprintf(stderr, "worker %ld ending\n", (long)syscall(SYS_gettid));
    if (g_worker_pthread_exit)
        pthread_exit(NULL);
    return NULL;
}

/* A thread glibc knows nothing of: no TLS of its own, so it makes raw
 * system calls only. */
static int raw_thread(void *unused)
{
    struct timespec ts = {0, 800000000}; /* outlives the worker */
    syscall(SYS_nanosleep, &ts, NULL);
    syscall(SYS_exit, 0);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "pthread_exit";
    if (strcmp(mode, "raw_thread") == 0) {
        size_t size = 64 * 1024;
        char *stack = malloc(size);
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old); /* it never takes a signal */
        if (!stack || clone(raw_thread, stack + size,
                            CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                CLONE_SYSVSEM,
                            NULL) < 0) {
            perror("clone");
            return 2;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    } else if (strcmp(mode, "worker_exit") == 0) {
        g_worker_pthread_exit = 1;
    } else if (strcmp(mode, "pthread_exit") != 0) {
        fprintf(stderr, "usage: last_thread pthread_exit|raw_thread|worker_exit\n");
        return 2;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0) {
        perror("pthread_create");
        return 2;
    }
    printf("main leaving\n");
    pthread_exit(NULL);
}
