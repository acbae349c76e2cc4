/*
 * ucontext_regs.h - the registers of an interrupted context, read from the
 * ucontext a signal handler is given, for each supported architecture.
 *
 * Owns: nothing.
 * Thread safety: pure.
 * Signal safety: async-signal-safe (reads the handler's own argument).
 */
#ifndef CG_UCONTEXT_REGS_H
#define CG_UCONTEXT_REGS_H

#include <stdint.h>
#include <ucontext.h>

/* The interrupted program counter. */
static inline uintptr_t cg_ucontext_pc_sigsafe(const void *ucontext)
{
    const ucontext_t *uc = ucontext;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
#error "unsupported architecture"
#endif
}

#endif
