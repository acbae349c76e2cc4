/*
 * musl_compat.h - the glibc functions the agent calls that musl does not
 * have, declared for the musl build (make dist-musl) only.
 *
 * dist/musl.mk includes this header into every file of the agent
 * (-include), as the portable glibc build does its pins: the callers stay
 * as they are, and core/base/musl_compat.c defines the functions, hidden,
 * from musl's own calls.  Empty in every other build (CG_MUSL unset).
 *
 * Owns: nothing (declarations).
 * Thread safety: every function is reentrant.
 * Signal safety: arc4random is async-signal-safe (one system call, or
 * the clock); strerrordesc_np is not (musl's newlocale takes its locale
 * lock).
 */
#ifndef CG_MUSL_COMPAT_H
#define CG_MUSL_COMPAT_H

#ifdef CG_MUSL
#include <stdint.h>

/* A random 32-bit value (glibc 2.36): from getrandom(2). */
uint32_t arc4random(void);

/* The untranslated text of errno value err, NULL for none (glibc 2.32). */
const char *strerrordesc_np(int err);
#endif

#endif
