/*
 * log_escape_test.c - log lines escape control characters; the log file
 * is never reached through a symbolic link and must be a regular file.
 *
 * Regression for issue 14, finding 1: a value with a newline in it
 * (CGAGENT_CPU_HZ=$'x\nroot2::0:0:...') was logged verbatim and forged a
 * line of its own in a file a setuid program opened through a link.
 */
#include "core/base/error.h"
#include "core/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static char dir[] = "/tmp/cgagent-log-test-XXXXXX";
static char path[512];

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/log", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cg_log_set_file(NULL);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Everything written to the log file so far (the file is truncated). */
static char *take_log(void)
{
    static char buf[8192];
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    assert_true(n >= 0);
    buf[n] = '\0';
    assert_int_equal(ftruncate(fd, 0), 0);
    close(fd);
    return buf;
}

static void control_characters_are_escaped(void **state)
{
    (void)state;
    assert_int_equal(cg_log_set_file(path), 0);
    CG_ERROR("CGAGENT_CPU_HZ=\"%s\": bad", "x\nroot2::0:0:root:/root:/bin/sh\r\t\x1b[31m\x7f");
    char *log = take_log();
    char want[256];
    snprintf(want, sizeof(want),
             "cgagent[%d]: error: CGAGENT_CPU_HZ=\"x\\nroot2::0:0:root:/root:/bin/sh\\r\\t"
             "\\x1b[31m\\x7f\": bad\n", (int)getpid());
    assert_string_equal(log, want);
    /* One line: the only newline is the last byte. */
    assert_ptr_equal(strchr(log, '\n'), log + strlen(log) - 1);
}

static void utf8_passes_unchanged(void **state)
{
    (void)state;
    assert_int_equal(cg_log_set_file(path), 0);
    CG_ERROR("group \"prof\xc3\xa9\"");
    char *log = take_log();
    assert_non_null(strstr(log, ": error: group \"prof\xc3\xa9\"\n"));
}

static void long_escaped_lines_are_cut_whole(void **state)
{
    (void)state;
    assert_int_equal(cg_log_set_file(path), 0);
    char big[900];
    memset(big, '\n', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CG_WARN("%s", big);
    char *log = take_log();
    size_t n = strlen(log);
    assert_true(n <= 1024);
    assert_ptr_equal(strchr(log, '\n'), log + n - 1);
    assert_memory_equal(log + n - 4, "...\n", 4);
    /* No escape is cut in half: the text before "..." is whole "\n"s. */
    const char *body = strstr(log, ": warn: ") + 8;
    size_t body_len = (size_t)(log + n - 4 - body);
    assert_int_equal(body_len % 2, 0);
    for (size_t i = 0; i < body_len; i += 2)
        assert_memory_equal(body + i, "\\n", 2);
}

static void symlinked_log_file_is_refused(void **state)
{
    (void)state;
    char target[600], link[600];
    snprintf(target, sizeof(target), "%s/target", dir);
    snprintf(link, sizeof(link), "%s/link", dir);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(cg_log_set_file(link), -ELOOP);
    struct stat st;
    assert_int_equal(stat(target, &st), -1); /* not created through the link */
    assert_non_null(strstr(cg_log_file_problem(-ELOOP), "symbolic link"));
    unlink(link);
}

static void directories_and_fifos_are_refused_without_blocking(void **state)
{
    (void)state;
    char fifo[600];
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int rc = cg_log_set_file(fifo); /* no reader: must not wait for one */
    assert_true(rc < 0);
    assert_int_equal(cg_log_set_file(dir), -EISDIR);
    unlink(fifo);
}

static void new_log_file_is_private(void **state)
{
    (void)state;
    unlink(path);
    mode_t old = umask(0);
    assert_int_equal(cg_log_set_file(path), 0);
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(control_characters_are_escaped),
        cmocka_unit_test(utf8_passes_unchanged),
        cmocka_unit_test(long_escaped_lines_are_cut_whole),
        cmocka_unit_test(symlinked_log_file_is_refused),
        cmocka_unit_test(directories_and_fifos_are_refused_without_blocking),
        cmocka_unit_test(new_log_file_is_private),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
