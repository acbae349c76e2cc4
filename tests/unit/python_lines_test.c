/*
 * python_lines_test.c - CPython line tables decoded into source lines,
 * against ground truth written by the real interpreters 3.8 .. 3.13
 * (tests/data/python_lines/X.Y.txt, made by make.py beside them and
 * checked there against each interpreter's own PyCode_Addr2Line): the
 * line of every code unit (and of the odd byte inside it), the offset
 * just past the bytecode, each code object's line range; then truncated,
 * corrupted and random tables, which must give 0 or a line they own,
 * never a read past their end (each is copied into a buffer of exactly
 * its length, so ASan sees any overread).
 */
#include "core/runtime/python_lines.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#ifndef CG_TEST_DATA_DIR
#error "CG_TEST_DATA_DIR (the repository's tests/data) must be defined"
#endif

#define NONE INT_MIN /* "-" in the data: no line */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A copy of the first len bytes in a buffer of exactly that size (NULL
 * when len is 0), so that ASan catches a read past the end. */
static unsigned char *exact_copy(const unsigned char *src, size_t len)
{
    if (!len)
        return NULL;
    unsigned char *b = malloc(len);
    assert_non_null(b);
    memcpy(b, src, len);
    return b;
}

/* Whatever the table, a line from line_for_offset lies inside the range
 * line_range gives, when it gives one. */
static void check_consistent(enum cg_py_linetable kind, const unsigned char *t, size_t len,
                             int first, const uint32_t *offs, size_t n)
{
    int lo = 0, hi = 0;
    bool have = cg_py_line_range(kind, t, len, first, &lo, &hi);
    if (have)
        assert_true(1 <= lo && lo <= hi);
    for (size_t i = 0; i < n; i++) {
        int line = cg_py_line_for_offset(kind, t, len, first, offs[i]);
        assert_true(line >= 0);
        if (have && line)
            assert_true(lo <= line && line <= hi);
    }
}

struct code {
    int first;
    size_t code_len; /* bytes */
    char name[256];
    unsigned char *table;
    size_t len;
    int *want; /* per code unit; NONE for no line */
    size_t n;
};

static int want_line(int raw)
{
    return raw == NONE || raw < 1 ? 0 : raw;
}

static void parse_table(const char *hex, struct code *c)
{
    size_t h = strlen(hex);
    while (h && (hex[h - 1] == '\n' || hex[h - 1] == ' '))
        h--;
    assert_int_equal(h % 2, 0);
    c->len = h / 2;
    c->table = malloc(c->len ? c->len : 1);
    assert_non_null(c->table);
    for (size_t i = 0; i < c->len; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        c->table[i] = (unsigned char)v;
    }
}

static void parse_lines(char *runs, struct code *c)
{
    c->n = c->code_len / 2;
    c->want = malloc((c->n ? c->n : 1) * sizeof(int));
    assert_non_null(c->want);
    size_t at = 0;
    for (char *tok = strtok(runs, " \n"); tok; tok = strtok(NULL, " \n")) {
        int v = NONE;
        if (tok[0] != '-')
            v = atoi(tok);
        char *star = strchr(tok, '*');
        size_t count = star ? (size_t)strtoul(star + 1, NULL, 10) : 1;
        assert_true(at + count <= c->n);
        for (size_t i = 0; i < count; i++)
            c->want[at++] = v;
    }
    assert_int_equal(at, c->n);
}

/* Prefixes of the table: every length for short tables, 40 spread over
 * the rest; offsets spread likewise. */
static void check_truncated(enum cg_py_linetable kind, const struct code *c)
{
    size_t steps = c->len <= 64 ? c->len : 40;
    size_t ostride = c->n / 48 + 1;
    for (size_t s = 0; s < steps; s++) {
        size_t k = steps == c->len ? s : s * c->len / steps;
        unsigned char *t = exact_copy(c->table, k);
        for (size_t i = 0; i < c->n; i += ostride) {
            int got = cg_py_line_for_offset(kind, t, k, c->first, (uint32_t)(2 * i));
            /* A cut 3.10+ table loses ranges, never changes one; so does
             * an lnotab cut inside a pair.  A whole-pair cut of an lnotab
             * makes its last line run on: not checked. */
            if (kind != CG_PY_LNOTAB || k % 2)
                assert_true(got == 0 || got == want_line(c->want[i]));
        }
        uint32_t offs[] = {0, 2, (uint32_t)c->code_len, UINT32_MAX};
        check_consistent(kind, t, k, c->first, offs, 4);
        free(t);
    }
}

/* Bytes of the table flipped at random. */
static void check_corrupted(enum cg_py_linetable kind, const struct code *c)
{
    if (!c->len)
        return;
    for (int round = 0; round < 8; round++) {
        unsigned char *t = exact_copy(c->table, c->len);
        for (int f = 0; f < 1 + round % 3; f++)
            t[next_rand() % c->len] ^= (unsigned char)(1u << (next_rand() % 8));
        uint32_t offs[8];
        for (int i = 0; i < 8; i++)
            offs[i] = (uint32_t)(next_rand() % (c->code_len + 64));
        check_consistent(kind, t, c->len, c->first, offs, 8);
        free(t);
    }
}

static size_t check_code(enum cg_py_linetable kind, const struct code *c)
{
    unsigned char *t = exact_copy(c->table, c->len);
    int lo = INT_MAX, hi = INT_MIN;
    for (size_t i = 0; i < c->n; i++) {
        int want = want_line(c->want[i]);
        for (uint32_t odd = 0; odd < 2; odd++) {
            int got = cg_py_line_for_offset(kind, t, c->len, c->first, (uint32_t)(2 * i) + odd);
            if (got != want)
                fail_msg("%s: offset %zu: line %d, want %d", c->name, 2 * i + odd, got, want);
        }
        if (want) {
            lo = want < lo ? want : lo;
            hi = want > hi ? want : hi;
        }
    }
    /* Past the bytecode: an lnotab's last line runs on; later tables end
     * exactly where the bytecode does. */
    int past = cg_py_line_for_offset(kind, t, c->len, c->first, (uint32_t)c->code_len);
    int far = cg_py_line_for_offset(kind, t, c->len, c->first, UINT32_MAX);
    if (kind == CG_PY_LNOTAB) {
        assert_int_equal(past, c->n ? want_line(c->want[c->n - 1]) : 0);
        assert_int_equal(far, past);
    } else {
        if (past)
            fail_msg("%s: line %d past the end of the bytecode", c->name, past);
        assert_int_equal(far, 0);
    }
    int rlo = 0, rhi = 0;
    bool have = cg_py_line_range(kind, t, c->len, c->first, &rlo, &rhi);
    if (lo <= hi) {
        if (!have || rlo != lo || rhi != hi)
            fail_msg("%s: range %d..%d (%d), want %d..%d", c->name, rlo, rhi, have, lo, hi);
    } else {
        assert_false(have);
    }
    free(t);
    check_truncated(kind, c);
    check_corrupted(kind, c);
    return 2 * c->n;
}

static void check_version(const char *file, int minor, enum cg_py_linetable kind)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/python_lines/%s", CG_TEST_DATA_DIR, file);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    char *line = NULL;
    size_t cap = 0;
    struct code c;
    memset(&c, 0, sizeof(c));
    size_t codes = 0, offsets = 0;
    int vmaj = 0, vmin = 0, vmic = 0;
    while (getline(&line, &cap, f) > 0) {
        if (line[0] == 'V') {
            assert_int_equal(sscanf(line, "V %d %d %d", &vmaj, &vmin, &vmic), 3);
        } else if (line[0] == 'C') {
            assert_int_equal(sscanf(line, "C %d %zu %255s", &c.first, &c.code_len, c.name), 3);
        } else if (line[0] == 'T') {
            parse_table(line + 1 + (line[1] == ' '), &c);
        } else if (line[0] == 'L') {
            parse_lines(line + 1, &c);
            offsets += check_code(kind, &c);
            codes++;
            free(c.table);
            free(c.want);
            memset(&c, 0, sizeof(c));
        }
    }
    free(line);
    fclose(f);
    assert_int_equal(vmaj, 3);
    assert_int_equal(vmin, minor);
    assert_true(codes > 100);
    print_message("CPython %d.%d.%d: %zu code objects, %zu code units, %zu byte offsets\n", vmaj,
                  vmin, vmic, codes, offsets / 2, offsets);
}

static void python_3_8(void **state)
{
    (void)state;
    check_version("3.8.txt", 8, CG_PY_LNOTAB);
}

static void python_3_9(void **state)
{
    (void)state;
    check_version("3.9.txt", 9, CG_PY_LNOTAB);
}

static void python_3_10(void **state)
{
    (void)state;
    check_version("3.10.txt", 10, CG_PY_LINETABLE_310);
}

static void python_3_11(void **state)
{
    (void)state;
    check_version("3.11.txt", 11, CG_PY_LOCATIONS);
}

static void python_3_12(void **state)
{
    (void)state;
    check_version("3.12.txt", 12, CG_PY_LOCATIONS);
}

static void python_3_13(void **state)
{
    (void)state;
    check_version("3.13.txt", 13, CG_PY_LOCATIONS);
}

static int line_of(enum cg_py_linetable kind, const unsigned char *bytes, size_t len, int first,
                   uint32_t off)
{
    unsigned char *t = exact_copy(bytes, len);
    int line = cg_py_line_for_offset(kind, t, len, first, off);
    free(t);
    return line;
}

static void hand_made_tables(void **state)
{
    (void)state;
    /* No table: an lnotab's every offset is on the first line. */
    assert_int_equal(cg_py_line_for_offset(CG_PY_LNOTAB, NULL, 0, 7, 100), 7);
    assert_int_equal(cg_py_line_for_offset(CG_PY_LINETABLE_310, NULL, 0, 7, 0), 0);
    assert_int_equal(cg_py_line_for_offset(CG_PY_LOCATIONS, NULL, 0, 7, 0), 0);
    assert_int_equal(cg_py_line_for_offset(CG_PY_LNOTAB, NULL, 4, 7, 0), 0);
    assert_int_equal(cg_py_line_for_offset((enum cg_py_linetable)9, NULL, 0, 7, 0), 0);

    /* lnotab: +300 lines over three pairs, then -128 and -72; the last
     * line runs on; a cut inside the last pair loses its ranges. */
    const unsigned char ln[] = {0, 127, 0, 127, 0, 46, 4, (unsigned char)-128,
                                6, (unsigned char)-72};
    assert_int_equal(line_of(CG_PY_LNOTAB, ln, sizeof(ln), 10, 0), 310);
    assert_int_equal(line_of(CG_PY_LNOTAB, ln, sizeof(ln), 10, 3), 310);
    assert_int_equal(line_of(CG_PY_LNOTAB, ln, sizeof(ln), 10, 4), 182);
    assert_int_equal(line_of(CG_PY_LNOTAB, ln, sizeof(ln), 10, 9), 182);
    assert_int_equal(line_of(CG_PY_LNOTAB, ln, sizeof(ln), 10, 10), 110);
    assert_int_equal(line_of(CG_PY_LNOTAB, ln, sizeof(ln), 10, 100000), 110);
    assert_int_equal(line_of(CG_PY_LNOTAB, ln, sizeof(ln) - 1, 10, 3), 310);
    assert_int_equal(line_of(CG_PY_LNOTAB, ln, sizeof(ln) - 1, 10, 4), 0);
    int lo, hi;
    assert_true(cg_py_line_range(CG_PY_LNOTAB, ln, sizeof(ln), 10, &lo, &hi));
    assert_int_equal(lo, 110);
    assert_int_equal(hi, 310);
    assert_false(cg_py_line_range(CG_PY_LNOTAB, ln, sizeof(ln) - 1, 10, &lo, &hi));

    /* 3.10: -128 is no line and leaves the running line alone. */
    const unsigned char l10[] = {4, 1, 2, (unsigned char)-128, 0, 100, 2, 1};
    assert_int_equal(line_of(CG_PY_LINETABLE_310, l10, sizeof(l10), 5, 2), 6);
    assert_int_equal(line_of(CG_PY_LINETABLE_310, l10, sizeof(l10), 5, 4), 0);
    assert_int_equal(line_of(CG_PY_LINETABLE_310, l10, sizeof(l10), 5, 6), 107);
    assert_int_equal(line_of(CG_PY_LINETABLE_310, l10, sizeof(l10), 5, 8), 0);
    assert_true(cg_py_line_range(CG_PY_LINETABLE_310, l10, sizeof(l10), 5, &lo, &hi));
    assert_int_equal(lo, 6); /* 106 spans no bytes */
    assert_int_equal(hi, 107);

    /* 3.11+: long form (-1: line 0, none), no location, no columns (+300,
     * two-byte svarint), one-line form +2, short form. */
    const unsigned char loc[] = {
        0x80 | 14 << 3 | 0, 0x03, 0x00, 0x01, 0x02, /* 1 unit, delta -1 */
        0x80 | 15 << 3 | 1,                         /* 2 units, no location */
        0x80 | 13 << 3 | 0, 0x58, 0x09,             /* 600 = 9 << 6 | 24: +300 */
        0x80 | 12 << 3 | 2, 0x04, 0x08,              /* 3 units, +2 */
        0x80 | 3 << 3 | 7, 0x25,                     /* 8 units, same line */
    };
    assert_int_equal(line_of(CG_PY_LOCATIONS, loc, sizeof(loc), 1, 0), 0);
    assert_int_equal(line_of(CG_PY_LOCATIONS, loc, sizeof(loc), 1, 2), 0);
    assert_int_equal(line_of(CG_PY_LOCATIONS, loc, sizeof(loc), 1, 6), 300);
    assert_int_equal(line_of(CG_PY_LOCATIONS, loc, sizeof(loc), 1, 8), 302);
    assert_int_equal(line_of(CG_PY_LOCATIONS, loc, sizeof(loc), 1, 13), 302);
    assert_int_equal(line_of(CG_PY_LOCATIONS, loc, sizeof(loc), 1, 14), 302);
    assert_int_equal(line_of(CG_PY_LOCATIONS, loc, sizeof(loc), 1, 29), 302);
    assert_int_equal(line_of(CG_PY_LOCATIONS, loc, sizeof(loc), 1, 30), 0);
    /* Cut inside the no-column svarint: that entry on is lost. */
    assert_int_equal(line_of(CG_PY_LOCATIONS, loc, 8, 1, 6), 0);
    assert_int_equal(line_of(CG_PY_LOCATIONS, loc, 8, 1, 0), 0);
    assert_true(cg_py_line_range(CG_PY_LOCATIONS, loc, sizeof(loc), 1, &lo, &hi));
    assert_int_equal(lo, 300);
    assert_int_equal(hi, 302);
    assert_false(cg_py_line_range(CG_PY_LOCATIONS, loc, 8, 1, &lo, &hi));

    /* An entry must start with bit 7; a varint of more than 36 bits, or
     * one running into the next entry, is malformed. */
    const unsigned char nohead[] = {0x10, 0x80};
    assert_int_equal(line_of(CG_PY_LOCATIONS, nohead, sizeof(nohead), 1, 0), 0);
    const unsigned char huge[] = {0x80 | 13 << 3, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x01};
    assert_int_equal(line_of(CG_PY_LOCATIONS, huge, sizeof(huge), 1, 0), 0);
    const unsigned char runs_on[] = {0x80 | 13 << 3, 0x42, 0x80 | 13 << 3, 0x02};
    assert_int_equal(line_of(CG_PY_LOCATIONS, runs_on, sizeof(runs_on), 1, 0), 0);

    /* Lines that leave int are malformed, not wrapped. */
    const unsigned char up[] = {2, 100, 2, 100};
    assert_int_equal(line_of(CG_PY_LINETABLE_310, up, sizeof(up), INT_MAX - 150, 0),
                     INT_MAX - 50);
    assert_int_equal(line_of(CG_PY_LINETABLE_310, up, sizeof(up), INT_MAX - 150, 2), 0);
    const unsigned char big[] = {0x80 | 13 << 3, 0x7e, 0x7f, 0x7f, 0x7f, 0x3f};
    assert_int_equal(line_of(CG_PY_LOCATIONS, big, sizeof(big), INT_MAX, 0), 0);
    assert_int_equal(line_of(CG_PY_LNOTAB, up, sizeof(up), INT_MIN, 0), 0);
}

static void random_tables_never_fault(void **state)
{
    (void)state;
    static const enum cg_py_linetable kinds[] = {CG_PY_LNOTAB, CG_PY_LINETABLE_310,
                                                 CG_PY_LOCATIONS};
    static const int firsts[] = {1, 0, -5, INT_MAX, INT_MIN, 12345};
    unsigned char buf[96];
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)(next_rand() % sizeof(buf));
        for (size_t i = 0; i < len; i++) {
            uint64_t r = next_rand();
            /* Mostly entry-like bytes for the 3.11+ format, some plain. */
            buf[i] = (unsigned char)(round % 2 ? r : (i % 3 ? r & 0x7f : (r | 0x80)));
        }
        unsigned char *t = exact_copy(buf, len);
        uint32_t offs[6] = {0, 1, (uint32_t)(next_rand() % 512), (uint32_t)(next_rand() % 64),
                            UINT32_MAX, (uint32_t)next_rand()};
        check_consistent(kinds[round % 3], t, len, firsts[(round / 3) % 6], offs, 6);
        free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(python_3_8),
        cmocka_unit_test(python_3_9),
        cmocka_unit_test(python_3_10),
        cmocka_unit_test(python_3_11),
        cmocka_unit_test(python_3_12),
        cmocka_unit_test(python_3_13),
        cmocka_unit_test(hand_made_tables),
        cmocka_unit_test(random_tables_never_fault),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
