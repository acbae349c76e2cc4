/*
 * tid_reuse.c - threads whose ids were used just before by threads that
 * left without running any exit hook (a raw SYS_exit, as some runtimes
 * and crash paths do).  Run it in a fresh pid namespace where it may
 * write /proc/sys/kernel/ns_last_pid (`unshare -Urpf --mount-proc`): each
 * round lets a thread exit with SYS_exit, then sets the next id to its id
 * and starts a thread that burns CPU in reused_tid_worker().
 *
 * usage: tid_reuse [ROUNDS] [CPU_SECONDS_EACH]   (default 5, 0.3)
 * Prints "tid_reuse: R of N ids reused".
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double g_cpu_s = 0.3;

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *leaves_without_hooks(void *arg)
{
    pid_t *tid = arg;
    *tid = (pid_t)syscall(SYS_gettid);
    volatile uint64_t x = 1;
    for (int i = 0; i < 100000; i++)
        x = x * 6364136223846793005ull + 1;
    /* No TLS destructors, no pthread cleanup: the kernel clears the tid
     * (CLONE_CHILD_CLEARTID), so pthread_join still returns. */
    syscall(SYS_exit, 0);
    return NULL;
}

__attribute__((noinline)) static uint64_t reused_tid_worker(void)
{
    uint64_t x = 1;
    double end = thread_cpu_s() + g_cpu_s;
    while (thread_cpu_s() < end)
        for (int i = 0; i < 100000; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x;
}

struct reuser {
    pid_t want, got;
    uint64_t result;
};

static void *reuser(void *arg)
{
    struct reuser *r = arg;
    r->got = (pid_t)syscall(SYS_gettid);
    if (r->got == r->want)
        r->result = reused_tid_worker();
    return NULL;
}

static int set_next_pid(pid_t last)
{
    FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
    if (!f)
        return -1;
    int ok = fprintf(f, "%d", (int)last) > 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    if (argc > 2)
        g_cpu_s = atof(argv[2]);
    int reused = 0;
    for (int i = 0; i < rounds; i++) {
        pid_t tid = 0;
        pthread_t t;
        if (pthread_create(&t, NULL, leaves_without_hooks, &tid) != 0)
            return 1;
        pthread_join(t, NULL);
        /* A few tries: another thread (the agent's) may take the id. */
        for (int attempt = 0; attempt < 5; attempt++) {
            if (set_next_pid(tid - 1) != 0) {
                perror("tid_reuse: ns_last_pid");
                return 1;
            }
            struct reuser r = {tid, 0, 0};
            if (pthread_create(&t, NULL, reuser, &r) != 0)
                return 1;
            pthread_join(t, NULL);
            if (r.got == tid) {
                reused++;
                break;
            }
        }
    }
    printf("tid_reuse: %d of %d ids reused\n", reused, rounds);
    return 0;
}
