/*
 * ring.h - a single-producer single-consumer ring of variable-length
 * sample records, one per profiled thread.
 *
 * The producer is the owning thread's SIGPROF handler (re-entry is guarded
 * there, so there is exactly one producer); the consumer is the agent
 * thread.  Records are written in place: the handler reserves the largest
 * record it might write, unwinds straight into it, then commits the size
 * it used.  When the ring has no room the sample is dropped and counted.
 *
 * Memory comes from mmap at cg_ring_new() (never from the handler) and is
 * returned with munmap, so rings do not fragment the application's heap.
 *
 * Owns: the ring's mmap'd memory and its counters.
 * Thread safety: one producer thread and one consumer thread (the agent
 * thread) at a time.
 * Signal safety: functions named *_sigsafe are async-signal-safe and
 * lock-free.  Everything else runs on ordinary threads.
 */
#ifndef CG_RING_H
#define CG_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Header of each record; frames (uint64_t program counters, leaf first)
 * follow it.  Sizes are multiples of 16 so a wrap-around pad record
 * always has room for a header. */
struct cg_sample_rec {
    uint32_t size_bytes; /* whole record including header and padding */
    uint16_t depth;      /* number of frames that follow */
    uint8_t key;         /* enum cg_count_key (count_key.h) */
    uint8_t flags;       /* CG_REC_* */
    uint32_t weight;     /* samples this record stands for (1 + expiries the
                            kernel merged into the signal, normally) */
    uint32_t missed;     /* merged expiries delivered as SIGPROF was unblocked:
                            CPU time whose place is unknown, counted as dropped */
    uint64_t pcs[];      /* pcs[0] is the interrupted PC, then return addresses */
};

enum {
    CG_REC_PAD = 1u << 0,       /* filler up to the end of the buffer: skip */
    CG_REC_TRUNCATED = 1u << 1, /* the unwinder ran out of room: root side lost */
    CG_REC_UNWIND_FAILED = 1u << 2, /* only the interrupted PC is known */
    CG_REC_SLOW = 1u << 3,      /* unwound by libunwind: the frame rules
                                   (frame_rules.h) lacked an address */
    CG_REC_PYTHON = 1u << 4,    /* Python words follow the native frames
                                   (core/runtime/python.h) */
    CG_REC_LEARN = 1u << 5,     /* some frames were stepped with copied
                                   unwind tables (frame_rules.h): their
                                   rules are still to be learned */
};

/* Java frames (core/runtime/jvm.h) travel in the same array as native
 * PCs, two words each: a tag word CG_JAVA_WORD_TAG | (uint32_t)bci, then
 * the jmethodID.  No user-space PC has these top bits, so the raw-stack
 * table keeps them apart from native frames without a format of its own.
 * A jmethodID of 0 marks a Java stack that could not be walked; the bci
 * word then carries AsyncGetCallTrace's (negative) reason. */
/* Python frames (core/runtime/python.h) follow the same idea with a tag
 * of their own, CG_PY_WORD_TAG, three words each. */
#define CG_JAVA_WORD_MASK 0xffff000000000000ull
#define CG_JAVA_WORD_TAG 0xca5e000000000000ull

static inline int cg_word_is_java(uint64_t w)
{
    return (w & CG_JAVA_WORD_MASK) == CG_JAVA_WORD_TAG;
}

struct cg_ring;

/* Most frames one record holds (the handler unwinds at most this many,
 * its own two frames included): record_bytes(1022) is 8 KiB, a quarter of
 * CG_RING_DEFAULT_BYTES, so a ring always has room for several. */
#define CG_MAX_UNWIND_FRAMES 1022
#define CG_RING_DEFAULT_BYTES (32 * 1024)

/* Largest record a ring of `capacity_bytes` accepts, and the size a record
 * with `depth` frames takes. */
size_t cg_ring_record_bytes(size_t depth);

/* New ring with room for `capacity_bytes` (rounded up to a power of two,
 * at least 4096).  Returns NULL when mmap fails. */
struct cg_ring *cg_ring_new(size_t capacity_bytes);

/* Unmaps the ring.  NULL-safe.  The producer must be gone. */
void cg_ring_free(struct cg_ring *ring);

/* Producer: a pointer to `max_bytes` of contiguous space for one record,
 * or NULL when there is no room (the drop is counted).  At most one
 * reservation is open at a time.  Async-signal-safe. */
struct cg_sample_rec *cg_ring_reserve_sigsafe(struct cg_ring *ring, size_t max_bytes);

/* Producer: publish the reserved record; rec->size_bytes must be set (a
 * multiple of 16, at most the reserved size).  Release ordering makes the
 * record's contents visible before the consumer sees the new head.
 * Returns true when this record filled the ring past half its capacity
 * (it was below before): time to have the consumer drain it, before a
 * few more deep stacks find no room.  Async-signal-safe. */
bool cg_ring_commit_sigsafe(struct cg_ring *ring, struct cg_sample_rec *rec);

/* Producer: count a sample lost for a reason other than a full ring.
 * Async-signal-safe. */
void cg_ring_count_drop_sigsafe(struct cg_ring *ring);

/* Consumer: the oldest unread record, or NULL when empty.  The pointer
 * stays valid until cg_ring_release().  Pad records are skipped. */
const struct cg_sample_rec *cg_ring_peek(struct cg_ring *ring);

/* Consumer: free the record returned by the last cg_ring_peek(). */
void cg_ring_release(struct cg_ring *ring, const struct cg_sample_rec *rec);

/* Samples dropped so far (ring full or counted by the producer).  Any
 * thread; the value may lag by a sample. */
uint64_t cg_ring_drops(const struct cg_ring *ring);

/* Bytes of memory the ring holds. */
size_t cg_ring_bytes(const struct cg_ring *ring);

#endif
