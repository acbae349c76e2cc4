/*
 * environ.h - the process's environment block, wherever it lives.
 *
 * Code that walks the environment (the credential helper's child
 * environment) calls cg_environ() instead of naming
 * `environ`: when the agent runs deep-bound (preload/bridge.h), the
 * `environ` symbol it would see is libc's original, which a program with
 * its own copy (CPython) never updates.
 *
 * Owns: a pointer to the environ variable in use (default: `environ`).
 * Thread safety: cg_environ_use is called once, before any other thread
 * of the agent exists; cg_environ from any thread.
 * Signal safety: cg_environ is async-signal-safe (one load).
 */
#ifndef CG_BASE_ENVIRON_H
#define CG_BASE_ENVIRON_H

/* The current environment block (may be NULL after clearenv). */
char **cg_environ(void);

/* Reads the environment through *location from now on. */
void cg_environ_use(char ***location);

#endif
