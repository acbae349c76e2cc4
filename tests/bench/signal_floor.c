/*
 * signal_floor.c - the least a sampling profiler can cost: SIGPROF at
 * SIGNAL_FLOOR_HZ (default 100) of the process's CPU time (ITIMER_PROF,
 * as gperftools sets it), delivered to a handler that does nothing.
 *
 * `make bench` preloads it as the "signals only" line beside cgagent and
 * gperftools: what it costs is what interrupting the program 100 times a
 * second costs (kernel entry, the signal frame, the caches and TLB the
 * program refills afterwards), which no profiler's own work explains.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static void nothing(int sig)
{
    (void)sig;
}

__attribute__((constructor)) static void start_timer(void)
{
    const char *hz_env = getenv("SIGNAL_FLOOR_HZ");
    long hz = hz_env ? strtol(hz_env, NULL, 10) : 100;
    if (hz <= 0 || hz > 10000)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = nothing;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGPROF, &sa, NULL);
    struct itimerval it = {{0, 1000000 / hz}, {0, 1000000 / hz}};
    setitimer(ITIMER_PROF, &it, NULL);
}
