/*
 * perfmap.c - /tmp/perf-PID.map reader (see perfmap.h).
 *
 * DESIGN: an array of code objects (start, end, line number, name) sorted
 * by start on demand, searched by bisection; names interned in a pool the
 * map owns.  The file is read incrementally from the last offset; an
 * unfinished last line waits in `partial` for the rest.  When the table
 * or the names reach their bound, compact(): entries that a newer line
 * overlaps are dead code and go first, then the oldest lines, down to
 * half the table, and the name pool is rebuilt from the survivors.  Two
 * live code objects never overlap, so a lookup takes the newest line
 * covering the PC among the last few that start before it.
 *
 * What it won't do: follow symlinks, trust files of other users, wait for
 * a writer, or keep more than its bounds.
 */
#include "core/symbols/perfmap.h"

#include "core/base/strpool.h"

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
#define DEFAULT_MAX_ENTRIES 131072
#define DEFAULT_MAX_NAME_BYTES (4u << 20)
#define MAX_BACKLOG_BYTES (32 << 20) /* of a larger unread part, only the end */
#define RECHECK_NS 100000000ull
#define OVERLAP_WINDOW 64 /* entries looked at around a PC or a line */

struct jit_entry {
    uint64_t start, end;
    uint64_t seq;      /* line order: later wins */
    const char *name;  /* in m->names; NULL marks a dead entry in compact() */
};

struct cg_perfmap {
    char path[PATH_MAX];
    struct cg_strpool *names;    /* NULL only after a reset that ran out of memory */
    struct jit_entry *e;
    size_t n, cap;
    size_t max_entries, max_name_bytes;
    uint64_t (*clock_ns)(void);
    uint64_t seq;                /* the next line's number */
    off_t offset;                /* bytes consumed */
    dev_t dev;                   /* the file read so far, to notice a new one */
    ino_t ino;
    bool have_file;
    char partial[MAX_LINE + 1];  /* an unfinished last line */
    size_t partial_len;
    bool skipping;               /* inside an over-long or cut line */
    uint64_t last_check_ns;
    bool checked;                /* last_check_ns is set */
    bool sorted;                 /* e[] is in cmp_entry order */
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct cg_perfmap *cg_perfmap_new(pid_t pid, const struct cg_perfmap_options *opts)
{
    struct cg_perfmap *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    if (opts && opts->path)
        snprintf(m->path, sizeof(m->path), "%s", opts->path);
    else
        snprintf(m->path, sizeof(m->path), "/tmp/perf-%d.map", (int)pid);
    m->max_entries = opts && opts->max_entries ? opts->max_entries : DEFAULT_MAX_ENTRIES;
    if (m->max_entries < 2)
        m->max_entries = 2;
    m->max_name_bytes = opts && opts->max_name_bytes ? opts->max_name_bytes
                                                     : DEFAULT_MAX_NAME_BYTES;
    m->clock_ns = opts && opts->clock_ns ? opts->clock_ns : mono_ns;
    m->sorted = true;
    m->names = cg_strpool_new();
    if (!m->names) {
        free(m);
        return NULL;
    }
    return m;
}

void cg_perfmap_free(struct cg_perfmap *m)
{
    if (!m)
        return;
    free(m->e);
    cg_strpool_free(m->names);
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

size_t cg_perfmap_bytes(const struct cg_perfmap *m)
{
    return sizeof(*m) + m->cap * sizeof(*m->e) + (m->names ? cg_strpool_bytes(m->names) : 0);
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

static int cmp_entry(const void *a, const void *b)
{
    const struct jit_entry *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void sort_entries(struct cg_perfmap *m)
{
    if (!m->sorted) {
        qsort(m->e, m->n, sizeof(*m->e), cmp_entry);
        m->sorted = true;
    }
}

/* Drops the entries marked dead (name NULL), keeping the order. */
static void sweep(struct cg_perfmap *m)
{
    size_t o = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].name)
            m->e[o++] = m->e[i];
    m->n = o;
}

/* Keeps the `keep` newest entries. */
static void keep_newest(struct cg_perfmap *m, size_t keep)
{
    if (m->n <= keep)
        return;
    if (keep == 0) {
        m->n = 0;
        return;
    }
    uint64_t *seqs = malloc(m->n * sizeof(*seqs));
    if (!seqs) {
        m->n = 0; /* cannot choose: start again from the next lines */
        return;
    }
    for (size_t i = 0; i < m->n; i++)
        seqs[i] = m->e[i].seq;
    qsort(seqs, m->n, sizeof(*seqs), cmp_u64);
    uint64_t cut = seqs[m->n - keep]; /* sequence numbers are unique */
    free(seqs);
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].seq < cut)
            m->e[i].name = NULL;
    sweep(m);
}

/* Copies the survivors' names into a new pool; false when out of memory
 * (then the table is emptied). */
static bool rebuild_names(struct cg_perfmap *m)
{
    struct cg_strpool *fresh = cg_strpool_new();
    if (!fresh) {
        m->n = 0;
        return false;
    }
    for (size_t i = 0; i < m->n; i++)
        m->e[i].name = cg_strpool_intern(fresh, m->e[i].name);
    sweep(m); /* names that could not be copied */
    cg_strpool_free(m->names);
    m->names = fresh;
    return true;
}

/* Makes room: see DESIGN. */
static void compact(struct cg_perfmap *m)
{
    sort_entries(m);
    /* Overlapping code objects: the older one was freed (its memory holds
     * the newer one).  Sorted by start, overlaps are near each other. */
    for (size_t i = 0; i < m->n; i++) {
        for (size_t j = i + 1; j < m->n && j <= i + OVERLAP_WINDOW; j++) {
            if (m->e[j].start >= m->e[i].end)
                break;
            if (m->e[j].seq > m->e[i].seq)
                m->e[i].name = NULL;
            else
                m->e[j].name = NULL;
        }
    }
    sweep(m);
    keep_newest(m, m->max_entries / 2);
    while (rebuild_names(m) && m->n && cg_strpool_bytes(m->names) > m->max_name_bytes / 2)
        keep_newest(m, m->n / 2);
}

static void add_line(struct cg_perfmap *m, const char *line, size_t len)
{
    uint64_t start, size;
    const char *name;
    size_t nlen;
    if (cg_perfmap_parse_line(line, len, &start, &size, &name, &nlen) != 0)
        return;
    if (!m->names && !(m->names = cg_strpool_new()))
        return; /* a reset ran out of memory */
    if (m->n >= m->max_entries || cg_strpool_bytes(m->names) >= m->max_name_bytes)
        compact(m);
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        if (cap > m->max_entries)
            cap = m->max_entries;
        struct jit_entry *e = realloc(m->e, cap * sizeof(*e));
        if (!e)
            return;
        m->e = e;
        m->cap = cap;
    }
    char buf[MAX_LINE + 1];
    memcpy(buf, name, nlen);
    buf[nlen] = '\0';
    const char *interned = cg_strpool_intern(m->names, buf);
    if (!interned)
        return;
    m->e[m->n++] = (struct jit_entry){start, start + size, m->seq++, interned};
    m->sorted = false;
}

/* Forgets everything read: the file was replaced or truncated. */
static void reset(struct cg_perfmap *m)
{
    m->n = 0;
    m->offset = 0;
    m->partial_len = 0;
    m->skipping = false;
    m->sorted = true;
    cg_strpool_free(m->names);
    m->names = cg_strpool_new();
}

/* Splits new bytes into lines; a line's start may have come earlier. */
static void consume(struct cg_perfmap *m, const char *p, const char *end)
{
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

/* Reads what was appended since the last read. */
static void read_more(struct cg_perfmap *m)
{
    int fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0)
        return;
    struct stat st;
    /* /tmp is shared: only a regular file of our own user is believed. */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        close(fd);
        return;
    }
    if (m->have_file && (st.st_dev != m->dev || st.st_ino != m->ino || st.st_size < m->offset))
        reset(m);
    m->have_file = true;
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    if (st.st_size <= m->offset) {
        close(fd);
        return;
    }
    if (st.st_size - m->offset > MAX_BACKLOG_BYTES) {
        /* The newest lines matter most; start in the middle of a line. */
        m->offset = st.st_size - MAX_BACKLOG_BYTES;
        m->partial_len = 0;
        m->skipping = true;
    }
    if (lseek(fd, m->offset, SEEK_SET) < 0) {
        close(fd);
        return;
    }
    char buf[65536];
    /* What the writer adds meanwhile waits for the next read. */
    off_t left = st.st_size - m->offset;
    while (left > 0) {
        ssize_t got = read(fd, buf, left < (off_t)sizeof(buf) ? (size_t)left : sizeof(buf));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        m->offset += got;
        left -= got;
        consume(m, buf, buf + got);
    }
    close(fd);
}

static const char *search(struct cg_perfmap *m, uint64_t pc)
{
    sort_entries(m);
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
    for (size_t i = lo, steps = 0; i > 0 && steps < OVERLAP_WINDOW; i--, steps++) {
        const struct jit_entry *e = &m->e[i - 1];
        if (pc < e->end && (!best || e->seq > best->seq))
            best = e;
    }
    return best ? best->name : NULL;
}

const char *cg_perfmap_lookup(struct cg_perfmap *m, uint64_t pc)
{
    uint64_t now = m->clock_ns();
    if (!m->checked || now - m->last_check_ns >= RECHECK_NS) {
        m->checked = true;
        m->last_check_ns = now;
        read_more(m);
    }
    return m->n ? search(m, pc) : NULL;
}
