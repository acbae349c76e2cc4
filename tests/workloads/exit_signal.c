/*
 * exit_signal.c - programs that are ended by SIGTERM / SIGINT / SIGHUP,
 * for the agent's exit-signal handling (preload/exit_signals.c).
 *
 *   exit_signal spin SECONDS   burn CPU; after SECONDS of CPU print "ready"
 *                              and burn on until a signal ends the process
 *   exit_signal handler        install a SIGTERM handler, print "ready",
 *                              burn CPU until it runs, print "handled",
 *                              exit 3
 *   exit_signal query          print the disposition of SIGTERM, SIGINT
 *                              and SIGHUP as sigaction() and signal() see it
 *   exit_signal ignore         ignore SIGTERM, print "ready", read a line
 *                              from stdin, print "alive", exit 0
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_got;

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile unsigned long g_sink;

static __attribute__((noinline)) void burn_cpu(void)
{
    for (int i = 0; i < 100000; i++)
        g_sink += (unsigned long)i * 2654435761u;
}

static void ready(void)
{
    printf("ready\n");
    fflush(stdout);
}

static void on_term(int signo)
{
    (void)signo;
    g_got = 1;
}

static const char *name_of(void (*h)(int))
{
    return h == SIG_DFL ? "SIG_DFL" : h == SIG_IGN ? "SIG_IGN" : "a handler";
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "spin";
    if (strcmp(mode, "spin") == 0) {
        double want = argc > 2 ? atof(argv[2]) : 1.0;
        double t0 = cpu_s();
        while (cpu_s() - t0 < want)
            burn_cpu();
        ready();
        for (;;)
            burn_cpu();
    }
    if (strcmp(mode, "handler") == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_term;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        ready();
        while (!g_got)
            burn_cpu();
        printf("handled\n");
        return 3;
    }
    if (strcmp(mode, "query") == 0) {
        const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
        for (int i = 0; i < 3; i++) {
            struct sigaction old;
            memset(&old, 0xff, sizeof(old));
            sigaction(sigs[i], NULL, &old);
            int info = (old.sa_flags & SA_SIGINFO) != 0;
            /* Setting the default and reading back what was there. */
            void (*prev)(int) = signal(sigs[i], SIG_DFL);
            struct sigaction again;
            sigaction(sigs[i], NULL, &again);
            printf("%s: sigaction %s (siginfo %d, flags %#x), signal %s, after %s\n",
                   strsignal(sigs[i]), info ? "a handler" : name_of(old.sa_handler), info,
                   (unsigned)old.sa_flags, name_of(prev), name_of(again.sa_handler));
        }
        return 0;
    }
    if (strcmp(mode, "ignore") == 0) {
        signal(SIGTERM, SIG_IGN);
        ready();
        char line[64];
        if (!fgets(line, sizeof(line), stdin))
            return 1;
        printf("alive\n");
        return 0;
    }
    return 2;
}
