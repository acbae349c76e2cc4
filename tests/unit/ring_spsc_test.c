/*
 * ring_spsc_test.c - the per-thread sample ring.
 */
#include "core/sample/ring.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static struct cg_sample_rec *push(struct cg_ring *r, size_t depth, uint64_t seed)
{
    struct cg_sample_rec *rec = cg_ring_reserve_sigsafe(r, cg_ring_record_bytes(depth));
    if (!rec)
        return NULL;
    rec->depth = (uint16_t)depth;
    rec->key = 0;
    rec->flags = 0;
    rec->weight = 1;
    for (size_t i = 0; i < depth; i++)
        rec->pcs[i] = seed + i;
    rec->size_bytes = (uint32_t)cg_ring_record_bytes(depth);
    cg_ring_commit_sigsafe(r, rec);
    return rec;
}

static void empty_ring_peeks_null(void **state)
{
    (void)state;
    struct cg_ring *r = cg_ring_new(4096);
    assert_non_null(r);
    assert_null(cg_ring_peek(r));
    assert_int_equal(cg_ring_drops(r), 0);
    cg_ring_free(r);
}

static void records_come_out_in_order_with_contents(void **state)
{
    (void)state;
    struct cg_ring *r = cg_ring_new(4096);
    for (uint64_t k = 0; k < 5; k++)
        assert_non_null(push(r, (size_t)k + 1, k * 100));
    for (uint64_t k = 0; k < 5; k++) {
        const struct cg_sample_rec *rec = cg_ring_peek(r);
        assert_non_null(rec);
        assert_int_equal(rec->depth, k + 1);
        for (size_t i = 0; i < rec->depth; i++)
            assert_int_equal(rec->pcs[i], k * 100 + i);
        cg_ring_release(r, rec);
    }
    assert_null(cg_ring_peek(r));
    cg_ring_free(r);
}

static void full_ring_drops_and_counts(void **state)
{
    (void)state;
    struct cg_ring *r = cg_ring_new(4096);
    size_t pushed = 0;
    while (push(r, 20, pushed))
        pushed++;
    assert_true(pushed > 0);
    assert_int_equal(cg_ring_drops(r), 1);
    assert_null(push(r, 20, 0));
    assert_int_equal(cg_ring_drops(r), 2);
    /* Draining frees room again. */
    const struct cg_sample_rec *rec = cg_ring_peek(r);
    cg_ring_release(r, rec);
    rec = cg_ring_peek(r);
    cg_ring_release(r, rec);
    assert_non_null(push(r, 20, 7));
    cg_ring_free(r);
}

static void oversized_record_is_refused(void **state)
{
    (void)state;
    struct cg_ring *r = cg_ring_new(4096);
    assert_null(cg_ring_reserve_sigsafe(r, 4096));
    assert_int_equal(cg_ring_drops(r), 1);
    cg_ring_free(r);
}

static void wraparound_inserts_pad_and_keeps_records_whole(void **state)
{
    (void)state;
    struct cg_ring *r = cg_ring_new(4096);
    /* Records of 16 + 8*40 = 336 bytes do not divide 4096: wrap needs a pad. */
    for (uint64_t k = 0; k < 1000; k++) {
        assert_non_null(push(r, 40, k));
        const struct cg_sample_rec *rec = cg_ring_peek(r);
        assert_non_null(rec);
        assert_int_equal(rec->pcs[0], k);
        assert_int_equal(rec->pcs[39], k + 39);
        cg_ring_release(r, rec);
    }
    assert_int_equal(cg_ring_drops(r), 0);
    cg_ring_free(r);
}

#define N_RECORDS 200000

struct spsc {
    struct cg_ring *ring;
    uint64_t produced;
    uint64_t dropped_by_producer;
};

static void *producer(void *p)
{
    struct spsc *s = p;
    for (uint64_t seq = 0; seq < N_RECORDS; seq++) {
        size_t depth = 1 + seq % 37;
        if (push(s->ring, depth, seq << 8))
            s->produced++;
        else
            s->dropped_by_producer++;
    }
    return NULL;
}

static void concurrent_producer_consumer_lose_nothing_but_counted_drops(void **state)
{
    (void)state;
    struct spsc s = {cg_ring_new(8192), 0, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, producer, &s), 0);
    uint64_t consumed = 0, last_seq = 0;
    int producer_done = 0;
    for (;;) {
        const struct cg_sample_rec *rec = cg_ring_peek(s.ring);
        if (!rec) {
            if (producer_done)
                break;
            if (pthread_tryjoin_np(t, NULL) == 0)
                producer_done = 1;
            continue;
        }
        uint64_t seq = rec->pcs[0] >> 8;
        /* Sequence strictly increases (drops leave gaps), contents intact. */
        assert_true(consumed == 0 || seq > last_seq);
        assert_int_equal(rec->depth, 1 + seq % 37);
        for (size_t i = 0; i < rec->depth; i++)
            assert_int_equal(rec->pcs[i], (seq << 8) + i);
        last_seq = seq;
        consumed++;
        cg_ring_release(s.ring, rec);
    }
    assert_int_equal(consumed, s.produced);
    assert_int_equal(cg_ring_drops(s.ring), s.dropped_by_producer);
    assert_int_equal(consumed + cg_ring_drops(s.ring), N_RECORDS);
    cg_ring_free(s.ring);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_ring_peeks_null),
        cmocka_unit_test(records_come_out_in_order_with_contents),
        cmocka_unit_test(full_ring_drops_and_counts),
        cmocka_unit_test(oversized_record_is_refused),
        cmocka_unit_test(wraparound_inserts_pad_and_keeps_records_whole),
        cmocka_unit_test(concurrent_producer_consumer_lose_nothing_but_counted_drops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
