/*
 * dlopen_loop.c - threads that do nothing but open and close libraries,
 * so a profiler's signal lands inside the dynamic loader again and again.
 *
 *   dlopen_loop SECONDS THREADS LIBRARY...
 *
 * Each of THREADS threads loops for SECONDS of wall-clock time over the
 * LIBRARY paths (each thread from its own starting point): dlopen it,
 * call its `dl_target(int)` (found with dlsym), dlclose it, and dlopen a
 * path that does not exist, which must fail.  Libraries that are copies
 * of one file under different names are loaded one by one (the loader
 * tells files apart by device and inode), so loads, not only lookups of
 * loaded objects, go on while the threads run.  On musl, whose libc.so is
 * its loader, every one of these calls takes the loader's lock for
 * writing (tests/e2e/test_musl.py).
 *
 * Prints one line that does not depend on timing and exits 0, or names
 * the first failure and exits 1.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double seconds;
static int n_libs;
static char **libs;
static volatile int failed;
static volatile long sink;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *loop(void *arg)
{
    int first = (int)(long)arg;
    double end = now_s() + seconds;
    for (long k = 0; now_s() < end && !failed; k++) {
        const char *path = libs[(first + k) % n_libs];
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        int (*fn)(int) = h ? (int (*)(int))dlsym(h, "dl_target") : NULL;
        if (!fn) {
            fprintf(stderr, "dlopen_loop: %s: %s\n", path, dlerror());
            failed = 1;
            break;
        }
        sink += fn((int)k);
        dlclose(h);
        if (dlopen("/nonexistent/cgagent-dlopen-loop.so", RTLD_NOW)) {
            fprintf(stderr, "dlopen_loop: a missing library opened\n");
            failed = 1;
            break;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4 || (seconds = atof(argv[1])) <= 0 || atoi(argv[2]) <= 0) {
        fprintf(stderr, "usage: dlopen_loop SECONDS THREADS LIBRARY...\n");
        return 2;
    }
    int n_threads = atoi(argv[2]);
    n_libs = argc - 3;
    libs = argv + 3;
    pthread_t *t = calloc((size_t)n_threads, sizeof(*t));
    if (!t)
        return 1;
    for (int i = 0; i < n_threads; i++) {
        if (pthread_create(&t[i], NULL, loop, (void *)(long)i) != 0) {
            fprintf(stderr, "dlopen_loop: pthread_create failed\n");
            return 1;
        }
    }
    for (int i = 0; i < n_threads; i++)
        pthread_join(t[i], NULL);
    free(t);
    if (failed)
        return 1;
    printf("dlopen_loop: %d threads over %d libraries: done\n", n_threads, n_libs);
    return 0;
}
