/*
 * thread_tls.c - the one initial-exec thread-local of the agent (see
 * thread_tls.h).
 *
 * DESIGN: every per-thread datum the agent keeps lives either in this
 * word's spare bits (the SIGPROF handler's re-entry guard, the own-thread
 * mark, the fork handlers' note) or in the thread's block, inside its
 * registry slot (core/sample/threads.h: the Java walk's JNIEnv cache and
 * where its fault guard jumps back to, a buffer on the walk's stack): the agent's PT_TLS is this one 8-byte
 * word, so loading the agent costs glibc's static-TLS surplus 8 bytes
 * (docs/security.md, "Static TLS").  What it won't do: hold anything else;
 * a new thread-local of the agent's belongs in the block.
 */
#include "core/base/thread_tls.h"

__thread uintptr_t cg_thread_tls_word __attribute__((tls_model("initial-exec")));
