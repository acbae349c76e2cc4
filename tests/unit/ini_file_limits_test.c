/*
 * ini_file_limits_test.c - the INI reader on good, bad and hostile files.
 */
#include "core/base/error.h"
#include "core/base/ini_file.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

struct seen {
    char text[1024];
    int calls;
};

static int record(const char *section, const char *key, const char *value, int line, void *ctx)
{
    struct seen *s = ctx;
    size_t n = strlen(s->text);
    snprintf(s->text + n, sizeof(s->text) - n, "%d[%s]%s=%s;", line, section, key, value);
    s->calls++;
    return 0;
}

static int stop_on_b(const char *section, const char *key, const char *value, int line, void *ctx)
{
    (void)section;
    (void)value;
    (void)line;
    (void)ctx;
    return strcmp(key, "b") == 0 ? CG_EINVAL : 0;
}

static void entries_come_with_their_line_numbers(void **state)
{
    (void)state;
    const char *text = "; comment\n[default]\na = 1\n\n# another\n[profile x]\nb =  two words  \n";
    struct seen s = {{0}, 0};
    int line = -1;
    assert_int_equal(cg_ini_parse_text(text, strlen(text), record, &s, &line), 0);
    assert_string_equal(s.text, "3[default]a=1;7[profile x]b=two words;");
}

static void callback_error_stops_and_reports_its_line(void **state)
{
    (void)state;
    const char *text = "[s]\na = 1\nb = 2\nc = 3\n";
    int line = 0;
    assert_int_equal(cg_ini_parse_text(text, strlen(text), stop_on_b, NULL, &line), CG_EINVAL);
    assert_int_equal(line, 3);
}

static void syntax_error_and_long_line_are_errors_with_line(void **state)
{
    (void)state;
    struct seen s = {{0}, 0};
    int line = 0;
    const char *bad = "[s]\na = 1\nnot an entry\n";
    assert_int_equal(cg_ini_parse_text(bad, strlen(bad), record, &s, &line), CG_EPARSE);
    assert_int_equal(line, 3);
    char longtext[600];
    memset(longtext, 'x', sizeof(longtext));
    memcpy(longtext, "[s]\nk = ", 8);
    longtext[sizeof(longtext) - 1] = '\n';
    assert_int_equal(cg_ini_parse_text(longtext, sizeof(longtext), record, &s, &line), CG_EPARSE);
    assert_int_equal(line, 2);
    const char nul[] = "[s]\na = 1\0b = 2\n";
    assert_int_equal(cg_ini_parse_text(nul, sizeof(nul) - 1, record, &s, &line), CG_EPARSE);
}

static void files_missing_special_or_huge_are_refused(void **state)
{
    (void)state;
    int line;
    struct seen s = {{0}, 0};
    assert_int_equal(cg_ini_parse_file("/nonexistent/x.ini", record, &s, &line), CG_ENOTFOUND);
    assert_int_equal(cg_ini_parse_file("/tmp", record, &s, &line), CG_EINVAL);
    assert_int_equal(cg_ini_parse_file("/dev/zero", record, &s, &line), CG_EINVAL);
    char path[] = "/tmp/cgagent-ini-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, CG_INI_MAX_FILE_BYTES + 1), 0);
    close(fd);
    assert_int_equal(cg_ini_parse_file(path, record, &s, &line), CG_ETOOBIG);
    FILE *f = fopen(path, "w");
    fputs("[default]\nregion = eu-west-1\n", f);
    fclose(f);
    assert_int_equal(cg_ini_parse_file(path, record, &s, &line), 0);
    assert_string_equal(s.text, "2[default]region=eu-west-1;");
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(entries_come_with_their_line_numbers),
        cmocka_unit_test(callback_error_stops_and_reports_its_line),
        cmocka_unit_test(syntax_error_and_long_line_are_errors_with_line),
        cmocka_unit_test(files_missing_special_or_huge_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
