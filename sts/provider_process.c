/*
 * provider_process.c - credential_process: run a helper program and read
 * its JSON from stdout (reference/aws-auth.md §3.3).
 *
 * DESIGN: one fetch is four stages with one cleanup at the bottom: spawn
 * the helper (no shell, stdin from /dev/null, default signal state, in a
 * process group of its own), read stdout and stderr until both close,
 * reap it, then judge its exit status and parse its JSON.  One deadline,
 * set when the helper starts (30 s, or the caller's deadline if sooner),
 * bounds the reading *and* the reaping: a helper that prints, closes its
 * output and then lingers must not hold the credential cache's lock (and
 * with it every upload) for as long as it likes.  At the deadline the
 * whole process group gets SIGKILL, so what the helper started dies with
 * it, and the helper is reaped so no zombie is left behind.
 *
 * Reaping is a waitpid(WNOHANG) poll with short naps, not SIGCHLD or a
 * blocking waitpid: the host program owns SIGCHLD (it may even reap our
 * child itself, which we then see as ECHILD), and a blocking wait has no
 * timeout.
 *
 * What it won't do: use a shell or expand anything in the command, give
 * the helper a terminal (its own process group is never the foreground
 * one), quote the helper's stdout in a message (it holds the secret; only
 * the first line of stderr is quoted), or kill a process group it did not
 * create (a helper that exits normally may leave a daemon behind).
 */
#include "sts/provider.h"

#include "core/base/environ.h"
#include "core/base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROCESS_TIMEOUT_MS 30000
#define MAX_STDOUT (64 * 1024)
#define MAX_STDERR 4096
/* After SIGKILL a process dies at once unless it sleeps uninterruptibly
 * in the kernel (a hung NFS mount); we do not wait for that forever (the
 * zombie is then left to the host program, or to init). */
#define KILL_REAP_MS 2000


struct process_provider {
    struct cg_provider base;
    char *command;
};

/* The command line is wiped like every other value of the shared files:
 * some helpers take a key or a passphrase as an argument. */
static void wipe_free(char *p, size_t n)
{
    if (p) {
        explicit_bzero(p, n);
        free(p);
    }
}

char **cg_split_command(const char *command)
{
    size_t n = strlen(command);
    char **argv = calloc(n / 2 + 2, sizeof(char *));
    char *word = malloc(n + 1);
    size_t argc = 0;
    if (!argv || !word)
        goto fail;
    const char *p = command;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        size_t w = 0;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
            if (*p == '\'') {
                const char *close = strchr(p + 1, '\'');
                if (!close)
                    goto fail;
                memcpy(word + w, p + 1, (size_t)(close - p - 1));
                w += (size_t)(close - p - 1);
                p = close + 1;
            } else if (*p == '"') {
                p++;
                while (*p && *p != '"') {
                    if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`'))
                        p++;
                    word[w++] = *p++;
                }
                if (*p != '"')
                    goto fail;
                p++;
            } else if (*p == '\\') {
                if (!p[1])
                    goto fail;
                word[w++] = p[1];
                p += 2;
            } else {
                word[w++] = *p++;
            }
        }
        if (!(argv[argc] = strndup(word, w)))
            goto fail;
        argc++;
    }
    wipe_free(word, n + 1);
    if (argc == 0) {
        free(argv);
        return NULL;
    }
    return argv;
fail:
    for (size_t i = 0; argv && i < argc; i++)
        wipe_free(argv[i], strlen(argv[i]));
    free(argv);
    wipe_free(word, n + 1);
    return NULL;
}

static void free_argv(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        wipe_free(argv[i], strlen(argv[i]));
    free(argv);
}

/* environ plus AWS_CODEGURU_PROFILER_ENABLED=false (replacing any value). */
static char **child_environment(void)
{
    size_t n = 0;
    char **parent = cg_environ();
    while (parent && parent[n])
        n++;
    char **env = calloc(n + 2, sizeof(char *));
    if (!env)
        return NULL;
    size_t k = 0;
    static const char key[] = "AWS_CODEGURU_PROFILER_ENABLED=";
    for (size_t i = 0; i < n; i++)
        if (strncmp(parent[i], key, sizeof(key) - 1) != 0)
            env[k++] = parent[i];
    env[k++] = (char *)"AWS_CODEGURU_PROFILER_ENABLED=false";
    env[k] = NULL;
    return env;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Stage 1: starts argv as the leader of a new process group with stdout
 * and stderr on the pipes' write ends.  Returns 0 (and *pid) or the
 * posix_spawn error number. */
static int spawn_helper(char **argv, char **env, int out_w, int err_w, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return ENOMEM;
    if (posix_spawnattr_init(&attr) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return ENOMEM;
    }
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_w, 1);
    posix_spawn_file_actions_adddup2(&fa, err_w, 2);
    /* The child starts with default signal dispositions and an empty mask,
     * whatever the agent thread blocks; in its own process group (pgid =
     * its pid) so that a timeout can kill everything it started. */
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    int rc = posix_spawnp(pid, argv[0], &fa, &attr, argv, env);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/* What the reading stage saw. */
struct helper_output {
    char *out;         /* stdout, MAX_STDOUT + 1 bytes (holds the secret) */
    size_t out_len;
    char err[MAX_STDERR + 1]; /* the start of stderr */
    size_t err_len;
    bool too_big;      /* stdout went over MAX_STDOUT */
    bool timed_out;    /* the pipes were still open at the deadline */
};

/* Stage 2: reads both pipes until they close, stdout overflows or
 * limit_ms passes. */
static void read_output(int out_r, int err_r, uint64_t limit_ms, struct helper_output *o)
{
    struct pollfd fds[2] = {{out_r, POLLIN, 0}, {err_r, POLLIN, 0}};
    int open_fds = 2;
    char tmp[4096]; /* holds the secret too: wiped below */
    while (open_fds > 0 && !o->too_big) {
        uint64_t now = now_ms();
        if (now >= limit_ms) {
            o->timed_out = true;
            break;
        }
        int n = poll(fds, 2, (int)(limit_ms - now));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = read(fds[i].fd, tmp, sizeof(tmp));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            if (i == 0) {
                if (o->out_len + (size_t)got > MAX_STDOUT) {
                    o->too_big = true;
                    break;
                }
                memcpy(o->out + o->out_len, tmp, (size_t)got);
                o->out_len += (size_t)got;
            } else {
                size_t keep = (size_t)got;
                if (o->err_len + keep > MAX_STDERR)
                    keep = MAX_STDERR - o->err_len;
                memcpy(o->err + o->err_len, tmp, keep);
                o->err_len += keep;
            }
        }
    }
    explicit_bzero(tmp, sizeof(tmp));
}

/* Waits for `pid` until limit_ms.  Returns 1 with *status when reaped, 0
 * when it still runs at limit_ms, -1 when it is no longer our child to
 * wait for (ECHILD: the host program reaped it or ignores SIGCHLD). */
static int reap_until(pid_t pid, uint64_t limit_ms, int *status)
{
    long nap_ms = 1;
    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid)
            return 1;
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        uint64_t now = now_ms();
        if (now >= limit_ms)
            return 0;
        /* Naps of 1, 2, 4 ... 50 ms: a helper that has closed its output
         * is normally gone within the first few. */
        long left = (long)(limit_ms - now);
        struct timespec ts = {0, (nap_ms < left ? nap_ms : left) * 1000000L};
        nanosleep(&ts, NULL);
        if (nap_ms < 50)
            nap_ms *= 2;
    }
}

static int process_fetch(struct cg_provider *base, uint64_t deadline_ms,
                         struct cg_credentials *out, char *err, size_t err_size)
{
    struct process_provider *p = (struct process_provider *)base;
    char **argv = cg_split_command(p->command);
    if (!argv) {
        snprintf(err, err_size, "%s: cannot split the command line (unbalanced quotes or empty)",
                 base->description);
        return CG_EINVAL;
    }
    char **env = child_environment();
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    int rc = 0;
    struct helper_output o = {.out = malloc(MAX_STDOUT + 1)};
    if (!env || !o.out) {
        rc = CG_ENOMEM;
        goto out;
    }
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
        snprintf(err, err_size, "%s: pipe: %s", base->description, strerror(errno));
        rc = CG_EIO;
        goto out;
    }

    /* 1. spawn */
    pid_t pid = -1;
    int sp = spawn_helper(argv, env, out_pipe[1], err_pipe[1], &pid);
    close(out_pipe[1]);
    close(err_pipe[1]);
    out_pipe[1] = err_pipe[1] = -1;
    if (sp != 0) {
        snprintf(err, err_size, "%s: cannot run '%s': %s", base->description, argv[0],
                 strerror(sp));
        rc = sp == ENOMEM ? CG_ENOMEM : CG_EIO;
        goto out;
    }
    uint64_t started = now_ms();
    uint64_t limit = started + PROCESS_TIMEOUT_MS;
    if (deadline_ms && deadline_ms < limit)
        limit = deadline_ms;

    /* 2. read, until both pipes close (or the deadline) */
    read_output(out_pipe[0], err_pipe[0], limit, &o);

    /* 3. reap, by the same deadline; past it, kill the process group.
     * The helper is not reaped before the kill, so its pid (the group's
     * id) cannot have been reused by then. */
    int status = 0, reaped = 0;
    bool exited_late = false;
    if (!o.timed_out && !o.too_big) {
        reaped = reap_until(pid, limit, &status);
        exited_late = reaped == 0;
    }
    if (o.timed_out || o.too_big || exited_late) {
        kill(-pid, SIGKILL);
        reaped = reap_until(pid, now_ms() + KILL_REAP_MS, &status);
    }
    /* reaped < 0 (ECHILD): someone else collected the exit status; judge
     * by the output alone. */
    bool exited_ok = reaped < 0 || (reaped > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* 4. judge */
    o.err[o.err_len] = '\0';
    char *nl = strchr(o.err, '\n');
    if (nl)
        *nl = '\0';
    unsigned limit_s = (unsigned)((limit > started ? limit - started + 500 : 0) / 1000);
    if (o.timed_out) {
        snprintf(err, err_size,
                 "%s: '%s' did not finish within %u s (its output stayed open); killed it and "
                 "its process group",
                 base->description, argv[0], limit_s);
        rc = CG_ENET;
    } else if (exited_late) {
        snprintf(err, err_size,
                 "%s: '%s' closed its output but did not exit within %u s; killed it and its "
                 "process group",
                 base->description, argv[0], limit_s);
        rc = CG_ENET;
    } else if (o.too_big) {
        snprintf(err, err_size, "%s: '%s' wrote more than %d bytes", base->description, argv[0],
                 MAX_STDOUT);
        rc = CG_ETOOBIG;
    } else if (!exited_ok) {
        if (reaped > 0 && WIFSIGNALED(status))
            snprintf(err, err_size, "%s: '%s' was killed by signal %d%s%.300s",
                     base->description, argv[0], WTERMSIG(status), o.err_len ? ": " : "", o.err);
        else
            snprintf(err, err_size, "%s: '%s' exited with status %d%s%.300s",
                     base->description, argv[0], WEXITSTATUS(status), o.err_len ? ": " : "",
                     o.err);
        rc = CG_EAUTH;
    } else {
        o.out[o.out_len] = '\0';
        char what[300];
        snprintf(what, sizeof(what), "%s: output of '%s'", base->description, argv[0]);
        rc = cg_parse_credentials_json(o.out, o.out_len, "SessionToken", false, what, out, err,
                                       err_size);
        if (rc == 0) {
            /* Version 1 is the only format the SDKs define. */
            if (!strstr(o.out, "\"Version\"")) {
                snprintf(err, err_size, "%s: the JSON has no \"Version\": 1", what);
                cg_credentials_clear(out);
                rc = CG_EPARSE;
            }
        }
    }
out:
    if (o.out) {
        explicit_bzero(o.out, o.out_len + 1);
        free(o.out);
    }
    explicit_bzero(o.err, sizeof(o.err));
    for (int i = 0; i < 2; i++) {
        if (out_pipe[i] >= 0)
            close(out_pipe[i]);
        if (err_pipe[i] >= 0)
            close(err_pipe[i]);
    }
    free(env);
    free_argv(argv);
    return rc;
}

static void process_destroy(struct cg_provider *base)
{
    struct process_provider *p = (struct process_provider *)base;
    if (p->command)
        wipe_free(p->command, strlen(p->command));
    free(p);
}

static const struct cg_provider_ops process_ops = {process_fetch, process_destroy};

struct cg_provider *cg_provider_process_new(const char *description, const char *command)
{
    struct process_provider *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->base.ops = &process_ops;
    p->base.description = strdup(description);
    p->command = strdup(command);
    if (!p->base.description || !p->command) {
        free(p->base.description);
        process_destroy(&p->base);
        return NULL;
    }
    return &p->base;
}
