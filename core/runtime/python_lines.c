/*
 * python_lines.c - CPython line tables (3.8 .. 3.13) decoded into source
 * lines; see python_lines.h for the three formats.
 *
 * DESIGN: each format is read as one sequence of address ranges
 * [start, end) in bytes, each with a line or none, walked front to back
 * by one cursor (struct walk) whose step function knows the format.
 * Both entry points are loops over that sequence: the line of an offset
 * is the line of the first range whose end lies past it (as CPython's
 * _PyCode_CheckLineNumber walks forwards), and the line range is the
 * minimum and maximum over the ranges that are not empty.  The 3.8/3.9
 * table ends with an open range (every offset has a line there); the
 * later ones do not.  Every read is checked against the table's end, the
 * running line is kept in 64 bits and refused outside int, and offsets
 * are 64-bit sums of at most 255 bytes per table byte, so no input can
 * overflow or read out of bounds.
 */
#include "core/runtime/python_lines.h"

#include <limits.h>

/* A 3.10 line delta of this value marks a range without a line. */
#define NO_LINE_310 (-128)
/* 3.11+ entry codes (bits 3-6 of an entry's first byte). */
#define LOC_ONE_LINE0 10
#define LOC_ONE_LINE2 12
#define LOC_NO_COLUMNS 13
#define LOC_LONG 14
#define LOC_NONE 15

enum step { STEP_RANGE, STEP_END, STEP_BAD };

struct walk {
    const unsigned char *p, *end;
    int64_t line;   /* the format's running line */
    uint64_t addr;  /* where the next range starts, in bytes */
    bool done;      /* 3.8/3.9: the open last range has been given */
    /* the range just stepped over: [start, stop) with line range_line,
       or no line when !has_line; stop UINT64_MAX is open-ended */
    uint64_t start, stop;
    int64_t range_line;
    bool has_line;
};

static bool line_ok(int64_t line)
{
    return line >= INT_MIN && line <= INT_MAX;
}

/* 3.8/3.9: the running line covers [addr, addr + increment), then the
 * pair's line increment applies; after the last pair it covers the rest. */
static enum step step_lnotab(struct walk *w)
{
    if (w->done)
        return STEP_END;
    w->start = w->addr;
    w->range_line = w->line;
    w->has_line = true;
    if (w->p == w->end) {
        w->stop = UINT64_MAX;
        w->done = true;
        return STEP_RANGE;
    }
    if (w->end - w->p < 2)
        return STEP_BAD; /* half a pair */
    w->stop = w->addr + w->p[0];
    w->addr = w->stop;
    w->line += (int8_t)w->p[1];
    w->p += 2;
    return line_ok(w->line) ? STEP_RANGE : STEP_BAD;
}

/* 3.10: each pair is a range of its own, its line the running line after
 * the delta, or none (the running line unchanged) for a delta of -128. */
static enum step step_310(struct walk *w)
{
    if (w->p == w->end)
        return STEP_END;
    if (w->end - w->p < 2)
        return STEP_BAD;
    int delta = (int8_t)w->p[1];
    w->start = w->addr;
    w->stop = w->addr + w->p[0];
    w->addr = w->stop;
    w->p += 2;
    w->has_line = delta != NO_LINE_310;
    if (w->has_line)
        w->line += delta;
    w->range_line = w->line;
    return line_ok(w->line) ? STEP_RANGE : STEP_BAD;
}

/* A signed varint of a 3.11+ entry: 6-bit groups, least significant
 * first, bit 6 "more follows", bit 7 clear; then the low bit is the sign.
 * At most 36 bits. */
static bool read_svarint(const unsigned char **pp, const unsigned char *end, int64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 6) {
        if (*pp == end || shift > 30 || (**pp & 0x80))
            return false;
        unsigned b = *(*pp)++;
        v |= (uint64_t)(b & 63) << shift;
        if (!(b & 64))
            break;
    }
    *out = (v & 1) ? -(int64_t)(v >> 1) : (int64_t)(v >> 1);
    return true;
}

/* 3.11+: an entry's first byte is 1cccclll (code c, l + 1 code units);
 * the bytes after it, up to the next with bit 7 set, carry its columns
 * and, for the long and no-column forms, the line delta first. */
static enum step step_locations(struct walk *w)
{
    if (w->p == w->end)
        return STEP_END;
    unsigned first = *w->p++;
    if (!(first & 0x80))
        return STEP_BAD;
    unsigned code = (first >> 3) & 15;
    int64_t delta = 0;
    if (code == LOC_NO_COLUMNS || code == LOC_LONG) {
        const unsigned char *q = w->p;
        if (!read_svarint(&q, w->end, &delta))
            return STEP_BAD;
    } else if (code >= LOC_ONE_LINE0 && code <= LOC_ONE_LINE2) {
        delta = (int64_t)code - LOC_ONE_LINE0;
    }
    while (w->p != w->end && !(*w->p & 0x80))
        w->p++;
    w->start = w->addr;
    w->stop = w->addr + 2 * ((first & 7) + 1);
    w->addr = w->stop;
    w->line += delta;
    w->range_line = w->line;
    w->has_line = code != LOC_NONE;
    return line_ok(w->line) ? STEP_RANGE : STEP_BAD;
}

static enum step step(enum cg_py_linetable kind, struct walk *w)
{
    switch (kind) {
    case CG_PY_LNOTAB:
        return step_lnotab(w);
    case CG_PY_LINETABLE_310:
        return step_310(w);
    case CG_PY_LOCATIONS:
        return step_locations(w);
    }
    return STEP_BAD;
}

static bool walk_init(struct walk *w, enum cg_py_linetable kind, const unsigned char *table,
                      size_t len, int firstlineno)
{
    if (kind != CG_PY_LNOTAB && kind != CG_PY_LINETABLE_310 && kind != CG_PY_LOCATIONS)
        return false;
    if (!table && len)
        return false;
    w->p = table;
    w->end = table ? table + len : table;
    w->line = firstlineno;
    w->addr = 0;
    w->done = false;
    w->start = w->stop = 0;
    w->range_line = 0;
    w->has_line = false;
    return true;
}

int cg_py_line_for_offset(enum cg_py_linetable kind, const unsigned char *table, size_t len,
                          int firstlineno, uint32_t byte_offset)
{
    struct walk w;
    if (!walk_init(&w, kind, table, len, firstlineno))
        return 0;
    for (;;) {
        if (step(kind, &w) != STEP_RANGE)
            return 0;
        if (w.stop > byte_offset) /* ranges start at 0 and follow on */
            return w.has_line && w.range_line > 0 ? (int)w.range_line : 0;
    }
}

bool cg_py_line_range(enum cg_py_linetable kind, const unsigned char *table, size_t len,
                      int firstlineno, int *min, int *max)
{
    struct walk w;
    if (!walk_init(&w, kind, table, len, firstlineno))
        return false;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    enum step s;
    while ((s = step(kind, &w)) == STEP_RANGE) {
        if (w.stop == w.start || !w.has_line || w.range_line < 1)
            continue;
        if (w.range_line < lo)
            lo = w.range_line;
        if (w.range_line > hi)
            hi = w.range_line;
    }
    if (s == STEP_BAD || lo > hi)
        return false;
    *min = (int)lo;
    *max = (int)hi;
    return true;
}
