/*
 * fd_open_loop.c - a program thread that opens files without pause while
 * the agent starts uploading (tests/e2e/test_descriptors.py).
 *
 * usage: fd_open_loop     (stops at EOF on stdin)
 *
 * A constructor starts the thread, microseconds after the agent's own
 * constructor has started its threads, so the loop runs before the upload
 * thread makes its first HTTP clients and all the while after.  Each turn
 * opens /dev/null twice (no O_CLOEXEC), notes the numbers, looks at both
 * descriptors' close-on-exec flag, closes them and computes for about as
 * long before the next turn.  With 0, 1 and 2 open the two are 3 and 4,
 * unless someone else holds one of those numbers at that moment.
 *
 * The main thread prints "running" once the loop has turned, waits for
 * EOF on stdin, stops the loop and prints one line:
 *   turns T max M at-or-above-100 A cloexec C not-3-4 N
 * (T turns; M the highest number open() returned; A how many returned
 * 100 or more, the agent's descriptor floor; C how many had close-on-exec
 * set, which the program never asks for; N turns that got anything but
 * 3 and 4).  Exit status 0.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#define FLOOR 100

static atomic_bool g_stop;
static atomic_ulong g_turns;
static unsigned long g_above, g_cloexec, g_other;
static int g_max = -1;
static volatile unsigned g_work;
static pthread_t g_thread;
static int g_started;

static void note(int fd)
{
    if (fd > g_max)
        g_max = fd;
    if (fd >= FLOOR)
        g_above++;
}

static void check_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0 && (fl & FD_CLOEXEC))
        g_cloexec++;
}

static void *loop(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        int a = open("/dev/null", O_RDONLY);
        int b = open("/dev/null", O_RDONLY);
        if (a < 0 || b < 0) {
            perror("fd_open_loop: open");
            return NULL;
        }
        note(a);
        note(b);
        if (a != 3 || b != 4)
            g_other++;
        /* Looked at last thing before closing, so a mark set at any
         * moment they were open is seen. */
        check_cloexec(a);
        check_cloexec(b);
        close(b);
        close(a);
        atomic_fetch_add_explicit(&g_turns, 1, memory_order_release);
        /* Work between opens, as a real program does: the numbers are free
         * about half the time, for anyone else's open (or dup) to take. */
        for (int i = 0; i < 1000; i++)
            g_work = g_work * 31 + (unsigned)i;
    }
    return NULL;
}

__attribute__((constructor)) static void start_loop(void)
{
    g_started = pthread_create(&g_thread, NULL, loop, NULL) == 0;
}

int main(void)
{
    if (!g_started) {
        fprintf(stderr, "fd_open_loop: cannot start the thread\n");
        return 1;
    }
    while (atomic_load_explicit(&g_turns, memory_order_acquire) == 0)
        sched_yield();
    printf("running\n");
    fflush(stdout);
    char buf[256];
    while (read(0, buf, sizeof(buf)) > 0) {
    }
    atomic_store(&g_stop, 1);
    pthread_join(g_thread, NULL);
    printf("turns %lu max %d at-or-above-100 %lu cloexec %lu not-3-4 %lu\n",
           atomic_load(&g_turns), g_max, g_above, g_cloexec, g_other);
    return 0;
}
