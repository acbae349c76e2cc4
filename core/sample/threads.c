/*
 * threads.c - fixed-capacity registry of profiled threads.
 *
 * DESIGN: a plain array scanned linearly.  The handler scans only on its
 * first sample in a thread that did not register itself (then points the
 * thread's word at the slot's block, core/base/thread_tls.h), and the
 * agent scans every drain; with at most a few
 * thousand slots both are cheap and need no hash table that could be
 * caught half-rehashed by a signal.  Slots are claimed with a CAS from
 * FREE, so registration from many threads at once is safe.
 *
 * Ordering: the registering thread fills tid, ring and timer fields, then
 * store-releases ACTIVE; finders load-acquire the state before reading
 * the fields (each acquire pairs with that release).
 */
#include "core/sample/threads.h"

#include "core/sample/frame_rules.h"

#include "core/sample/ring.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct cg_threads {
    size_t capacity;
    size_t ring_bytes;
    _Atomic size_t in_use;
    struct cg_thread_slot slots[];
};

struct cg_threads *cg_threads_new(size_t max_threads, size_t ring_bytes)
{
    struct cg_threads *t = calloc(1, sizeof(*t) + max_threads * sizeof(t->slots[0]));
    if (!t)
        return NULL;
    t->capacity = max_threads;
    t->ring_bytes = ring_bytes;
    return t;
}

void cg_threads_free(struct cg_threads *threads)
{
    if (!threads)
        return;
    for (size_t i = 0; i < threads->capacity; i++) {
        cg_ring_free(threads->slots[i].ring);
        free(threads->slots[i].wall_pcs);
        free(threads->slots[i].walk_memo);
    }
    free(threads);
}

struct cg_thread_slot *cg_threads_register(struct cg_threads *threads, pid_t tid,
                                           uint64_t start_ticks)
{
    for (size_t i = 0; i < threads->capacity; i++) {
        struct cg_thread_slot *s = &threads->slots[i];
        int expected = CG_SLOT_FREE;
        if (atomic_load_explicit(&s->state, memory_order_relaxed) != CG_SLOT_FREE)
            continue;
        if (!atomic_compare_exchange_strong(&s->state, &expected, CG_SLOT_CLAIMED))
            continue;
        struct cg_ring *ring = cg_ring_new(threads->ring_bytes);
        if (!ring) {
            atomic_store(&s->state, CG_SLOT_FREE);
            return NULL;
        }
        /* A fresh memo for the new owner (an empty one if it cannot be
         * had: the walk then works without). */
        if (s->walk_memo)
            memset(s->walk_memo, 0, sizeof(*s->walk_memo));
        else
            s->walk_memo = calloc(1, sizeof(*s->walk_memo));
        /* No owner yet: a thread whose word still points here (the
         * previous owner's, if it lives on) no longer trusts it. */
        memset(&s->block, 0, sizeof(s->block));
        s->tid = tid;
        s->start_ticks = start_ticks;
        atomic_store(&s->timer_id, -1);
        s->has_timer = false;
        s->self_registered = false;
        s->ring = ring;
        s->drops_reported = 0;
        atomic_store_explicit(&s->handler_ns, 0, memory_order_relaxed);
        atomic_store_explicit(&s->handler_calls, 0, memory_order_relaxed);
        atomic_store_explicit(&s->stack_lo, 0, memory_order_relaxed);
        atomic_store_explicit(&s->stack_hi, 0, memory_order_relaxed);
        s->handler_ns_reported = 0;
        s->handler_calls_reported = 0;
        atomic_store_explicit(&s->records_taken, 0, memory_order_relaxed);
        s->wall_nr = 0;
        s->wall_sp = s->wall_pc = 0;
        s->wall_pcs = NULL;
        s->wall_depth = 0;
        atomic_fetch_add(&threads->in_use, 1);
        /* Release: fields above are visible to whoever sees ACTIVE. */
        atomic_store_explicit(&s->state, CG_SLOT_ACTIVE, memory_order_release);
        return s;
    }
    return NULL;
}

struct cg_thread_slot *cg_threads_find_sigsafe(struct cg_threads *threads, pid_t tid)
{
    for (size_t i = 0; i < threads->capacity; i++) {
        struct cg_thread_slot *s = &threads->slots[i];
        /* Acquire pairs with the release in cg_threads_register. */
        if (atomic_load_explicit(&s->state, memory_order_acquire) == CG_SLOT_ACTIVE &&
            s->tid == tid)
            return s;
    }
    return NULL;
}

bool cg_threads_undrained_sigsafe(struct cg_threads *threads)
{
    for (size_t i = 0; i < threads->capacity; i++) {
        struct cg_thread_slot *s = &threads->slots[i];
        /* Acquire pairs with the release in cg_threads_register. */
        int st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (st != CG_SLOT_ACTIVE && st != CG_SLOT_EXITED)
            continue;
        /* Handler calls first, records taken second: a record taken
         * between the two loads makes them differ, and so does a call
         * that committed nothing (a drop); both only err towards
         * "undrained", which costs an exit a few milliseconds' wait. */
        uint64_t committed = atomic_load(&s->handler_calls);
        if (committed != atomic_load(&s->records_taken))
            return true;
    }
    return false;
}

bool cg_threads_slot_reused(const struct cg_thread_slot *slot, uint64_t start_ticks)
{
    if (slot->start_ticks == CG_START_TICKS_SELF)
        return true;
    return slot->start_ticks != 0 && start_ticks != 0 && slot->start_ticks != start_ticks;
}

void cg_threads_mark_exited(struct cg_thread_slot *slot)
{
    int expected = CG_SLOT_ACTIVE;
    atomic_compare_exchange_strong(&slot->state, &expected, CG_SLOT_EXITED);
}

void cg_threads_for_each(struct cg_threads *threads,
                         void (*fn)(struct cg_thread_slot *slot, void *ctx), void *ctx)
{
    for (size_t i = 0; i < threads->capacity; i++) {
        struct cg_thread_slot *s = &threads->slots[i];
        int st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (st == CG_SLOT_ACTIVE || st == CG_SLOT_EXITED)
            fn(s, ctx);
    }
}

void cg_threads_reclaim(struct cg_threads *threads, struct cg_thread_slot *slot)
{
    if (atomic_load(&slot->state) != CG_SLOT_EXITED)
        return;
    cg_ring_free(slot->ring);
    slot->ring = NULL;
    free(slot->wall_pcs);
    slot->wall_pcs = NULL;
    slot->wall_depth = 0;
    slot->tid = 0;
    atomic_fetch_sub(&threads->in_use, 1);
    atomic_store_explicit(&slot->state, CG_SLOT_FREE, memory_order_release);
}

size_t cg_threads_count(const struct cg_threads *threads)
{
    return atomic_load(&((struct cg_threads *)threads)->in_use);
}

size_t cg_threads_capacity(const struct cg_threads *threads)
{
    return threads->capacity;
}

size_t cg_threads_bytes(const struct cg_threads *threads)
{
    size_t n = sizeof(*threads) + threads->capacity * sizeof(threads->slots[0]);
    for (size_t i = 0; i < threads->capacity; i++)
        if (threads->slots[i].ring)
            n += cg_ring_bytes(threads->slots[i].ring);
    for (size_t i = 0; i < threads->capacity; i++)
        if (threads->slots[i].walk_memo)
            n += sizeof(struct cg_walk_memo);
    return n;
}
