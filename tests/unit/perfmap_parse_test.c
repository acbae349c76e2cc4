/*
 * perfmap_parse_test.c - JIT perf maps: line parsing, lookups, a later line
 * for the same code winning, growth of the file between lookups (read at
 * most every 100 ms of an injected clock), over-long or malformed lines
 * skipped, a replaced or truncated file read afresh, files that are not
 * ours or are symlinks refused, and the table and name bounds.
 */
#include "core/symbols/perfmap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static uint64_t fake_now_ns;

static uint64_t fake_clock(void)
{
    return fake_now_ns;
}

/* Moves the clock past the map's re-read interval. */
static void advance_past_recheck(void)
{
    fake_now_ns += 100000000ull;
}

struct fixture {
    char path[64];
    FILE *f;
    struct cg_perfmap *m;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    snprintf(fx->path, sizeof(fx->path), "/tmp/cgagent-perfmap-XXXXXX");
    int fd = mkstemp(fx->path);
    if (fd < 0)
        return -1;
    fx->f = fdopen(fd, "w");
    fake_now_ns = 1000000000ull;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    if (fx->f)
        fclose(fx->f);
    unlink(fx->path);
    cg_perfmap_free(fx->m);
    free(fx);
    return 0;
}

static struct cg_perfmap *open_map(struct fixture *fx, size_t max_entries, size_t max_name_bytes)
{
    struct cg_perfmap_options o = {fx->path, max_entries, max_name_bytes, fake_clock};
    fx->m = cg_perfmap_new(0, &o);
    assert_non_null(fx->m);
    return fx->m;
}

static void write_lines(struct fixture *fx, const char *text)
{
    fputs(text, fx->f);
    fflush(fx->f);
}

static void lines(void **state)
{
    (void)state;
    uint64_t start, size;
    const char *name;
    size_t n;
    const char *node = "3ef4e3e0c0a0 2c JS:*hotLoop /tmp/x.js:1:28\n";
    assert_int_equal(cg_perfmap_parse_line(node, strlen(node), &start, &size, &name, &n), 0);
    assert_true(start == 0x3ef4e3e0c0a0ull);
    assert_int_equal(size, 0x2c);
    assert_int_equal(n, strlen("JS:*hotLoop /tmp/x.js:1:28"));
    assert_memory_equal(name, "JS:*hotLoop /tmp/x.js:1:28", n);
    const char *py = "0x7f0000001000 0x1b py::work:/srv/app.py\r\n";
    assert_int_equal(cg_perfmap_parse_line(py, strlen(py), &start, &size, &name, &n), 0);
    assert_true(start == 0x7f0000001000ull);
    assert_int_equal(size, 0x1b);
    const char *bad[] = {"", "zz 10 name", "1000 name", "1000 0 zero-size", "1000 10",
                         "1000 10    ", "11111111111111111 10 too-wide",
                         "ffffffffffffffff 10 wraps"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cg_perfmap_parse_line(bad[i], strlen(bad[i]), &start, &size, &name, &n),
                         -1);
}

static void lookups_and_growth(void **state)
{
    struct fixture *fx = *state;
    write_lines(fx, "1000 100 first\nthis line is garbage\n2000 10 second\n");
    /* An over-long line is skipped whole, not cut into pieces. */
    for (int i = 0; i < 5000; i++)
        fputc('7', fx->f);
    write_lines(fx, "\n");
    struct cg_perfmap *m = open_map(fx, 0, 0);
    assert_string_equal(cg_perfmap_lookup(m, 0x1000), "first");
    assert_string_equal(cg_perfmap_lookup(m, 0x10ff), "first");
    assert_string_equal(cg_perfmap_lookup(m, 0x2009), "second");
    assert_null(cg_perfmap_lookup(m, 0x1100));
    assert_int_equal(cg_perfmap_entries(m), 2);
    /* The JIT appends: recompiled code at the same address wins, and new
     * code is found once the file has grown — not before the interval. */
    write_lines(fx, "1000 80 recompiled\n3000 10 third\n");
    fake_now_ns += 50000000ull;
    assert_null(cg_perfmap_lookup(m, 0x3001));
    assert_string_equal(cg_perfmap_lookup(m, 0x1010), "first");
    advance_past_recheck();
    assert_string_equal(cg_perfmap_lookup(m, 0x3001), "third");
    assert_string_equal(cg_perfmap_lookup(m, 0x1010), "recompiled");
    /* Outside the newer, shorter entry the older one still answers. */
    assert_string_equal(cg_perfmap_lookup(m, 0x10f0), "first");
    /* A line written in two pieces is read once whole. */
    write_lines(fx, "4000 10 spl");
    advance_past_recheck();
    assert_null(cg_perfmap_lookup(m, 0x4001));
    write_lines(fx, "it\n");
    advance_past_recheck();
    assert_string_equal(cg_perfmap_lookup(m, 0x4001), "split");
    assert_string_equal(cg_perfmap_path(m), fx->path);
}

static void missing_file_is_quiet(void **state)
{
    (void)state;
    struct cg_perfmap_options o = {"/nonexistent/perf-1.map", 0, 0, fake_clock};
    struct cg_perfmap *m = cg_perfmap_new(0, &o);
    assert_non_null(m);
    assert_null(cg_perfmap_lookup(m, 0x1234));
    cg_perfmap_free(m);
    /* The default path is the process's own map. */
    m = cg_perfmap_new(4321, NULL);
    assert_string_equal(cg_perfmap_path(m), "/tmp/perf-4321.map");
    cg_perfmap_free(m);
    cg_perfmap_free(NULL);
}

/* A process that exec'd or a writer that started over: the new file's
 * lines, none of the old ones. */
static void replaced_or_truncated_file_is_read_afresh(void **state)
{
    struct fixture *fx = *state;
    write_lines(fx, "1000 100 old\n2000 100 old-too\n");
    struct cg_perfmap *m = open_map(fx, 0, 0);
    assert_string_equal(cg_perfmap_lookup(m, 0x1001), "old");
    assert_int_equal(ftruncate(fileno(fx->f), 0), 0);
    rewind(fx->f);
    write_lines(fx, "5000 10 new\n");
    advance_past_recheck();
    assert_string_equal(cg_perfmap_lookup(m, 0x5001), "new");
    assert_null(cg_perfmap_lookup(m, 0x1001));
    assert_int_equal(cg_perfmap_entries(m), 1);
    /* Replaced by another file (a new inode) at the same path. */
    char tmp[80];
    snprintf(tmp, sizeof(tmp), "%s.new", fx->path);
    FILE *g = fopen(tmp, "w");
    fputs("6000 10 other\n7000 10 more\n", g);
    fclose(g);
    assert_int_equal(rename(tmp, fx->path), 0);
    advance_past_recheck();
    assert_string_equal(cg_perfmap_lookup(m, 0x6001), "other");
    assert_null(cg_perfmap_lookup(m, 0x5001));
}

static void symlinks_are_refused(void **state)
{
    struct fixture *fx = *state;
    write_lines(fx, "1000 100 target\n");
    char link[80];
    snprintf(link, sizeof(link), "%s.link", fx->path);
    assert_int_equal(symlink(fx->path, link), 0);
    struct cg_perfmap_options o = {link, 0, 0, fake_clock};
    struct cg_perfmap *m = cg_perfmap_new(0, &o);
    assert_null(cg_perfmap_lookup(m, 0x1001));
    cg_perfmap_free(m);
    unlink(link);
}

/* The table never holds more than max_entries; dead code (overlapped by
 * newer lines) goes first, then the oldest lines. */
static void table_is_bounded(void **state)
{
    struct fixture *fx = *state;
    /* 30 objects at 0x10000.., then the first 10 replaced by code at the
     * same addresses. */
    for (int i = 0; i < 30; i++)
        fprintf(fx->f, "%x 100 f%d\n", 0x10000 + i * 0x100, i);
    for (int i = 0; i < 10; i++)
        fprintf(fx->f, "%x 80 g%d\n", 0x10000 + i * 0x100, i);
    fflush(fx->f);
    struct cg_perfmap *m = open_map(fx, 32, 0);
    assert_true(cg_perfmap_entries(m) <= 32);
    /* The replacements and the newest first-generation objects are kept. */
    assert_string_equal(cg_perfmap_lookup(m, 0x10001), "g0");
    assert_string_equal(cg_perfmap_lookup(m, 0x10901), "g9");
    assert_string_equal(cg_perfmap_lookup(m, 0x11d01), "f29");
    /* Beyond the replacement's 0x80 bytes the replaced object is gone. */
    assert_null(cg_perfmap_lookup(m, 0x100f0));
    /* Thousands more lines: still bounded, the newest found. */
    for (int i = 0; i < 5000; i++)
        fprintf(fx->f, "%x 10 h%d\n", 0x100000 + i * 0x10, i);
    fflush(fx->f);
    advance_past_recheck();
    assert_string_equal(cg_perfmap_lookup(m, 0x100000 + 4999 * 0x10), "h4999");
    assert_true(cg_perfmap_entries(m) <= 32);
    assert_null(cg_perfmap_lookup(m, 0x100000));
    /* The table, one 64 KiB chunk of names and the fixed part. */
    assert_true(cg_perfmap_bytes(m) < 160 * 1024);
}

/* Long distinct names are bounded by bytes, not only by count. */
static void names_are_bounded(void **state)
{
    struct fixture *fx = *state;
    char name[2001];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    for (int i = 0; i < 2000; i++)
        fprintf(fx->f, "%x 10 %d%s\n", 0x1000 + i * 0x10, i, name);
    fflush(fx->f);
    struct cg_perfmap *m = open_map(fx, 100000, 1u << 20);
    /* 2000 names of 2 KB each would be 4 MB. */
    assert_true(cg_perfmap_bytes(m) < (3u << 20) / 2);
    const char *last = cg_perfmap_lookup(m, 0x1000 + 1999 * 0x10);
    assert_non_null(last);
    assert_true(strncmp(last, "1999nnn", 7) == 0);
    assert_null(cg_perfmap_lookup(m, 0x1000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines),
        cmocka_unit_test_setup_teardown(lookups_and_growth, setup, teardown),
        cmocka_unit_test(missing_file_is_quiet),
        cmocka_unit_test_setup_teardown(replaced_or_truncated_file_is_read_afresh, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(symlinks_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(table_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(names_are_bounded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
