/*
 * python_walk.c - reading one thread's Python frame chain: in the signal
 * handler for the interrupted thread, and on the agent thread for a
 * thread that waits.
 *
 * DESIGN: one walk, two ways of reading.
 *   - The handler (cg_py_walk_sigsafe) finds the thread's PyThreadState
 *     with pthread_getspecific on the interpreter's own thread-state key
 *     (the one PyGILState_GetThisThreadState reads: set for every thread
 *     that ever ran Python, held or not the GIL, cleared before the state
 *     is freed).  Only the thread itself changes its chain, and it is
 *     stopped in the handler, so what the chain reaches is alive, with
 *     two exceptions the reads are built for:
 *       * 3.11+ keeps frames in per-thread stack chunks (mmap'd), and a
 *         return that empties a chunk unmaps it before the interpreter
 *         moves its current frame back: a signal arriving between the two
 *         (munmap's return is exactly where a pending signal lands) would
 *         see a frame in unmapped memory.  So a frame is read in place
 *         only when it lies in a chunk still linked from the thread state
 *         (unlinked before it is unmapped), or in the thread's own stack
 *         (3.12+'s entry frames live there); any other frame (a
 *         generator's or coroutine's, inside its object) is read with
 *         process_vm_readv, which answers EFAULT instead of faulting.
 *       * Code objects are never read here, only recorded: a frame being
 *         popped may name one that was just freed.  The agent checks each
 *         one through checked reads when it names it (python_code.c).
 *     3.10 and older keep frames as heap objects: the thread state points
 *     only at a frame once it is complete and stops pointing at it before
 *     it is released, and each frame holds its caller, so the chain is
 *     read in place, as are the code object's argument count and, when
 *     it has arguments, the first one's type (the frame holds references
 *     to its code and its arguments).
 *   - The agent thread (cg_py_walk_remote) reads everything with
 *     process_vm_readv through a small cache (core/sample/own_mem.h): the
 *     thread may run meanwhile, and a torn chain costs frames, never a
 *     fault.
 * Frames are bounded (CG_PY_MAX_FRAMES) and must be 8-byte aligned.
 * What it won't do: lock, allocate, touch a reference count, or call the
 * interpreter.
 */
#include "core/runtime/python_internal.h"

#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

_Atomic(struct py_sampler *) cg_py_sampler;

#define MAX_CHUNKS 16

struct reader {
    bool remote;               /* true: every read through mem */
    struct cg_own_mem *mem;
    uint64_t chunk_lo[MAX_CHUNKS], chunk_hi[MAX_CHUNKS];
    size_t n_chunks;
    uint64_t stack_lo, stack_hi;
};

bool cg_py_read(struct cg_own_mem *m, uint64_t addr, void *buf, size_t n)
{
    return addr && cg_own_mem_read(m, addr, buf, n);
}

bool cg_py_read_word(struct cg_own_mem *m, uint64_t addr, uint64_t *out)
{
    return cg_py_read(m, addr, out, sizeof(*out));
}

/* One process_vm_readv of our own memory: EFAULT instead of a fault.
 * Async-signal-safe (a system call). */
static bool checked_copy_sigsafe(uint64_t addr, void *buf, size_t n)
{
    struct iovec local = {buf, n};
    struct iovec remote = {(void *)(uintptr_t)addr, n};
    return syscall(SYS_process_vm_readv, (long)getpid(), &local, 1L, &remote, 1L, 0L) == (long)n;
}

/* A word the walk may read in place: see the DESIGN note. */
static bool read_word(struct reader *r, uint64_t addr, uint64_t *out)
{
    if (!addr || (addr & 7))
        return false;
    if (r->remote)
        return cg_py_read_word(r->mem, addr, out);
    *out = *(const volatile uint64_t *)(uintptr_t)addr;
    return true;
}

static bool read_int(struct reader *r, uint64_t addr, int32_t *out)
{
    if (!addr || (addr & 3))
        return false;
    if (r->remote)
        return cg_py_read(r->mem, addr, out, sizeof(*out));
    *out = *(const volatile int32_t *)(uintptr_t)addr;
    return true;
}

static bool in_known_memory(const struct reader *r, uint64_t addr, size_t n)
{
    for (size_t i = 0; i < r->n_chunks; i++)
        if (addr >= r->chunk_lo[i] && n <= r->chunk_hi[i] - addr)
            return true;
    return r->stack_hi && addr >= r->stack_lo && addr < r->stack_hi && n <= r->stack_hi - addr;
}

/* The frame's bytes: in place when they may be read there (the DESIGN
 * note), else copied into buf; NULL when unreadable. */
static const unsigned char *read_frame(struct reader *r, const struct cg_py_layout *L,
                                       uint64_t f, unsigned char *buf)
{
    size_t n = (size_t)L->frame_size;
    if (!f || (f & 7) || n > CG_PY_FRAME_BYTES)
        return NULL;
    if (r->remote)
        return cg_py_read(r->mem, f, buf, n) ? buf : NULL;
    if (L->chain == CG_PY_CHAIN_FRAMEOBJ || in_known_memory(r, f, n))
        return (const unsigned char *)(uintptr_t)f;
    return checked_copy_sigsafe(f, buf, n) ? buf : NULL;
}

/* The chunks linked from the thread state (3.11+), for read_frame. */
static void load_chunks(struct reader *r, const struct cg_py_layout *L, uint64_t tstate)
{
    uint64_t c = 0;
    r->n_chunks = 0;
    if (L->tstate_datastack_chunk < 0 || !read_word(r, tstate + (uint64_t)L->tstate_datastack_chunk, &c))
        return;
    while (c && r->n_chunks < MAX_CHUNKS) {
        uint64_t prev = 0, size = 0;
        if (!read_word(r, c + (uint64_t)L->chunk_previous, &prev) ||
            !read_word(r, c + (uint64_t)L->chunk_size, &size) || size > (1ull << 32) ||
            c > UINT64_MAX - size)
            return;
        r->chunk_lo[r->n_chunks] = c;
        r->chunk_hi[r->n_chunks] = c + size;
        r->n_chunks++;
        c = prev;
    }
}

static uint64_t get_u64(const unsigned char *buf, long off)
{
    uint64_t v;
    memcpy(&v, buf + off, sizeof(v));
    return v;
}

/* The instruction's byte offset in its code object, CG_PY_NO_OFFSET when
 * it makes no sense (a frame not started, a torn read). */
static uint32_t instr_offset(const struct cg_py_layout *L, const unsigned char *buf, uint64_t code)
{
    if (L->chain == CG_PY_CHAIN_FRAMEOBJ) {
        int32_t lasti;
        memcpy(&lasti, buf + L->frame_instr, sizeof(lasti));
        if (lasti < 0)
            return 0;
        /* 3.10 counts 2-byte code units, older versions bytes. */
        return L->minor >= 10 ? (uint32_t)lasti * 2 : (uint32_t)lasti;
    }
    uint64_t instr = get_u64(buf, L->frame_instr);
    uint64_t first = code + (uint64_t)L->code_adaptive;
    if (instr + 2 == first)
        return 0; /* prev_instr before the first instruction */
    if (instr < first || instr - first > (1u << 24))
        return CG_PY_NO_OFFSET;
    return (uint32_t)(instr - first);
}

static size_t walk(struct reader *r, const struct cg_py_layout *L, uint64_t tstate,
                   uint64_t *words, size_t max_words)
{
    uint64_t f = 0;
    if (!read_word(r, tstate + (uint64_t)L->tstate_frame, &f))
        return 0;
    if (L->chain == CG_PY_CHAIN_CFRAME &&
        (!f || !read_word(r, f + (uint64_t)L->cframe_current_frame, &f)))
        return 0;
    if (L->chain != CG_PY_CHAIN_FRAMEOBJ && !r->remote)
        load_chunks(r, L, tstate);
    unsigned char copy[CG_PY_FRAME_BYTES];
    size_t n = 0;
    for (unsigned frames = 0; f && frames < CG_PY_MAX_FRAMES && n + CG_PY_WORDS <= max_words;
         frames++) {
        const unsigned char *buf = read_frame(r, L, f, copy);
        if (!buf)
            break;
        uint64_t prev = get_u64(buf, L->frame_previous);
        uint64_t code = get_u64(buf, L->frame_code);
        unsigned flags = 0;
        uint64_t aux = 0;
        if (L->chain == CG_PY_CHAIN_FRAMEOBJ) {
            flags = CG_PY_ENTRY; /* one evaluator call per frame */
            /* localsplus[0] is the first argument only when there is one:
             * otherwise it may be a value-stack slot holding a pointer to
             * an object long freed.  The frame holds its code object. */
            int32_t argc = 0;
            uint64_t first_arg = 0;
            if (code && !(code & 7) && read_int(r, code + (uint64_t)L->code_argcount, &argc) &&
                argc > 0)
                first_arg = get_u64(buf, L->frame_localsplus);
            if (first_arg && !read_word(r, first_arg + (uint64_t)L->object_type, &aux))
                aux = 0;
        } else {
            int owner = buf[L->frame_owner];
            if (owner == L->owner_cstack) {
                /* 3.12+: the evaluator's entry frame, on its C stack: the
                 * frame before it was the first that call ran. */
                if (n)
                    words[n - CG_PY_WORDS] |= (uint64_t)CG_PY_ENTRY << 32;
                f = prev;
                continue;
            }
            if (L->frame_is_entry >= 0 && buf[L->frame_is_entry])
                flags = CG_PY_ENTRY;
        }
        if (!code || (code & 7))
            break;
        words[n++] = CG_PY_WORD_TAG | (uint64_t)flags << 32 | instr_offset(L, buf, code);
        words[n++] = code;
        words[n++] = aux;
        f = prev;
    }
    /* The outermost frame began the outermost call, unless the chain was
     * cut short (no room, or CG_PY_MAX_FRAMES): then its root is lost. */
    if (n)
        words[n - CG_PY_WORDS] |= (uint64_t)(f ? CG_PY_CUT : CG_PY_ENTRY) << 32;
    return n;
}

size_t cg_py_walk_sigsafe(uint64_t stack_lo, uint64_t stack_hi, uint64_t *words,
                          size_t max_words)
{
    /* Acquire pairs with the release in python.c's publish. */
    struct py_sampler *s = atomic_load_explicit(&cg_py_sampler, memory_order_acquire);
    if (!s || max_words < CG_PY_WORDS)
        return 0;
    /* While the interpreter is finalised it frees the states of threads
     * that still run (daemon threads), their keys still set. */
    if (*s->finalizing)
        return 0;
    uint64_t tstate = (uint64_t)(uintptr_t)pthread_getspecific(s->tss_key);
    if (!tstate || (tstate & 7))
        return 0;
    struct reader r = {.remote = false, .stack_lo = stack_lo, .stack_hi = stack_hi};
    /* The state must be this thread's: a key some other library reuses
     * after the interpreter's end would hold anything. */
    uint64_t owner = 0;
    if (!read_word(&r, tstate + (uint64_t)s->L.tstate_thread_id, &owner) ||
        owner != (uint64_t)pthread_self())
        return 0;
    return walk(&r, &s->L, tstate, words, max_words);
}

size_t cg_py_walk_remote(const struct cg_py_layout *L, struct cg_own_mem *m, uint64_t tstate,
                         uint64_t *words, size_t max_words)
{
    struct reader r = {.remote = true, .mem = m};
    return walk(&r, L, tstate, words, max_words);
}
