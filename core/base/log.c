/*
 * log.c - leveled, line-atomic logging to stderr or a file.
 *
 * DESIGN: the level and the destination fd are atomics, so logging takes
 * no lock; each message is formatted into a stack buffer and written with
 * one write(2).  Lines longer than the buffer are cut and end in "...".
 * It never allocates, so it is safe to call when malloc is failing (it is
 * still not async-signal-safe: vsnprintf is not on the list).
 *
 * Messages quote values from the environment, config files and the
 * network, so every byte below 0x20 and DEL is escaped (\n, \r, \t,
 * else \xNN) after formatting: a value can never start a line of its own
 * or send escape sequences to a terminal.  Other bytes (UTF-8) pass.
 *
 * The log file is opened without following a symbolic link in its last
 * component (O_NOFOLLOW), close-on-exec, and must be a regular file: its
 * name comes from the environment or a config file, and a link planted
 * where a privileged program logs would otherwise point its writes
 * anywhere.  It is moved to the descriptor floor (core/base/fd_floor.h):
 * the program keeps the low numbers.
 *
 * Stderr is fd 2 by number.  When the program was started with fd 2
 * closed, a later open() of its own gets 2, and lines written "to stderr"
 * would land in that file; cg_log_note_stderr_state, called by the
 * constructor, notices and stderr lines are dropped from then on.
 */
#include "core/base/log.h"

#include "core/base/error.h"
#include "core/base/fd_floor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static _Atomic int g_level = CG_LOG_WARN;
static _Atomic int g_fd = STDERR_FILENO;
/* fd 2 was closed when the agent started: it is not stderr, ever. */
static _Atomic bool g_stderr_closed;

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

void cg_log_note_stderr_state(void)
{
    int saved_errno = errno;
    if (fcntl(STDERR_FILENO, F_GETFD) < 0 && errno == EBADF)
        atomic_store(&g_stderr_closed, true);
    errno = saved_errno;
}

int cg_log_set_file(const char *path)
{
    int fd = STDERR_FILENO;
    if (path) {
        /* O_NONBLOCK: opening a FIFO must not wait for a reader. */
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
                            O_NONBLOCK,
                  0600);
        if (fd < 0)
            return -errno;
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            close(fd);
            return CG_EINVAL;
        }
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
            fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        fd = cg_fd_raise(fd);
    }
    int old = atomic_exchange(&g_fd, fd);
    if (old != STDERR_FILENO)
        close(old);
    return 0;
}

const char *cg_log_file_problem(int rc)
{
    if (rc == -ELOOP)
        return "it is a symbolic link (not followed: name the file itself)";
    if (rc == CG_EINVAL)
        return "not a regular file";
    return cg_strerror(rc);
}

bool cg_log_enabled(enum cg_log_level level)
{
    if (atomic_load(&g_fd) == STDERR_FILENO && atomic_load(&g_stderr_closed))
        return false;
    return (int)level <= atomic_load(&g_level);
}

/* Copies src[0..n) to dst with control bytes escaped; stops before a byte
 * whose escape would not fit in cap.  Returns the bytes written; *used is
 * how much of src was consumed. */
static size_t escape(char *dst, size_t cap, const char *src, size_t n, size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i = 0;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        char esc = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : 0;
        size_t need = (c >= 0x20 && c != 0x7f) ? 1 : esc ? 2 : 4;
        if (o + need > cap)
            break;
        if (need == 1) {
            dst[o++] = (char)c;
        } else {
            dst[o++] = '\\';
            if (esc) {
                dst[o++] = esc;
            } else {
                dst[o++] = 'x';
                dst[o++] = hex[c >> 4];
                dst[o++] = hex[c & 15];
            }
        }
    }
    *used = i;
    return o;
}

void cg_log(enum cg_log_level level, const char *fmt, ...)
{
    if (!cg_log_enabled(level))
        return;
    int saved_errno = errno;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t msg_len = m < 0 ? 0 : (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1;
    bool cut = m >= (int)sizeof(msg);

    char line[1024];
    int n = snprintf(line, sizeof(line), "cgagent[%d]: %s: ", (int)getpid(),
                     level_names[level]);
    size_t len = (size_t)n;
    /* Room for "...\n" after the message. */
    size_t used = 0;
    len += escape(line + len, sizeof(line) - 4 - len, msg, msg_len, &used);
    if (cut || used < msg_len) {
        memcpy(line + len, "...", 3);
        len += 3;
    }
    line[len++] = '\n';
    ssize_t w = write(atomic_load(&g_fd), line, len);
    (void)w;
    errno = saved_errno;
}
