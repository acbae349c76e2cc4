/*
 * own_mem.h - fault-proof reads of our own memory, through a small cache.
 *
 * Unwinding a blocked thread reads its stack and the unwind tables one
 * word, often one byte, at a time (libunwind's DWARF parser asks for each
 * byte of an FDE separately).  Each read is a process_vm_readv, so a bad
 * address is an error instead of a SIGSEGV in the host, but each costs a
 * system call and a page pin, about a microsecond.  Reading whole aligned
 * 256-byte lines and keeping the last few turns a stack's hundreds of
 * reads into a few dozen calls.
 *
 * The cache holds a snapshot: reset it before each unwind, so nothing read
 * before (a stack that has moved since, a library unloaded since) is
 * served again.
 *
 * Owns: the cached lines (inside the struct; no allocation).
 * Thread safety: one cache per thread.
 * Signal safety: none needed; never called from a signal handler.
 */
#ifndef CG_OWN_MEM_H
#define CG_OWN_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CG_OWN_MEM_LINE 256
#define CG_OWN_MEM_LINES 32

struct cg_own_mem {
    uint64_t tag[CG_OWN_MEM_LINES]; /* line address + 1; 0: empty */
    unsigned char line[CG_OWN_MEM_LINES][CG_OWN_MEM_LINE];
    uint64_t calls;                 /* process_vm_readv calls made, for tests */
};

/* Forgets every cached line. */
void cg_own_mem_reset(struct cg_own_mem *m);

/* Copies n bytes at addr into buf.  Returns false when any of them is not
 * readable (unmapped, or no read permission); buf is then undefined. */
bool cg_own_mem_read(struct cg_own_mem *m, uint64_t addr, void *buf, size_t n);

#endif
