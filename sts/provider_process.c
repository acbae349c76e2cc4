/*
 * provider_process.c - credential_process: run a helper program and read
 * its JSON from stdout (reference/aws-auth.md §3.3).
 */
#include "sts/provider.h"

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

extern char **environ;

struct process_provider {
    struct cg_provider base;
    char *command;
};

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
    free(word);
    if (argc == 0) {
        free(argv);
        return NULL;
    }
    return argv;
fail:
    for (size_t i = 0; argv && i < argc; i++)
        free(argv[i]);
    free(argv);
    free(word);
    return NULL;
}

static void free_argv(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* environ plus AWS_CODEGURU_PROFILER_ENABLED=false (replacing any value). */
static char **child_environment(void)
{
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **env = calloc(n + 2, sizeof(char *));
    if (!env)
        return NULL;
    size_t k = 0;
    static const char key[] = "AWS_CODEGURU_PROFILER_ENABLED=";
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], key, sizeof(key) - 1) != 0)
            env[k++] = environ[i];
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
    pid_t pid = -1;
    char *obuf = malloc(MAX_STDOUT + 1), ebuf[MAX_STDERR + 1];
    size_t olen = 0, elen = 0;
    posix_spawn_file_actions_t fa;
    bool fa_ok = false;
    if (!env || !obuf) {
        rc = CG_ENOMEM;
        goto out;
    }
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
        snprintf(err, err_size, "%s: pipe: %s", base->description, strerror(errno));
        rc = CG_EIO;
        goto out;
    }
    if (posix_spawn_file_actions_init(&fa) != 0) {
        rc = CG_ENOMEM;
        goto out;
    }
    fa_ok = true;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
    /* The child starts with default signal dispositions and an empty mask,
     * whatever the agent thread blocks. */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int sp = posix_spawnp(&pid, argv[0], &fa, &attr, argv, env);
    posix_spawnattr_destroy(&attr);
    close(out_pipe[1]);
    close(err_pipe[1]);
    out_pipe[1] = err_pipe[1] = -1;
    if (sp != 0) {
        snprintf(err, err_size, "%s: cannot run '%s': %s", base->description, argv[0],
                 strerror(sp));
        pid = -1;
        rc = CG_EIO;
        goto out;
    }
    uint64_t limit = now_ms() + PROCESS_TIMEOUT_MS;
    if (deadline_ms && deadline_ms < limit)
        limit = deadline_ms;
    struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int open_fds = 2;
    bool too_big = false, timed_out = false;
    while (open_fds > 0) {
        uint64_t now = now_ms();
        if (now >= limit) {
            timed_out = true;
            break;
        }
        int n = poll(fds, 2, (int)(limit - now));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char tmp[4096];
            ssize_t got = read(fds[i].fd, tmp, sizeof(tmp));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            if (i == 0) {
                if (olen + (size_t)got > MAX_STDOUT) {
                    too_big = true;
                    fds[i].fd = -1;
                    open_fds--;
                    continue;
                }
                memcpy(obuf + olen, tmp, (size_t)got);
                olen += (size_t)got;
            } else {
                size_t keep = (size_t)got;
                if (elen + keep > MAX_STDERR)
                    keep = MAX_STDERR - elen;
                memcpy(ebuf + elen, tmp, keep);
                elen += keep;
            }
        }
        if (too_big)
            break;
    }
    if (timed_out || too_big)
        kill(pid, SIGKILL);
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    /* ECHILD: the program reaps children itself (or ignores SIGCHLD); we
     * cannot know the exit status, so judge by the output alone. */
    bool exited_ok = w < 0 ? true : (WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pid = -1;
    ebuf[elen] = '\0';
    char *nl = strchr(ebuf, '\n');
    if (nl)
        *nl = '\0';
    if (timed_out) {
        snprintf(err, err_size, "%s: '%s' did not finish within %d s; killed",
                 base->description, argv[0], PROCESS_TIMEOUT_MS / 1000);
        rc = CG_ENET;
    } else if (too_big) {
        snprintf(err, err_size, "%s: '%s' wrote more than %d bytes", base->description, argv[0],
                 MAX_STDOUT);
        rc = CG_ETOOBIG;
    } else if (!exited_ok) {
        if (WIFSIGNALED(status))
            snprintf(err, err_size, "%s: '%s' was killed by signal %d%s%.300s",
                     base->description, argv[0], WTERMSIG(status), elen ? ": " : "", ebuf);
        else
            snprintf(err, err_size, "%s: '%s' exited with status %d%s%.300s",
                     base->description, argv[0], WEXITSTATUS(status), elen ? ": " : "", ebuf);
        rc = CG_EAUTH;
    } else {
        obuf[olen] = '\0';
        char what[300];
        snprintf(what, sizeof(what), "%s: output of '%s'", base->description, argv[0]);
        rc = cg_parse_credentials_json(obuf, olen, "SessionToken", false, what, out, err,
                                       err_size);
        if (rc == 0) {
            /* Version 1 is the only format the SDKs define. */
            if (!strstr(obuf, "\"Version\"")) {
                snprintf(err, err_size, "%s: the JSON has no \"Version\": 1", what);
                cg_credentials_clear(out);
                rc = CG_EPARSE;
            }
        }
    }
out:
    if (obuf) {
        explicit_bzero(obuf, olen);
        free(obuf);
    }
    explicit_bzero(ebuf, sizeof(ebuf));
    for (int i = 0; i < 2; i++) {
        if (out_pipe[i] >= 0)
            close(out_pipe[i]);
        if (err_pipe[i] >= 0)
            close(err_pipe[i]);
    }
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    free(env);
    free_argv(argv);
    return rc;
}

static void process_destroy(struct cg_provider *base)
{
    struct process_provider *p = (struct process_provider *)base;
    free(p->command);
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
        free(p->command);
        free(p);
        return NULL;
    }
    return &p->base;
}
