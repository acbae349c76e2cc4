/*
 * agent_thread_reuse_test.c - a thread whose id was used before by a
 * thread that left without its exit hook gets a fresh slot and timer
 * (issue 14, finding 8: it used to adopt the stale slot, whose timer
 * counts the dead thread's CPU clock, and was never sampled).  Thread
 * start times come from an injected reader.
 */
#include "core/agent/agent_internal.h"

#include "core/agent/agent.h"
#include "core/agent/config.h"
#include "core/sample/threads.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static uint64_t g_ticks;

static uint64_t fake_start_ticks(pid_t tid)
{
    (void)tid;
    return g_ticks;
}

static struct cg_agent *new_agent(void)
{
    /* The CPU timers send SIGUSR2, ignored here: the test checks the
     * timers exist, not their samples. */
    signal(SIGUSR2, SIG_IGN);
    struct cg_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.cpu_hz = 100;
    cfg.wall_interval_ms = 1000;
    cfg.max_stack_depth = 1000;
    cfg.reporting_interval_ms = 60000;
    cfg.cpu_limit_percent = 10;
    cfg.memory_limit_mb = 8;
    struct cg_agent_options o = {.signo = SIGUSR2, .start_ticks = fake_start_ticks};
    struct cg_agent *a = cg_agent_new(&cfg, &o);
    assert_non_null(a);
    return a;
}

static void done(struct cg_agent *a)
{
    cg_agent_delete_timers(a);
    cg_agent_free(a);
}

static void a_reused_id_of_a_self_registered_thread_gets_a_fresh_slot(void **state)
{
    (void)state;
    struct cg_agent *a = new_agent();
    g_ticks = 1000;
    struct cg_thread_slot *old = cg_agent_register_current_thread(a, true);
    assert_non_null(old);
    assert_true(atomic_load(&old->timer_id) >= 0);
    /* That thread left with a raw SYS_exit (no exit hook); a new thread
     * got its id and registers itself. */
    g_ticks = 2000;
    struct cg_thread_slot *s = cg_agent_register_current_thread(a, true);
    assert_non_null(s);
    assert_ptr_not_equal(s, old);
    assert_int_equal(atomic_load(&old->state), CG_SLOT_EXITED);
    assert_int_equal(atomic_load(&old->timer_id), -1);
    assert_int_equal(atomic_load(&s->state), CG_SLOT_ACTIVE);
    assert_true(atomic_load(&s->timer_id) >= 0);
    assert_ptr_equal(cg_threads_find_sigsafe(cg_agent_threads(a), cg_agent_current_tid()), s);
    done(a);
}

static void a_slot_the_scan_made_for_this_thread_is_adopted(void **state)
{
    (void)state;
    struct cg_agent *a = new_agent();
    pid_t tid = cg_agent_current_tid();
    g_ticks = 3000;
    struct cg_thread_slot *scanned = cg_threads_register(cg_agent_threads(a), tid, 3000);
    assert_non_null(scanned);
    assert_ptr_equal(cg_agent_register_current_thread(a, true), scanned);
    done(a);
}

static void a_slot_the_scan_made_for_an_earlier_thread_is_retired(void **state)
{
    (void)state;
    struct cg_agent *a = new_agent();
    pid_t tid = cg_agent_current_tid();
    struct cg_thread_slot *scanned = cg_threads_register(cg_agent_threads(a), tid, 3000);
    assert_non_null(scanned);
    g_ticks = 3001;
    struct cg_thread_slot *s = cg_agent_register_current_thread(a, true);
    assert_non_null(s);
    assert_ptr_not_equal(s, scanned);
    assert_int_equal(atomic_load(&scanned->state), CG_SLOT_EXITED);
    assert_true(atomic_load(&s->timer_id) >= 0);
    done(a);
}

static void unknown_start_times_never_count_as_reuse(void **state)
{
    (void)state;
    struct cg_agent *a = new_agent();
    pid_t tid = cg_agent_current_tid();
    struct cg_thread_slot *scanned = cg_threads_register(cg_agent_threads(a), tid, 0);
    assert_non_null(scanned);
    g_ticks = 5000;
    assert_ptr_equal(cg_agent_register_current_thread(a, true), scanned);
    done(a);
    a = new_agent();
    scanned = cg_threads_register(cg_agent_threads(a), tid, 5000);
    g_ticks = 0; /* /proc unreadable */
    assert_ptr_equal(cg_agent_register_current_thread(a, true), scanned);
    done(a);
}

static void the_real_reader_gives_this_threads_start_time(void **state)
{
    (void)state;
    pid_t tid = cg_agent_current_tid();
    uint64_t t = cg_agent_read_start_ticks(tid);
    assert_true(t > 0);
    assert_int_equal(cg_agent_read_start_ticks(tid), t);
    assert_int_equal(cg_agent_read_start_ticks(-1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_reused_id_of_a_self_registered_thread_gets_a_fresh_slot),
        cmocka_unit_test(a_slot_the_scan_made_for_this_thread_is_adopted),
        cmocka_unit_test(a_slot_the_scan_made_for_an_earlier_thread_is_retired),
        cmocka_unit_test(unknown_start_times_never_count_as_reuse),
        cmocka_unit_test(the_real_reader_gives_this_threads_start_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
