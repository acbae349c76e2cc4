/*
 * curl_load.c - libcurl in the agent's own scope (curl_load.h says what
 * that means and why).
 *
 * DESIGN: a library dlopen'ed from the deep-bound agent does not inherit
 * its scope: glibc gives the new object the global scope (the program's)
 * first, then its own, unless the call itself says RTLD_DEEPBIND.  So
 * libcurl is opened RTLD_DEEPBIND | RTLD_LOCAL: its own dependencies
 * first, then the program's; nothing of it enters the program's scope.
 * Checked with LD_DEBUG=bindings: libcurl's OPENSSL_init_ssl, inflate
 * and zlibVersion bind to libssl.so.3 and libz.so.1, not to a program
 * that exports its own (tests/stress/test_own_symbols.py).
 *
 * Deep binding would also give libcurl libc's malloc, where the rest of
 * the agent uses the program's (preload/bridge.c): libcurl takes the
 * agent's through curl_global_init_mem, and gives every block back wiped,
 * which the agent's own secrets want anyway (curl builds each request,
 * Authorization and X-Amz-Security-Token included, in buffers it frees
 * without a wipe).  OpenSSL and the other libraries deep-bound with it
 * allocate and free with libc's malloc among themselves: each supports a
 * replaceable allocator, so none frees a block it did not allocate.
 *
 * libcurl's descriptors: its connections come from our
 * CURLOPT_OPENSOCKETFUNCTION, but the multi handle behind every easy
 * handle makes a wakeup socketpair (curl 7.88, Debian 12's) and keeps it,
 * by number, until the handle is freed; the threaded resolver makes one
 * per lookup.  Neither is close-on-exec.  No curl option reaches them, and
 * holding the low numbers while curl makes them (cg_fd_run_above_floor)
 * would move the program's own concurrent opens above the floor and could
 * mark them close-on-exec.  So libcurl's own imports of socket,
 * socketpair, pipe, pipe2 and eventfd are pointed at the versions below
 * (core/base/got_redirect.h): close-on-exec from the system call on, then
 * moved to the floor by cg_fd_raise, which takes the lowest free number
 * for the moment of one fcntl, as any short-lived open of ours does, and
 * never moves or marks anything it did not make.  The program's calls,
 * and every other library's, still reach libc; so do libcurl's own on a
 * thread of the program's (a program that loads libcurl after the agent
 * shares this copy).  On a thread that is not one of the agent's (the
 * cgagent command's, a unit test's) libcurl's descriptors are therefore
 * made as libc makes them; its connections still go above the floor
 * (core/base/http.c, CURLOPT_OPENSOCKETFUNCTION).
 *
 * OpenSSL's exit: its first initialisation registers OPENSSL_cleanup with
 * atexit.  Registered on the upload thread, after the program's own exit
 * handlers and the dynamic linker's, it runs first at exit, while the
 * agent's destructor has yet to stop the upload thread: a request in
 * flight, or the final flush's, then used OpenSSL's freed locks (a
 * SIGSEGV in RAND_status: the "OpenSSL atexit crash under strace", which
 * slows every call; without strace, 3 runs in 4 of a program that exits
 * before the upload thread's first HTTPS request, and every run of one
 * that uses OpenSSL itself).  core/base/openssl_exit.c: a libcrypto that
 * libcurl brought in is initialised without that handler, and for one
 * the program loaded, requests stop before OpenSSL frees anything.
 *
 * All of that only for a libcurl the agent loads itself (but the last
 * point).  One the program had already loaded is shared as it is: its
 * scope, its allocator and its calls are the program's business
 * (curl_load.h); so is a libcrypto the program loaded, and its exit
 * handler.
 *
 * What it won't do: unload libcurl, call curl_global_cleanup (other
 * threads of the agent may still use it at exit), or change a libcurl or
 * a libcrypto the program loaded.
 */
#include "core/base/curl_load.h"

#include "core/base/fd_floor.h"
#include "core/base/got_redirect.h"
#include "core/base/log.h"
#include "core/base/openssl_exit.h"
#include "core/base/own_thread.h"
#include "core/base/wiped_mem.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Also spelled out in the log lines below (docs/errors.md). */
#define CURL_SONAME "libcurl.so.4"

/* ASan, TSan and MSan abort a dlopen with RTLD_DEEPBIND; the split build,
 * the only one preloaded into programs, is never sanitized. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DEEP_BIND 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define DEEP_BIND 0
#endif
#endif
/* musl's dlopen has no deep binding: libcurl there binds as any library
 * does, the program's definitions first (docs/install.md, "musl"). */
#if !defined(DEEP_BIND) && defined(CG_MUSL)
#define DEEP_BIND 0
#endif
#ifndef DEEP_BIND
#define DEEP_BIND RTLD_DEEPBIND
#endif

static struct cg_curl_api api;
static bool api_ready;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

/* ---- libcurl's memory: the agent's allocator, wiped on release ---- */

/* Blocks wiped when released (core/base/wiped_mem.h), as expat's in
 * sts/xml_fields.c; strdup and calloc on top of them. */
static char *curl_mem_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = cg_wiped_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void *curl_mem_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = cg_wiped_malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

/* ---- libcurl's descriptors: close-on-exec, at the floor ---- */

/* Each of these serves the agent's own threads only (the upload thread and
 * what it starts): should the program load libcurl after the agent, it
 * gets this copy, and its own threads' calls must stay libc's, number and
 * flags as asked. */

static int curl_fd_socket(int domain, int type, int protocol)
{
    if (!cg_own_thread_is_current())
        return socket(domain, type, protocol);
    return cg_fd_raise(socket(domain, type | SOCK_CLOEXEC, protocol));
}

static int curl_fd_socketpair(int domain, int type, int protocol, int sv[2])
{
    if (!cg_own_thread_is_current())
        return socketpair(domain, type, protocol, sv);
    int pair[2];
    if (socketpair(domain, type | SOCK_CLOEXEC, protocol, pair) != 0)
        return -1;
    sv[0] = cg_fd_raise(pair[0]);
    sv[1] = cg_fd_raise(pair[1]);
    return 0;
}

/* By system call: in the split build a call to pipe2 from here binds to
 * preload/bridge.c's, which moves the ends whoever calls. */
static int curl_fd_pipe2(int fds[2], int flags)
{
    if (!cg_own_thread_is_current())
        return (int)syscall(SYS_pipe2, fds, flags);
    int pair[2];
    if (syscall(SYS_pipe2, pair, flags | O_CLOEXEC) != 0)
        return -1;
    fds[0] = cg_fd_raise(pair[0]);
    fds[1] = cg_fd_raise(pair[1]);
    return 0;
}

static int curl_fd_pipe(int fds[2])
{
    return curl_fd_pipe2(fds, 0);
}

static int curl_fd_eventfd(unsigned int count, int flags)
{
    if (!cg_own_thread_is_current())
        return eventfd(count, flags);
    return cg_fd_raise(eventfd(count, flags | EFD_CLOEXEC));
}

/* Points libcurl's own descriptor-making imports at the functions above.
 * Returns how many imports were redirected. */
static int redirect_descriptors(void *h)
{
    static const struct {
        const char *name;
        void *fn;
    } fns[] = {
        {"socket", (void *)curl_fd_socket},
        {"socketpair", (void *)curl_fd_socketpair},
        {"pipe", (void *)curl_fd_pipe},
        {"pipe2", (void *)curl_fd_pipe2},
        {"eventfd", (void *)curl_fd_eventfd},
    };
    int redirected = 0;
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int rc = cg_got_redirect(h, fns[i].name, fns[i].fn);
        if (rc < 0) {
            /* Not a fault of the user's set-up, and nothing to act on:
             * the agent works on, as before the redirect. */
            CG_INFO("cannot redirect libcurl's %s (%d): its descriptors may take low "
                    "numbers and be inherited by the program's children",
                    fns[i].name, rc);
            return redirected;
        }
        redirected += rc > 0;
    }
    return redirected;
}

static int find_libcrypto(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    const char *slash = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
    return slash && strncmp(slash + 1, "libcrypto.so", 12) == 0;
}

static void load(void)
{
    /* Already there: the program's own copy (or one it is loading now). */
    void *h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_NOLOAD);
    bool own = h == NULL;
    bool crypto_was_loaded = dl_iterate_phdr(find_libcrypto, NULL) != 0;
    if (own)
        h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL | DEEP_BIND);
    if (!h) {
        CG_ERROR("cannot load libcurl (libcurl.so.4): %s; profiles go only to the "
                 "local output directory, if one is set",
                 dlerror());
        return;
    }
    CURLcode (*global_init)(long) = NULL;
    CURLcode (*global_init_mem)(long, curl_malloc_callback, curl_free_callback,
                                curl_realloc_callback, curl_strdup_callback,
                                curl_calloc_callback) = NULL;
#define RESOLVE(field, sym)                                         \
    do {                                                            \
        *(void **)&(field) = dlsym(h, sym);                         \
        if (!(field)) {                                             \
            CG_ERROR("libcurl.so.4 lacks %s; cannot talk to AWS", sym); \
            return;                                                 \
        }                                                           \
    } while (0)
    RESOLVE(global_init, "curl_global_init");
    RESOLVE(global_init_mem, "curl_global_init_mem");
    RESOLVE(api.easy_init, "curl_easy_init");
    RESOLVE(api.easy_setopt, "curl_easy_setopt");
    RESOLVE(api.easy_perform, "curl_easy_perform");
    RESOLVE(api.easy_getinfo, "curl_easy_getinfo");
    RESOLVE(api.easy_cleanup, "curl_easy_cleanup");
    RESOLVE(api.easy_reset, "curl_easy_reset");
    RESOLVE(api.easy_strerror, "curl_easy_strerror");
    RESOLVE(api.slist_append, "curl_slist_append");
    RESOLVE(api.slist_free_all, "curl_slist_free_all");
#undef RESOLVE
    /* Before curl_global_init, which initialises OpenSSL. */
    cg_openssl_exit_setup(h, own && !crypto_was_loaded);
    CURLcode rc;
    if (own) {
        /* Before the first call into libcurl, which is what makes sockets. */
        int n = redirect_descriptors(h);
        CG_DEBUG("loaded " CURL_SONAME " deep-bound; %d of its descriptor calls redirected", n);
        /* Reference-counted and thread-safe since 7.84: should the program
         * load libcurl after us it gets this copy, already initialised. */
        rc = global_init_mem(CURL_GLOBAL_DEFAULT, cg_wiped_malloc, cg_wiped_free,
                             cg_wiped_realloc, curl_mem_strdup, curl_mem_calloc);
    } else {
        CG_DEBUG(CURL_SONAME " was loaded by the program: the agent shares it as it is");
        /* A program that already initialised curl keeps its state. */
        rc = global_init(CURL_GLOBAL_DEFAULT);
    }
    if (rc != CURLE_OK) {
        CG_ERROR("curl_global_init failed: %s", api.easy_strerror(rc));
        return;
    }
    api.own_copy = own;
    api_ready = true;
}

const struct cg_curl_api *cg_curl_load(void)
{
    pthread_once(&load_once, load);
    return api_ready ? &api : NULL;
}
