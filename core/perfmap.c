/*
 * perfmap.c - /tmp/perf-PID.map reader (see perfmap.h).
 */
#include "core/perfmap.h"

#include "core/error.h"
#include "core/strpool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE 4096
#define MAX_ENTRIES 1000000
#define RECHECK_NS 100000000ull

struct jit_entry {
    uint64_t start, end;
    uint64_t seq;      /* line order: later wins */
    const char *name;
};

struct cg_perfmap {
    char path[PATH_MAX];
    struct cg_strpool *strs;
    struct jit_entry *e;
    size_t n, cap;
    uint64_t seq;
    off_t offset;        /* bytes consumed */
    char partial[MAX_LINE + 1]; /* an unfinished last line */
    size_t partial_len;
    bool skipping;       /* inside an over-long line */
    uint64_t last_check_ns;
    bool sorted;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct cg_perfmap *cg_perfmap_new(pid_t pid, const char *path, struct cg_strpool *strs)
{
    struct cg_perfmap *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    if (path)
        snprintf(m->path, sizeof(m->path), "%s", path);
    else
        snprintf(m->path, sizeof(m->path), "/tmp/perf-%d.map", (int)pid);
    m->strs = strs;
    m->sorted = true;
    return m;
}

void cg_perfmap_free(struct cg_perfmap *m)
{
    if (!m)
        return;
    free(m->e);
    free(m);
}

const char *cg_perfmap_path(const struct cg_perfmap *m)
{
    return m->path;
}

size_t cg_perfmap_entries(const struct cg_perfmap *m)
{
    return m->n;
}

static int hex(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    uint64_t v = 0;
    int digits = 0;
    for (; s < end; s++, digits++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            break;
        if (digits >= 16)
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    if (digits == 0)
        return -1;
    *p = s;
    *out = v;
    return 0;
}

int cg_perfmap_parse_line(const char *line, size_t len, uint64_t *start, uint64_t *size,
                          const char **name, size_t *name_len)
{
    const char *p = line, *end = line + len;
    while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    if (hex(&p, end, start) != 0 || p >= end || (*p != ' ' && *p != '\t'))
        return -1;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (hex(&p, end, size) != 0 || p >= end || (*p != ' ' && *p != '\t'))
        return -1;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (p == end || *size == 0 || *start + *size < *start)
        return -1;
    *name = p;
    *name_len = (size_t)(end - p);
    return 0;
}

static void add_line(struct cg_perfmap *m, const char *line, size_t len)
{
    uint64_t start, size;
    const char *name;
    size_t nlen;
    if (cg_perfmap_parse_line(line, len, &start, &size, &name, &nlen) != 0)
        return;
    char buf[MAX_LINE + 1];
    memcpy(buf, name, nlen);
    buf[nlen] = '\0';
    const char *interned = cg_strpool_intern(m->strs, buf);
    if (!interned)
        return;
    if (m->n == m->cap) {
        if (m->cap >= MAX_ENTRIES) {
            /* Keep the newest: drop the oldest half (by line order). */
            size_t o = 0;
            uint64_t cut = m->seq - MAX_ENTRIES / 2;
            for (size_t i = 0; i < m->n; i++)
                if (m->e[i].seq >= cut)
                    m->e[o++] = m->e[i];
            m->n = o;
        } else {
            size_t cap = m->cap ? m->cap * 2 : 1024;
            if (cap > MAX_ENTRIES)
                cap = MAX_ENTRIES;
            struct jit_entry *e = realloc(m->e, cap * sizeof(*e));
            if (!e)
                return;
            m->e = e;
            m->cap = cap;
        }
    }
    m->e[m->n++] = (struct jit_entry){start, start + size, m->seq++, interned};
    m->sorted = false;
}

/* Reads what was appended since the last read. */
static void read_more(struct cg_perfmap *m)
{
    int fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return;
    struct stat st;
    /* /tmp is shared: only a regular file of our own user is believed. */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        st.st_size <= m->offset) {
        if (S_ISREG(st.st_mode) && st.st_size < m->offset) {
            m->offset = 0; /* replaced by a new file: start over */
            m->n = 0;
            m->partial_len = 0;
        }
        close(fd);
        return;
    }
    if (lseek(fd, m->offset, SEEK_SET) < 0) {
        close(fd);
        return;
    }
    char buf[65536];
    ssize_t got;
    while ((got = read(fd, buf, sizeof(buf))) > 0) {
        m->offset += got;
        const char *p = buf, *end = buf + got;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t chunk = (size_t)((nl ? nl : end) - p);
            if (!m->skipping) {
                if (m->partial_len + chunk > MAX_LINE) {
                    m->skipping = true; /* over-long line: skip to its end */
                    m->partial_len = 0;
                } else {
                    memcpy(m->partial + m->partial_len, p, chunk);
                    m->partial_len += chunk;
                }
            }
            if (!nl)
                break;
            if (!m->skipping)
                add_line(m, m->partial, m->partial_len);
            m->partial_len = 0;
            m->skipping = false;
            p = nl + 1;
        }
    }
    close(fd);
}

static int cmp_entry(const void *a, const void *b)
{
    const struct jit_entry *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const char *search(struct cg_perfmap *m, uint64_t pc)
{
    if (!m->sorted) {
        qsort(m->e, m->n, sizeof(*m->e), cmp_entry);
        m->sorted = true;
    }
    /* The last entry starting at or before pc; among several covering pc
     * (a region reused for newer code), the newest line wins. */
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->e[mid].start <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    const struct jit_entry *best = NULL;
    for (size_t i = lo, steps = 0; i > 0 && steps < 64; i--, steps++) {
        const struct jit_entry *e = &m->e[i - 1];
        if (pc < e->end && (!best || e->seq > best->seq))
            best = e;
    }
    return best ? best->name : NULL;
}

const char *cg_perfmap_lookup(struct cg_perfmap *m, uint64_t pc)
{
    const char *name = m->n ? search(m, pc) : NULL;
    if (name)
        return name;
    uint64_t now = mono_ns();
    if (now - m->last_check_ns < RECHECK_NS && m->last_check_ns)
        return NULL;
    m->last_check_ns = now;
    size_t before = m->n;
    read_more(m);
    return m->n != before || !m->sorted ? search(m, pc) : NULL;
}
