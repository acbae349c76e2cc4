/*
 * fork_cost.c - what a fork child costs that leaves at once: by _exit
 * (a server's helper, a daemon's double fork) or by a failed exec (a shell
 * that cannot find the command).  Under the agent each child gets a fresh
 * agent of its own (docs/internals.md, "Fork, exec, exit"); this measures
 * what that adds, from fork() to the parent's waitpid() returning.
 *
 * usage: fork_cost CHILDREN exit|exec-fail [BURN_S]
 * First burns BURN_S (default 0.1) seconds of CPU, so the parent's agent
 * is past its start and holds samples, as a server's would; then forks
 * CHILDREN children one after another, each reaped before the next, and
 * prints "per_child_ms MEAN median_ms MEDIAN".  Exits 1 if a child did
 * not leave with the expected status (0 for exit, 127 for exec-fail).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void burn(double seconds)
{
    volatile double x = 0;
    double end = now_s(CLOCK_PROCESS_CPUTIME_ID) + seconds;
    while (now_s(CLOCK_PROCESS_CPUTIME_ID) < end)
        for (int i = 0; i < 10000; i++)
            x += i;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[2], "exit") && strcmp(argv[2], "exec-fail"))) {
        fprintf(stderr, "usage: %s CHILDREN exit|exec-fail [BURN_S]\n", argv[0]);
        return 2;
    }
    int n = atoi(argv[1]);
    int exec_fail = strcmp(argv[2], "exec-fail") == 0;
    burn(argc > 3 ? atof(argv[3]) : 0.1);
    double *ms = calloc((size_t)(n > 0 ? n : 1), sizeof(*ms));
    if (!ms || n < 1)
        return 2;
    double total = 0;
    for (int i = 0; i < n; i++) {
        double t0 = now_s(CLOCK_MONOTONIC);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            if (exec_fail)
                execl("/nonexistent/cgagent-bench", "cgagent-bench", (char *)NULL);
            _exit(exec_fail ? 127 : 0);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
            WEXITSTATUS(st) != (exec_fail ? 127 : 0)) {
            fprintf(stderr, "child %d: unexpected wait status %#x\n", (int)pid, st);
            return 1;
        }
        ms[i] = (now_s(CLOCK_MONOTONIC) - t0) * 1e3;
        total += ms[i];
    }
    qsort(ms, (size_t)n, sizeof(*ms), cmp_double);
    double median = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
    printf("per_child_ms %.4f median_ms %.4f\n", total / n, median);
    free(ms);
    return 0;
}
