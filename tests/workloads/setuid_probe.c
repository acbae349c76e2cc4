/*
 * setuid_probe.c - a program linked with libcgagent.so (not preloaded:
 * the loader ignores LD_PRELOAD paths in setuid programs), which the
 * setuid tests make setuid-root and run as nobody with hostile
 * CGAGENT_* variables.  It does a little work and prints one fixed line,
 * so its output and status can be compared with and without them.
 *
 * Usage: setuid_probe [seconds of CPU, default 0.05]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double want = argc > 1 ? atof(argv[1]) : 0.05;
    volatile unsigned long x = 0;
    double t0 = cpu_s();
    while (cpu_s() - t0 < want)
        for (int i = 0; i < 10000; i++)
            x += (unsigned long)i * 2654435761u;
    printf("setuid_probe: done\n");
    return 0;
}
