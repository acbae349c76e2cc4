/*
 * wall.h - wall-clock stacks of threads that are off the CPU, taken
 * WITHOUT interrupting them.
 *
 * A signal makes nanosleep, poll, epoll_wait, read and friends return
 * EINTR whatever SA_RESTART says, and real programs break on that.  A
 * thread blocked in a system call shows its user stack pointer and
 * program counter in /proc/self/task/TID/syscall; this module unwinds from
 * there with a libunwind address space whose memory accessor reads our
 * own memory with process_vm_readv (a bad address is an error, never a
 * fault), then re-reads the file and discards the stack if the thread
 * moved meanwhile.  No signal is ever sent.
 *
 * Owns: a libunwind address space and its caches.
 * Thread safety: one cg_wall per thread (the agent thread).
 * Signal safety: none; never called from a signal handler.
 */
#ifndef CG_WALL_H
#define CG_WALL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cg_wall;

/* What /proc says a thread is doing. */
struct cg_wall_state {
    char state;         /* R, S, D, T, Z… from /proc/self/task/TID/stat */
    int in_syscall;     /* 1: blocked in a system call; sp and pc are valid */
    long nr;            /* system call number (-1 when blocked outside one) */
    uint64_t sp, pc;
};

struct cg_wall *cg_wall_new(void);
void cg_wall_free(struct cg_wall *w);

/* Reads the thread's state.  Returns 0, CG_ENOTFOUND (thread gone), or
 * CG_EPARSE. */
int cg_wall_read_state(pid_t tid, struct cg_wall_state *out);

/* Unwinds a blocked thread from st->sp/st->pc into pcs (leaf first, raw
 * return addresses), at most max frames.  Returns 0 with *depth >= 1, or
 * an error. */
int cg_wall_unwind(struct cg_wall *w, const struct cg_wall_state *st, uint64_t *pcs,
                   size_t max, size_t *depth);

#endif
