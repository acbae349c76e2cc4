/*
 * static_tls_dlopen.c - loads libraries that use initial-exec TLS, as a
 * program that dlopen's such a plugin late does, then burns CPU on two
 * threads that touch the libraries' thread-locals.
 *
 * An initial-exec TLS block of a library loaded at run time must fit in
 * what is left of glibc's static-TLS surplus; every library loaded before
 * it with initial-exec TLS (an injected agent, say) takes its share
 * first (tests/e2e/test_static_tls.py).
 *
 * Usage: static_tls_dlopen SECONDS LIB...
 * Each LIB must define `char *ie_touch(void)` (touches the library's
 * initial-exec block and returns it).  Prints "LIB: loaded" or
 * "LIB: failed: <dlerror>" per library, then "agent mapped: yes|no"
 * (whether a libcgagent file is mapped); exit status 0 when every LIB
 * loaded, else 1.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LIBS 16

static char *(*g_touch[MAX_LIBS])(void);
static int g_n_touch;
static double g_seconds;

static double thread_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Spins for g_seconds of this thread's CPU time, touching every loaded
 * library's thread-locals. */
static void *burn(void *arg)
{
    (void)arg;
    volatile unsigned long sum = 0;
    double end = thread_cpu_seconds() + g_seconds;
    while (thread_cpu_seconds() < end)
        for (int i = 0; i < g_n_touch; i++)
            for (int k = 0; k < 1000; k++)
                sum += (unsigned char)++g_touch[i]()[k % 64];
    return NULL;
}

static int agent_mapped(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, "/libcgagent") != NULL;
    fclose(f);
    return found;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc - 2 > MAX_LIBS) {
        fprintf(stderr, "usage: static_tls_dlopen SECONDS LIB...\n");
        return 2;
    }
    g_seconds = atof(argv[1]);
    int status = 0;
    for (int i = 2; i < argc; i++) {
        void *h = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
        void *sym = h ? dlsym(h, "ie_touch") : NULL;
        if (!sym) {
            printf("%s: failed: %s\n", argv[i], dlerror());
            status = 1;
            continue;
        }
        printf("%s: loaded\n", argv[i]);
        *(void **)&g_touch[g_n_touch++] = sym;
    }
    printf("agent mapped: %s\n", agent_mapped() ? "yes" : "no");
    fflush(stdout);
    /* A thread started after the loads gets the libraries' blocks in its
     * own static TLS; the agent registers it like any other. */
    pthread_t t;
    int started = pthread_create(&t, NULL, burn, NULL) == 0;
    burn(NULL);
    if (started)
        pthread_join(t, NULL);
    return status;
}
