/*
 * sigreturn.h - stepping out of a signal frame whose return trampoline no
 * unwind table describes: musl's __restore_rt.
 *
 * A signal handler returns into the trampoline its libc named as the
 * action's restorer (`mov $15,%rax; syscall`: rt_sigreturn), with the
 * interrupted registers saved in the ucontext the kernel put at the stack
 * pointer.  glibc describes its trampoline in .eh_frame with an FDE marked
 * as a signal frame ('S'), whose rules read those registers back; an
 * unwinder steps through it like any frame, and libunwind's fast trace
 * knows the shape (its SIGRETURN frames).  musl's libc carries no unwind
 * tables for it (nor for most of its code): libunwind 1.6.2 stops at the
 * trampoline, so the SIGPROF handler's own unw_backtrace, which starts in
 * the handler, never reaches the interrupted program.
 *
 * So, for the musl build: the trampoline is found from the kernel's record
 * of the agent's own SIGPROF action (its sa_restorer) and recognised by its
 * code bytes; then
 *   - an FDE like glibc's, marked 'S', is registered for it with
 *     libunwind (_U_dyn_register, as core/sample/jit_unwind.c does for
 *     generated trampolines), and
 *   - the frame-rule walk (core/sample/frame_rules.h) steps through it
 *     with cg_sigreturn_step_sigsafe(), for a sample taken while the
 *     program's own signal handler runs.
 * Also kept: the bounds of the code of the object the trampoline is in
 * (musl's libc.so, which is also its dynamic loader), for the rule
 * learner (core/sample/frame_learn.c).
 *
 * Owns: the trampoline's address and the libc code range (set once), and
 * the registered unwind info (static storage, never unregistered).
 * Thread safety: cg_sigreturn_init() once, from the constructor, before
 * any thread is sampled; the rest from any thread.
 * Signal safety: functions named *_sigsafe are async-signal-safe and
 * lock-free; cg_sigreturn_init() is not (dl_iterate_phdr, libunwind's
 * registration lock).
 */
#ifndef CG_SIGRETURN_H
#define CG_SIGRETURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* rt_sigreturn's trampoline on x86-64, as musl (and glibc) write it:
 * mov $15,%rax (48 c7 c0 0f 00 00 00); syscall (0f 05). */
#define CG_SIGRETURN_CODE_BYTES 9

/* True when the CG_SIGRETURN_CODE_BYTES bytes at `code` are the
 * trampoline's. */
bool cg_sigreturn_code_is_trampoline(const uint8_t *code);

/* Finds the trampoline of `signo`'s installed action (the agent's own
 * SIGPROF handler, installed by the caller just before), checks its bytes,
 * registers its unwind info with libunwind and notes the code range of
 * the object it lies in.  Returns 0, or a negative CG_E* code (no
 * restorer, unknown bytes, registration failed): the handler's
 * libunwind walks then stop at the signal frame, counted as failed
 * unwinds. */
int cg_sigreturn_init(int signo);

/* As cg_sigreturn_init, for a trampoline at `addr` that the caller chose
 * (tests: a copy in memory of their own); `addr` must hold the bytes. */
int cg_sigreturn_register(uintptr_t addr);

/* The registered trampoline, 0 before cg_sigreturn_init succeeded. */
uintptr_t cg_sigreturn_trampoline_sigsafe(void);

/* Whether addr lies in the code of the object the trampoline is in, and
 * not in the trampoline itself (which is stepped through).
 * Async-signal-safe. */
bool cg_sigreturn_in_libc(uint64_t addr);

/* One step of a stack walk at a signal frame: when *pc is the
 * trampoline's first byte (a handler's return address) or inside its
 * code (an interrupted PC), reads the interrupted RIP, RSP and RBP from
 * the ucontext at *sp into *pc, *sp and *bp and returns true.  Every
 * word read lies inside [lo, hi) and the new stack pointer above the
 * ucontext, or nothing is changed and false is returned.  The new *pc is
 * an interrupted PC: its rule is looked up at it, not at it minus one. */
bool cg_sigreturn_step_sigsafe(uint64_t *pc, uint64_t *sp, uint64_t *bp, uint64_t lo,
                               uint64_t hi);

/* The same step for a trampoline at `tramp` (0: never), for tests. */
bool cg_sigreturn_step_at_sigsafe(uintptr_t tramp, uint64_t *pc, uint64_t *sp, uint64_t *bp,
                                  uint64_t lo, uint64_t hi);

#endif
