/*
 * ini_file.c - inih with line numbers and limits.
 *
 * DESIGN: inih's handler gets no line number in Debian's build, but inih
 * reads one line through our reader and then calls the handler for it, so
 * a reader that counts lines knows the number of the line being handled.
 * The whole file is read into memory first (bounded), which also lets us
 * fstat the descriptor we actually read: a path swapped for a FIFO or a
 * device after a check cannot make us block or read forever.  A symbolic
 * link in the last component is not followed (-ELOOP): the path comes
 * from the environment, and a link planted there must not make the agent
 * parse, and quote in its errors, a file of someone else's.
 *
 * What it won't do: interpret values (callers validate), follow includes.
 */
#include "core/base/ini_file.h"

#include "core/base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct reader {
    const char *text;
    size_t len;
    size_t pos;
    int line;          /* number of the line last handed to inih */
    int long_line;     /* first over-long line, 0 if none */
    cg_ini_entry_fn *fn;
    void *ctx;
    int fn_err;        /* first error returned by fn */
    int fn_err_line;
};

/* fgets-like reader over memory; counts lines. */
static char *read_line(char *buf, int size, void *stream)
{
    struct reader *r = stream;
    if (r->pos >= r->len)
        return NULL;
    const char *start = r->text + r->pos;
    const char *nl = memchr(start, '\n', r->len - r->pos);
    size_t n = nl ? (size_t)(nl - start) + 1 : r->len - r->pos;
    r->pos += n;
    r->line++;
    if (n >= (size_t)size) {
        if (!r->long_line)
            r->long_line = r->line;
        n = (size_t)size - 1;
    }
    memcpy(buf, start, n);
    buf[n] = '\0';
    return buf;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    struct reader *r = user;
    if (r->fn_err)
        return 0;
    int rc = r->fn(section, name, value, r->line, r->ctx);
    if (rc < 0) {
        r->fn_err = rc;
        r->fn_err_line = r->line;
        return 0;
    }
    return 1;
}

int cg_ini_parse_text(const char *text, size_t len, cg_ini_entry_fn *fn, void *ctx,
                      int *error_line)
{
    struct reader r = {.text = text, .len = len, .fn = fn, .ctx = ctx};
    *error_line = 0;
    if (memchr(text, '\0', len)) {
        *error_line = 1;
        return CG_EPARSE;
    }
    int rc = ini_parse_stream(read_line, &r, on_entry, &r);
    if (r.fn_err) {
        *error_line = r.fn_err_line;
        return r.fn_err;
    }
    if (r.long_line) {
        *error_line = r.long_line;
        return CG_EPARSE;
    }
    if (rc != 0) {
        *error_line = rc > 0 ? rc : 0;
        return CG_EPARSE;
    }
    return 0;
}

int cg_ini_parse_file(const char *path, cg_ini_entry_fn *fn, void *ctx, int *error_line)
{
    *error_line = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? CG_ENOTFOUND : -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return CG_EINVAL;
    }
    if (st.st_size > CG_INI_MAX_FILE_BYTES) {
        close(fd);
        return CG_ETOOBIG;
    }
    size_t cap = (size_t)st.st_size + 1;
    char *text = malloc(cap);
    if (!text) {
        close(fd);
        return CG_ENOMEM;
    }
    size_t len = 0;
    for (;;) {
        if (len == cap - 1)
            break; /* the file grew after fstat: read what it had */
        ssize_t n = read(fd, text + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = -errno;
            free(text);
            close(fd);
            return err;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    text[len] = '\0';
    int rc = cg_ini_parse_text(text, len, fn, ctx, error_line);
    free(text);
    return rc;
}
