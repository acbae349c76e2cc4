/*
 * perfmap_parse_test.c - JIT perf maps: line parsing, lookups, a later line
 * for the same code winning, growth of the file between lookups, and
 * over-long or malformed lines skipped.
 */
#include "core/perfmap.h"
#include "core/strpool.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

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

static void sleep_past_recheck(void)
{
    struct timespec ts = {0, 120 * 1000000L}; /* the map is re-read at most every 100 ms */
    nanosleep(&ts, NULL);
}

static void lookups_and_growth(void **state)
{
    (void)state;
    char path[] = "/tmp/cgagent-perfmap-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "1000 100 first\n");
    fprintf(f, "this line is garbage\n");
    fprintf(f, "2000 10 second\n");
    /* An over-long line is skipped whole, not cut into pieces. */
    for (int i = 0; i < 5000; i++)
        fputc('7', f);
    fputc('\n', f);
    fflush(f);
    struct cg_strpool *strs = cg_strpool_new();
    struct cg_perfmap *m = cg_perfmap_new(0, path, strs);
    assert_string_equal(cg_perfmap_lookup(m, 0x1000), "first");
    assert_string_equal(cg_perfmap_lookup(m, 0x10ff), "first");
    assert_string_equal(cg_perfmap_lookup(m, 0x2009), "second");
    assert_null(cg_perfmap_lookup(m, 0x1100));
    assert_int_equal(cg_perfmap_entries(m), 2);
    /* The JIT appends: recompiled code at the same address wins, and new
     * code is found once the file has grown. */
    fprintf(f, "1000 80 recompiled\n3000 10 third\n");
    fflush(f);
    sleep_past_recheck();
    assert_string_equal(cg_perfmap_lookup(m, 0x3001), "third");
    assert_string_equal(cg_perfmap_lookup(m, 0x1010), "recompiled");
    /* Outside the newer, shorter entry the older one still answers. */
    assert_string_equal(cg_perfmap_lookup(m, 0x10f0), "first");
    /* A line written in two pieces is read once whole. */
    fprintf(f, "4000 10 spl");
    fflush(f);
    sleep_past_recheck();
    assert_null(cg_perfmap_lookup(m, 0x4001));
    fprintf(f, "it\n");
    fflush(f);
    sleep_past_recheck();
    assert_string_equal(cg_perfmap_lookup(m, 0x4001), "split");
    fclose(f);
    unlink(path);
    cg_perfmap_free(m);
    cg_strpool_free(strs);
}

static void missing_file_is_quiet(void **state)
{
    (void)state;
    struct cg_strpool *strs = cg_strpool_new();
    struct cg_perfmap *m = cg_perfmap_new(0, "/nonexistent/perf-1.map", strs);
    assert_non_null(m);
    assert_null(cg_perfmap_lookup(m, 0x1234));
    cg_perfmap_free(m);
    cg_strpool_free(strs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines),
        cmocka_unit_test(lookups_and_growth),
        cmocka_unit_test(missing_file_is_quiet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
