/*
 * fork_mask_threads.c - four threads fork at the same time, two with
 * SIGPROF blocked and two with it unblocked; each checks, in the parent
 * after every fork and in every child, that SIGPROF's blocked state is
 * what the thread had before the fork.
 *
 * The agent blocks SIGPROF in its fork prepare handler and unblocks it in
 * the parent and child handlers only if it was unblocked before; glibc
 * runs those handlers without its atfork lock, so concurrent forks run
 * them at the same time and the note must be per thread
 * (tests/e2e/test_static_tls.py, preload/preload.c).
 *
 * Usage: fork_mask_threads [FORKS_PER_THREAD]   (default 200)
 * Prints "mismatches N"; exit status 0 when N is 0, else 1.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int g_forks = 200;

static int prof_blocked(void)
{
    sigset_t s;
    pthread_sigmask(SIG_SETMASK, NULL, &s);
    return sigismember(&s, SIGPROF);
}

static void *forker(void *arg)
{
    int block = (int)(long)arg;
    long bad = 0;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGPROF);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &s, NULL);
    for (int i = 0; i < g_forks; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(prof_blocked() == block ? 0 : 1);
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            bad++;
        if (prof_blocked() != block)
            bad++;
    }
    return (void *)bad;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        g_forks = atoi(argv[1]);
    pthread_t t[4];
    long bad = 0;
    int n = 0;
    for (int i = 0; i < 4; i++)
        if (pthread_create(&t[n], NULL, forker, (void *)(long)(i & 1)) == 0)
            n++;
    for (int i = 0; i < n; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += (long)r;
    }
    if (n != 4)
        bad++;
    printf("mismatches %ld\n", bad);
    return bad != 0;
}
