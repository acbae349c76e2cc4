/*
 * ring.c - SPSC ring of variable-length sample records.
 *
 * DESIGN: head and tail are free-running 64-bit byte counters (they never
 * wrap in practice); the buffer offset is counter & mask.  The producer
 * owns head, the consumer owns tail.  A record never straddles the end of
 * the buffer: when the contiguous space left before the end is too small,
 * the producer writes a pad record there and starts at offset 0.
 *
 * Ordering (each acquire is paired with a release):
 *   producer: writes record bytes, then store-release head   (A)
 *   consumer: load-acquire head (pairs with A), reads the record,
 *             then store-release tail                       (B)
 *   producer: load-acquire tail (pairs with B) before reusing space.
 *
 * What it won't do: allocate or block in the producer; grow.
 */
#include "core/sample/ring.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

struct cg_ring {
    _Atomic uint64_t head;   /* bytes published by the producer */
    char pad0[56];           /* keep producer and consumer lines apart */
    _Atomic uint64_t tail;   /* bytes consumed by the consumer */
    char pad1[56];
    _Atomic uint64_t drops;  /* samples lost (full ring or producer-counted) */
    uint64_t open_head;      /* producer only: head at the open reservation */
    size_t capacity;         /* power of two */
    size_t map_bytes;        /* size of the whole mapping */
    unsigned char *buf;      /* capacity bytes, right after this struct */
};

#define REC_ALIGN 16u

size_t cg_ring_record_bytes(size_t depth)
{
    size_t n = sizeof(struct cg_sample_rec) + depth * sizeof(uint64_t);
    return (n + REC_ALIGN - 1) & ~(size_t)(REC_ALIGN - 1);
}

struct cg_ring *cg_ring_new(size_t capacity_bytes)
{
    size_t cap = 4096;
    while (cap < capacity_bytes)
        cap <<= 1;
    size_t header = (sizeof(struct cg_ring) + 63) & ~(size_t)63;
    size_t total = header + cap;
    void *mem = mmap(NULL, total, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    struct cg_ring *ring = mem;
    memset(ring, 0, sizeof(*ring));
    ring->capacity = cap;
    ring->map_bytes = total;
    ring->buf = (unsigned char *)mem + header;
    return ring;
}

void cg_ring_free(struct cg_ring *ring)
{
    if (ring)
        munmap(ring, ring->map_bytes);
}

struct cg_sample_rec *cg_ring_reserve_sigsafe(struct cg_ring *ring, size_t max_bytes)
{
    size_t need = (max_bytes + REC_ALIGN - 1) & ~(size_t)(REC_ALIGN - 1);
    if (need > ring->capacity / 2) {
        atomic_fetch_add_explicit(&ring->drops, 1, memory_order_relaxed);
        return NULL;
    }
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    /* Acquire pairs with the consumer's release of tail (B). */
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    size_t used = (size_t)(head - tail);
    size_t off = (size_t)head & (ring->capacity - 1);
    size_t to_end = ring->capacity - off;
    size_t pad = to_end < need ? to_end : 0;
    if (ring->capacity - used < pad + need) {
        atomic_fetch_add_explicit(&ring->drops, 1, memory_order_relaxed);
        return NULL;
    }
    if (pad) {
        struct cg_sample_rec *p = (struct cg_sample_rec *)(ring->buf + off);
        p->size_bytes = (uint32_t)pad;
        p->depth = 0;
        p->flags = CG_REC_PAD;
        head += pad;
        off = 0;
    }
    ring->open_head = head;
    return (struct cg_sample_rec *)(ring->buf + off);
}

bool cg_ring_commit_sigsafe(struct cg_ring *ring, struct cg_sample_rec *rec)
{
    uint64_t head = ring->open_head + rec->size_bytes;
    /* Release pairs with the consumer's acquire of head (A): the record
     * (and any pad written at reserve time) is complete before it shows. */
    atomic_store_explicit(&ring->head, head, memory_order_release);
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    uint64_t half = ring->capacity / 2;
    return head - tail >= half && ring->open_head - tail < half;
}

void cg_ring_count_drop_sigsafe(struct cg_ring *ring)
{
    atomic_fetch_add_explicit(&ring->drops, 1, memory_order_relaxed);
}

const struct cg_sample_rec *cg_ring_peek(struct cg_ring *ring)
{
    for (;;) {
        uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
        /* Acquire pairs with the producer's release of head (A). */
        uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
        if (tail == head)
            return NULL;
        const struct cg_sample_rec *rec =
            (const struct cg_sample_rec *)(ring->buf + ((size_t)tail & (ring->capacity - 1)));
        if (!(rec->flags & CG_REC_PAD))
            return rec;
        /* Release pairs with the producer's acquire of tail (B). */
        atomic_store_explicit(&ring->tail, tail + rec->size_bytes, memory_order_release);
    }
}

void cg_ring_release(struct cg_ring *ring, const struct cg_sample_rec *rec)
{
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    /* Release pairs with the producer's acquire of tail (B): we are done
     * reading the record before its bytes can be overwritten. */
    atomic_store_explicit(&ring->tail, tail + rec->size_bytes, memory_order_release);
}

uint64_t cg_ring_drops(const struct cg_ring *ring)
{
    return atomic_load_explicit(&((struct cg_ring *)ring)->drops, memory_order_relaxed);
}

size_t cg_ring_bytes(const struct cg_ring *ring)
{
    return ring->map_bytes;
}
