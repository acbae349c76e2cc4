/*
 * fd_floor_raise_test.c - the agent's descriptors go at or above the
 * floor, close-on-exec, and leave the low numbers to the program; under a
 * low RLIMIT_NOFILE they settle for less, and never for 0, 1 or 2 when
 * anything else is free.
 *
 * Regression for "the host behaves exactly as without the agent", part 2:
 * a program started with stdin closed (`prog <&-`) got libunwind's
 * validation pipe as fd 0, and its own first open() returned 7.
 */
#include "core/base/fd_floor.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

static struct rlimit saved_limit;
static int saved_stdin = -1;

static int group_setup(void **state)
{
    (void)state;
    /* Descriptors the test runner may have left open would make the
     * numbers below depend on it. */
    close_range(3, ~0u, 0);
    return getrlimit(RLIMIT_NOFILE, &saved_limit);
}

/* Each test: stdin kept high (above every number used below), the limit
 * put back after. */
static int setup(void **state)
{
    (void)state;
    rlim_t top = saved_limit.rlim_cur > 901 ? 900 : saved_limit.rlim_cur - 1;
    saved_stdin = fcntl(0, F_DUPFD_CLOEXEC, (int)top);
    return saved_stdin > 2 * CG_FD_FLOOR ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    setrlimit(RLIMIT_NOFILE, &saved_limit);
    close_range(3, (unsigned)saved_stdin - 1, 0);
    if (saved_stdin >= 0) {
        dup2(saved_stdin, 0);
        close(saved_stdin);
        saved_stdin = -1;
    }
    return 0;
}

static void set_soft_limit(rlim_t n)
{
    struct rlimit rl = saved_limit;
    rl.rlim_cur = n;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

static bool is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

static bool is_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    return fl >= 0 && (fl & FD_CLOEXEC);
}

/* Opens /dev/null where the kernel puts it: the lowest free number. */
static int open_low(void)
{
    int fd = open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    return fd;
}

static void low_descriptor_moves_to_the_floor_and_frees_its_number(void **state)
{
    (void)state;
    assert_int_equal(cg_fd_floor(), CG_FD_FLOOR);
    int fd = open_low();
    int up = cg_fd_raise(fd);
    assert_true(up >= CG_FD_FLOOR);
    assert_true(is_cloexec(up));
    assert_false(is_open(fd));
    assert_int_equal(open_low(), fd);
}

static void closed_stdin_is_left_to_the_program(void **state)
{
    (void)state;
    close(0);
    int fd = open_low();
    assert_int_equal(fd, 0);
    int up = cg_fd_raise(fd);
    assert_true(up >= CG_FD_FLOOR);
    assert_false(is_open(0));
    assert_int_equal(open_low(), 0); /* the program's first open */
}

static void descriptor_above_the_floor_stays_and_becomes_cloexec(void **state)
{
    (void)state;
    int fd = fcntl(open_low(), F_DUPFD, 150);
    assert_false(is_cloexec(fd));
    assert_int_equal(cg_fd_raise(fd), fd);
    assert_true(is_cloexec(fd));
}

static void negative_descriptor_and_errno_pass_through(void **state)
{
    (void)state;
    errno = EINTR;
    assert_int_equal(cg_fd_raise(-1), -1);
    assert_int_equal(errno, EINTR);
    int fd = open_low();
    errno = ENOENT;
    assert_true(cg_fd_raise(fd) >= CG_FD_FLOOR);
    assert_int_equal(errno, ENOENT);
}

static void low_limit_halves_the_floor(void **state)
{
    (void)state;
    set_soft_limit(40);
    assert_int_equal(cg_fd_floor(), 20);
    close(0);
    int up = cg_fd_raise(open_low());
    assert_true(up >= 20 && up < 40);
    assert_true(is_cloexec(up));
    assert_false(is_open(0));
    set_soft_limit(2 * CG_FD_FLOOR + 1);
    assert_int_equal(cg_fd_floor(), CG_FD_FLOOR);
    set_soft_limit(2 * CG_FD_FLOOR);
    assert_int_equal(cg_fd_floor(), CG_FD_FLOOR);
    set_soft_limit(5);
    assert_int_equal(cg_fd_floor(), 3);
}

static void full_range_above_the_floor_still_spares_stdin(void **state)
{
    (void)state;
    set_soft_limit(8); /* floor 4 */
    for (int fd = 4; fd < 8; fd++)
        assert_int_equal(dup2(1, fd), fd);
    close(0);
    int fd = open_low();
    assert_int_equal(fd, 0);
    int up = cg_fd_raise(fd);
    assert_int_equal(up, 3);
    assert_true(is_cloexec(up));
    assert_false(is_open(0));
}

static void nothing_free_keeps_the_descriptor(void **state)
{
    (void)state;
    set_soft_limit(4); /* floor 3, the only number above 2 */
    assert_int_equal(dup2(1, 3), 3);
    close(0);
    int fd = open_low();
    assert_int_equal(fd, 0);
    assert_int_equal(cg_fd_raise(fd), 0);
    assert_true(is_cloexec(0));
}

static void pipe_in(void *arg)
{
    int *fds = arg;
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
}

static void run_above_floor_puts_what_it_opens_there(void **state)
{
    (void)state;
    close(0);
    int fds[2];
    assert_int_equal(cg_fd_run_above_floor(pipe_in, fds), 0);
    assert_true(fds[0] >= CG_FD_FLOOR && fds[1] >= CG_FD_FLOOR);
    /* Everything held was let go. */
    assert_int_equal(open_low(), 0);
    assert_int_equal(open_low(), 3);
    for (int fd = 4; fd < CG_FD_FLOOR; fd++)
        assert_false(is_open(fd));
}

static void pipe_inheritable(void *arg)
{
    int *fds = arg;
    assert_int_equal(pipe(fds), 0);
    assert_false(is_cloexec(fds[0]));
}

static void run_above_floor_makes_what_it_opens_cloexec(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(cg_fd_run_above_floor(pipe_inheritable, fds), 0);
    assert_true(fds[0] >= CG_FD_FLOOR && fds[1] >= CG_FD_FLOOR);
    assert_true(is_cloexec(fds[0]));
    assert_true(is_cloexec(fds[1]));
}

/* What another thread would do while the numbers are held. */
static void dup2_onto_50(void *arg)
{
    (void)arg;
    assert_true(is_open(50)); /* a placeholder */
    assert_int_equal(dup2(1, 50), 50);
}

static void placeholder_replaced_with_dup2_is_left_open(void **state)
{
    (void)state;
    assert_false(is_open(50));
    assert_int_equal(cg_fd_run_above_floor(dup2_onto_50, NULL), 0);
    assert_true(is_open(50));
    assert_false(is_cloexec(50));
    assert_false(is_open(49));
}

static void run_above_floor_under_a_low_limit(void **state)
{
    (void)state;
    set_soft_limit(16); /* floor 8 */
    close(0);
    int fds[2];
    assert_int_equal(cg_fd_run_above_floor(pipe_in, fds), 0);
    assert_true(fds[0] >= 8 && fds[0] < 16 && fds[1] >= 8 && fds[1] < 16);
    assert_int_equal(open_low(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(low_descriptor_moves_to_the_floor_and_frees_its_number,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(closed_stdin_is_left_to_the_program, setup, teardown),
        cmocka_unit_test_setup_teardown(descriptor_above_the_floor_stays_and_becomes_cloexec,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(negative_descriptor_and_errno_pass_through, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(low_limit_halves_the_floor, setup, teardown),
        cmocka_unit_test_setup_teardown(full_range_above_the_floor_still_spares_stdin, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(nothing_free_keeps_the_descriptor, setup, teardown),
        cmocka_unit_test_setup_teardown(run_above_floor_puts_what_it_opens_there, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(run_above_floor_makes_what_it_opens_cloexec, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(placeholder_replaced_with_dup2_is_left_open, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(run_above_floor_under_a_low_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
