/*
 * log.c - leveled, line-atomic logging to stderr or a file.
 *
 * DESIGN: the level and the destination fd are atomics, so logging takes
 * no lock; each message is formatted into a stack buffer and written with
 * one write(2).  Lines longer than the buffer are cut and end in "...".
 * It never allocates, so it is safe to call when malloc is failing (it is
 * still not async-signal-safe: vsnprintf is not on the list).
 */
#include "core/base/log.h"

#include "core/base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

static _Atomic int g_level = CG_LOG_WARN;
static _Atomic int g_fd = STDERR_FILENO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int cg_log_level_parse(const char *text, enum cg_log_level *out)
{
    for (int i = 0; i <= CG_LOG_DEBUG; i++) {
        if (strcasecmp(text, level_names[i]) == 0) {
            *out = (enum cg_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(text, "warning") == 0) {
        *out = CG_LOG_WARN;
        return 0;
    }
    return CG_EINVAL;
}

void cg_log_set_level(enum cg_log_level level)
{
    atomic_store(&g_level, (int)level);
}

enum cg_log_level cg_log_get_level(void)
{
    return (enum cg_log_level)atomic_load(&g_level);
}

int cg_log_set_file(const char *path)
{
    int fd = STDERR_FILENO;
    if (path) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0)
            return -errno;
    }
    int old = atomic_exchange(&g_fd, fd);
    if (old != STDERR_FILENO)
        close(old);
    return 0;
}

bool cg_log_enabled(enum cg_log_level level)
{
    return (int)level <= atomic_load(&g_level);
}

void cg_log(enum cg_log_level level, const char *fmt, ...)
{
    if (!cg_log_enabled(level))
        return;
    int saved_errno = errno;
    char line[1024];
    int n = snprintf(line, sizeof(line), "cgagent[%d]: %s: ", (int)getpid(),
                     level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m > 0 ? (size_t)m : 0);
    if (len >= sizeof(line) - 1) {
        len = sizeof(line) - 1;
        line[len - 4] = '.';
        line[len - 3] = '.';
        line[len - 2] = '.';
    }
    line[len++] = '\n';
    ssize_t w = write(atomic_load(&g_fd), line, len);
    (void)w;
    errno = saved_errno;
}
