/*
 * fd_probe.c - what descriptor numbers a program gets, after the agent has
 * had time to sample it (tests/e2e/test_descriptors.py).
 *
 * usage: fd_probe [-c CPU_S] [-s SLEEP_S] [-r ROUNDS] [-p] [-w PATH] [-x]
 *                 [-o OUT]
 *
 *   1. burns CPU_S (default 0.5) of this thread's CPU time, so CPU samples
 *      are taken (the first one, in the SIGPROF handler, is where
 *      libunwind used to make its pipe);
 *   2. sleeps SLEEP_S (default 1.3) in nanosleep, so at least one
 *      wall-clock tick unwinds it blocked (libunwind's generic unwinder,
 *      on the agent thread);
 *   3. ROUNDS times (default 3), 0.35 s apart: open("/dev/null"), printed
 *      as "round K first-open N" (N is 0 when the program was started
 *      with fd 0 closed), then its descriptors, "round K fd N TARGET"
 *      (the listing's own left out), then that fd closed again.  With -p,
 *      each round then makes a pipe of its own: "round K pipe2 R W";
 *   4. with -w, opens /dev/null and then PATH for writing ("write-open N":
 *      2 when started with 0 and 2 closed; else both are closed and it
 *      tries again 0.35 s later, three times at most), writes one line to
 *      it, and burns and sleeps again, so the agent logs (at exit) while
 *      PATH is open: nothing but that line may be in PATH afterwards;
 *   5. with -x, runs itself again (-c 0 -s 0 -r 1 -o OUT.child) with an
 *      empty environment (no agent), so OUT.child lists the descriptors a
 *      child inherits across exec.
 *
 * Rounds at different moments let a test tell a descriptor of the agent's
 * that stays from one it holds for a few microseconds (a /proc read).
 * Output goes to stdout, or with -o to OUT, opened last, so a program
 * started with 0, 1 and 2 closed can report too.  Exit status 0.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char out[1 << 16];
static size_t out_len;
static volatile double sink;

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + out_len, sizeof(out) - out_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        out_len += (size_t)n < sizeof(out) - out_len ? (size_t)n : sizeof(out) - out_len - 1;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void __attribute__((noinline)) burn(double seconds)
{
    double until = thread_cpu_s() + seconds;
    while (thread_cpu_s() < until)
        for (int i = 0; i < 100000; i++)
            sink += i * 0.5;
}

static void __attribute__((noinline)) nap(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void list_fds(int round)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        say("round %d cannot list /proc/self/fd\n", round);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
            continue;
        char path[300], target[256];
        snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = '\0';
        say("round %d fd %s %s\n", round, e->d_name, target);
    }
    closedir(d);
}

static void run_child(const char *out_path)
{
    char child_out[4096];
    snprintf(child_out, sizeof(child_out), "%s.child", out_path ? out_path : "fd_probe.out");
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {"fd_probe", "-c", "0", "-s", "0", "-r", "1", "-o", child_out, NULL};
        char *envp[] = {NULL};
        execve("/proc/self/exe", argv, envp);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
        say("child failed\n");
}

int main(int argc, char **argv)
{
    double cpu_s = 0.5, sleep_s = 1.3;
    int rounds = 3, own_pipe = 0, child = 0;
    const char *write_path = NULL, *out_path = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "c:s:r:pw:xo:")) != -1) {
        switch (opt) {
        case 'c': cpu_s = atof(optarg); break;
        case 's': sleep_s = atof(optarg); break;
        case 'r': rounds = atoi(optarg); break;
        case 'p': own_pipe = 1; break;
        case 'w': write_path = optarg; break;
        case 'x': child = 1; break;
        case 'o': out_path = optarg; break;
        default: return 2;
        }
    }
    burn(cpu_s);
    nap(sleep_s);
    for (int r = 0; r < rounds; r++) {
        if (r > 0)
            nap(0.35);
        int fd = open("/dev/null", O_RDONLY);
        say("round %d first-open %d\n", r, fd);
        list_fds(r);
        close(fd);
        if (own_pipe) {
            int p[2] = {-1, -1};
            if (pipe2(p, O_CLOEXEC) == 0)
                say("round %d pipe2 %d %d\n", r, p[0], p[1]);
            close(p[0]);
            close(p[1]);
        }
    }
    if (write_path) {
        int fd = -1;
        for (int attempt = 0; attempt < 3 && fd != 2; attempt++) {
            if (attempt > 0)
                nap(0.35);
            int null_fd = open("/dev/null", O_RDONLY);
            fd = open(write_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            say("write-open %d\n", fd);
            if (fd != 2) {
                close(fd);
                close(null_fd);
            } /* else both stay open until exit, when the agent logs */
        }
        static const char line[] = "fd_probe's own line\n";
        if (fd < 0 || write(fd, line, sizeof(line) - 1) < 0)
            say("write failed\n");
        burn(cpu_s);
        nap(sleep_s);
    }
    if (child)
        run_child(out_path);
    int fd = out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600) : 1;
    if (fd < 0 || write(fd, out, out_len) != (ssize_t)out_len)
        return 1;
    return 0;
}
