/*
 * openssl_exit.h - keeping libcurl's requests clear of OpenSSL's shutdown.
 *
 * OpenSSL frees its global state in OPENSSL_cleanup, which its first
 * initialisation registers with atexit (or a program calls itself).  At
 * exit that handler runs before the agent's destructor has stopped the
 * upload thread (the dynamic linker's handler, which runs destructors,
 * was registered first, so it runs last): a request in flight, or the
 * final flush's, then used freed locks and the program died of SIGSEGV
 * (core/base/curl_load.c has the history).  So:
 *   - a libcrypto the agent's libcurl brought into the process is
 *     initialised without that handler (OPENSSL_INIT_NO_ATEXIT): nothing
 *     frees it before the process ends;
 *   - for one the program loaded (its exit handler is the program's), the
 *     agent registers an OPENSSL_atexit callback, which OpenSSL runs at the
 *     start of its cleanup, before it frees anything: from then on no
 *     transfer starts, one in flight is aborted at its next progress call
 *     (cg_http sets CURLOPT_XFERINFOFUNCTION), and the cleanup waits, at
 *     most 3 s, until none is left.  The requests fail ("the TLS library
 *     was shut down"); the program exits as it would have.
 *
 * Owns: the process's "OpenSSL was shut down" flag and its count of
 * transfers in flight (per process: a fork child starts from none).
 * Thread safety: any thread; begin/end pairs may overlap on many threads.
 * Signal safety: none (getpid and atomics only, but nothing here is meant
 * for a handler).
 */
#ifndef CG_OPENSSL_EXIT_H
#define CG_OPENSSL_EXIT_H

#include <stdbool.h>

/* Once, right after libcurl is loaded and before curl_global_init:
 * `curl` is libcurl's dlopen handle (OpenSSL's functions are looked up
 * through it, so a libcurl built without OpenSSL makes this a no-op);
 * `own_libcrypto` says libcurl brought libcrypto in (no exit handler
 * then). */
void cg_openssl_exit_setup(void *curl, bool own_libcrypto);

/* Around everything that may reach OpenSSL through libcurl (a transfer, a
 * handle's cleanup).  begin returns false once OpenSSL has been shut down:
 * the caller must not touch libcurl's TLS then (and must not call end). */
bool cg_openssl_transfer_begin(void);
void cg_openssl_transfer_end(void);

/* True once OpenSSL's cleanup has started (the progress callback aborts
 * the transfer in flight when it is). */
bool cg_openssl_shut_down(void);

#endif
