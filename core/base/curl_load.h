/*
 * curl_load.h - libcurl, loaded once, into the agent's own scope; for
 * core/base/http.c alone (http.h says when and why it is loaded lazily).
 *
 * What "the agent's own scope" means (docs/internals.md, "Talking to
 * AWS"; docs/security.md, "The agent's own libraries"):
 *   - libcurl is opened RTLD_DEEPBIND | RTLD_LOCAL, so it and the
 *     libraries it brings (OpenSSL, zlib, nghttp2, ...) look their symbols
 *     up among themselves before the program's: a program that exports
 *     its own OPENSSL_init_ssl, SSL_write or inflate never sees the
 *     agent's requests, tokens or answers;
 *   - libcurl allocates through the agent's allocator (the program's, in
 *     the split build: preload/bridge.h), and every block it gives back is
 *     wiped first: its request buffers held the Authorization header and
 *     the session token;
 *   - libcurl's socket, socketpair and pipe calls (its multi handle's
 *     wakeup pair, its resolver's pair, its connections) on the agent's
 *     own threads make descriptors that are close-on-exec and at or above
 *     the floor (core/base/fd_floor.h) from the start
 *     (core/base/got_redirect.h), so the program's own descriptor
 *     numbering is never touched;
 *   - the libcrypto it brings in is initialised without OpenSSL's exit
 *     handler, which would pull OpenSSL from under the final flush.
 * All of these need a libcurl of the agent's own.  When the program has
 * already loaded libcurl.so.4 the agent shares that copy as it is (no deep
 * binding, the program's allocator, libc's calls, the program's libcrypto
 * and its exit handler) and only CURLOPT_OPENSOCKETFUNCTION keeps its
 * connections above the floor.  Either way, requests stop before a
 * libcrypto the program loaded is shut down (core/base/openssl_exit.h).
 * Sanitizer builds leave out RTLD_DEEPBIND (their runtimes refuse it).
 *
 * Owns: the process's one handle on libcurl (never closed) and the table
 * of its entry points.
 * Thread safety: cg_curl_load may be called from any thread, any number of
 * times (pthread_once); the table is read-only once returned.
 * Signal safety: none.
 */
#ifndef CG_CURL_LOAD_H
#define CG_CURL_LOAD_H

/* Types and constants only: the agent never links against libcurl, and the
 * typecheck macros would wrap a curl_easy_setopt symbol it does not have. */
#ifndef CURL_DISABLE_TYPECHECK
#define CURL_DISABLE_TYPECHECK 1
#endif
#include <curl/curl.h>

#include <stdbool.h>

/* The libcurl entry points http.c uses. */
struct cg_curl_api {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    bool own_copy; /* loaded by the agent, deep-bound, with its allocator and
                      descriptors; false: the program's copy, shared */
};

/* Loads and initialises libcurl the first time (one log line if it cannot:
 * profiles then go only to a local output directory).  Returns the table,
 * or NULL when libcurl is unavailable. */
const struct cg_curl_api *cg_curl_load(void);

#endif
