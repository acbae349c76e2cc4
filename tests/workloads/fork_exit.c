/*
 * fork_exit.c - fork children that leave at once, as servers' helpers and
 * shells' failed commands do: the agent must not make them wait for it.
 *
 *   fork_exit N exit        burn 0.3 CPU-s, then fork N children one after
 *                           another, each calling _exit(0) at once
 *   fork_exit N exec-fail   the same, each child first exec'ing a path that
 *                           does not exist, then _exit(127)
 *
 * The parent checks every child's wait status and prints
 * "children N ok", then "elapsed_ms X" (fork of the first child to the
 * reaping of the last) on a second line; exits 1 on a wrong status.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

static double now_s(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The parent's own work: its agent is past its start and holds samples
 * when the children are forked, as a server's would. */
static __attribute__((noinline)) void burn_cpu(double seconds)
{
    double end = now_s(CLOCK_THREAD_CPUTIME_ID) + seconds;
    while (now_s(CLOCK_THREAD_CPUTIME_ID) < end)
        for (int i = 0; i < 20000; i++)
            sink += (uint64_t)i * 2654435761u;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "exit") && strcmp(argv[2], "exec-fail"))) {
        fprintf(stderr, "usage: %s N exit|exec-fail\n", argv[0]);
        return 2;
    }
    int n = atoi(argv[1]);
    int exec_fail = strcmp(argv[2], "exec-fail") == 0;
    int want = exec_fail ? 127 : 0;
    burn_cpu(0.3);
    double t0 = now_s(CLOCK_MONOTONIC);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            if (exec_fail)
                execl("/nonexistent/cgagent-test", "cgagent-test", (char *)NULL);
            _exit(want);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != want) {
            printf("child %d: wait status %#x, wanted exit %d\n", i, st, want);
            return 1;
        }
    }
    printf("children %d ok\nelapsed_ms %.1f\n", n, (now_s(CLOCK_MONOTONIC) - t0) * 1e3);
    return 0;
}
