/*
 * shim.c - libcgagent.so, the object users preload: it loads the agent
 * (libcgagent-impl.so, beside it) deep-bound and forwards the libc entry
 * points the agent wraps.
 *
 * Which processes load the agent, and which file exactly, is
 * shim/impl_file.c's: none that is privileged or switched off by
 * AWS_CODEGURU_PROFILER_ENABLED, and only a file that root or the shim's
 * owner alone could have written, loaded through /proc/self/fd.
 *
 * DESIGN: a preloaded library's undefined symbols are looked up in the
 * program's scope first, so a program that exports its own jansson,
 * mbedTLS, expat, zlib, libunwind or inih (a static copy linked
 * with -rdynamic, a plugin host) would capture the agent's calls to them.
 * The implementation is therefore opened with RTLD_DEEPBIND | RTLD_LOCAL:
 * it and the libraries it loads see their own definitions first, and
 * nothing of it enters the program's scope.  This object stays small and
 * depends on libc, libdl and libunwind only (libunwind so that its
 * thread-local cache is in static TLS: the SIGPROF handler reaches it, and
 * a dlopen'ed library's TLS is allocated on first use, with malloc).
 *
 * The wrappers (pthread_create, sigaction, signal, setitimer, _exit,
 * _Exit, mprotect; preload/interpose.c and preload/python.c say what
 * each does) must be in the program's scope to interpose, so they are
 * defined here and call the implementation's definitions once it is
 * loaded; before that (other libraries' constructors, or a failed load)
 * they call libc's.  mprotect never calls dlsym, which can allocate: an
 * allocator that calls mprotect while starting would recurse.
 *
 * The bridge (preload/bridge.h) hands the implementation the program's
 * allocator and environ, filled by static initialisation.
 *
 * What it won't do: read a config file or any environment variable but
 * the off switch (the implementation decides everything else about
 * whether the agent runs), or load the implementation from anywhere but
 * its own directory.
 */
#include "preload/bridge.h"
#include "shim/impl_file.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#define SHIM_EXPORT __attribute__((visibility("default")))

extern char **environ;

SHIM_EXPORT const struct cg_shim_bridge cgagent_shim_bridge_1 = {
    .malloc = malloc,
    .free = free,
    .calloc = calloc,
    .realloc = realloc,
    .posix_memalign = posix_memalign,
    .aligned_alloc = aligned_alloc,
    .memalign = memalign,
    .valloc = valloc,
    .pvalloc = pvalloc,
    .malloc_usable_size = malloc_usable_size,
    .environ = &environ,
};

typedef int pthread_create_fn(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
typedef int sigaction_fn(int, const struct sigaction *, struct sigaction *);
typedef sighandler_t signal_fn(int, sighandler_t);
typedef int setitimer_fn(__itimer_which_t, const struct itimerval *, struct itimerval *);
typedef void exit_fn(int);
typedef int mprotect_fn(void *, size_t, int);

struct entry_points {
    pthread_create_fn *pthread_create;
    sigaction_fn *sigaction;
    signal_fn *signal;
    setitimer_fn *setitimer;
    exit_fn *exit_now;   /* _exit */
    exit_fn *exit_now2;  /* _Exit */
    mprotect_fn *mprotect;
};

/* libc's, resolved lazily; the implementation's, set once it is loaded. */
static struct entry_points g_libc;
static struct entry_points g_impl;
static _Atomic bool g_impl_ready;

#define LIBC(field, name) \
    (g_libc.field ? g_libc.field : (*(void **)&g_libc.field = dlsym(RTLD_NEXT, name)))

SHIM_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                               void *(*start)(void *), void *arg)
{
    if (atomic_load_explicit(&g_impl_ready, memory_order_acquire))
        return g_impl.pthread_create(thread, attr, start, arg);
    pthread_create_fn *fn = LIBC(pthread_create, "pthread_create");
    return fn ? fn(thread, attr, start, arg) : EAGAIN;
}

SHIM_EXPORT int sigaction(int signo, const struct sigaction *act, struct sigaction *old)
{
    if (atomic_load_explicit(&g_impl_ready, memory_order_acquire))
        return g_impl.sigaction(signo, act, old);
    sigaction_fn *fn = LIBC(sigaction, "sigaction");
    if (fn)
        return fn(signo, act, old);
    errno = ENOSYS;
    return -1;
}

SHIM_EXPORT sighandler_t signal(int signo, sighandler_t handler)
{
    if (atomic_load_explicit(&g_impl_ready, memory_order_acquire))
        return g_impl.signal(signo, handler);
    signal_fn *fn = LIBC(signal, "signal");
    if (fn)
        return fn(signo, handler);
    errno = ENOSYS;
    return SIG_ERR;
}

SHIM_EXPORT int setitimer(__itimer_which_t which, const struct itimerval *value,
                          struct itimerval *old)
{
    if (atomic_load_explicit(&g_impl_ready, memory_order_acquire))
        return g_impl.setitimer(which, value, old);
    setitimer_fn *fn = LIBC(setitimer, "setitimer");
    if (fn)
        return fn(which, value, old);
    errno = ENOSYS;
    return -1;
}

/* Async-signal-safe: libc's _exit is resolved by the constructor, and the
 * system call serves before that. */
static __attribute__((noreturn)) void exit_by_libc(int status)
{
    if (g_libc.exit_now)
        g_libc.exit_now(status);
    for (;;)
        syscall(SYS_exit_group, status);
}

SHIM_EXPORT void _exit(int status)
{
    if (atomic_load_explicit(&g_impl_ready, memory_order_acquire))
        g_impl.exit_now(status);
    exit_by_libc(status);
}

SHIM_EXPORT void _Exit(int status)
{
    if (atomic_load_explicit(&g_impl_ready, memory_order_acquire))
        g_impl.exit_now2(status);
    exit_by_libc(status);
}

SHIM_EXPORT int mprotect(void *addr, size_t len, int prot)
{
    if (atomic_load_explicit(&g_impl_ready, memory_order_acquire))
        return g_impl.mprotect(addr, len, prot);
    return (int)syscall(SYS_mprotect, addr, len, prot);
}

/* One line on stderr: a broken installation or a refused file.  Never in
 * a privileged process: the constructor leaves those before anything. */
static void say(const char *what)
{
    char line[PATH_MAX + 512];
    int n = snprintf(line, sizeof(line), "cgagent: %s; the agent stays off\n", what);
    if (n <= 0)
        return;
    if ((size_t)n >= sizeof(line)) { /* cut, but still one line */
        n = (int)sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

/* The loader names the implementation /proc/self/fd/../fd/N, a name that
 * points elsewhere once N is closed and reused.  Everything that asks the
 * loader for names (dl_iterate_phdr: the agent's symbolizer, which opens
 * the file to read its symbols; dladdr; debuggers through r_debug) must
 * get the real path instead, so the link map's name is replaced with it
 * before N is closed.  The object is never unloaded (RTLD_NODELETE), so
 * the loader never frees the name. */
static char g_impl_name[PATH_MAX];

static void name_impl(void *h, const char *path)
{
    struct link_map *lm = NULL;
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0 || !lm)
        return;
    size_t n = strlen(path);
    if (n >= sizeof(g_impl_name))
        return;
    memcpy(g_impl_name, path, n + 1);
    lm->l_name = g_impl_name;
}

/* dlerror() names the file by impl->fd_path, as its prefix and in "(required
 * by ...)" when a version is missing: drop both, the caller names the real
 * path.  Copied into `buf`. */
static const char *load_error(const struct shim_impl *impl, char *buf, size_t cap)
{
    const char *err = dlerror();
    if (!err)
        return "unknown error";
    size_t n = strlen(impl->fd_path);
    if (strncmp(err, impl->fd_path, n) == 0 && err[n] == ':')
        err += n + 1 + (err[n + 1] == ' ');
    snprintf(buf, cap, "%s", err);
    char required[PATH_MAX + 32];
    snprintf(required, sizeof(required), " (required by %s)", impl->fd_path);
    char *at = strstr(buf, required);
    if (at)
        memmove(at, at + strlen(required), strlen(at + strlen(required)) + 1);
    return buf;
}

__attribute__((constructor)) static void shim_init(void)
{
    int saved_errno = errno;
    LIBC(pthread_create, "pthread_create");
    LIBC(sigaction, "sigaction");
    LIBC(signal, "signal");
    LIBC(setitimer, "setitimer");
    LIBC(exit_now, "_exit");

    /* Privileged or switched off: nothing opened, mapped or printed. */
    if (shim_impl_stays_off())
        goto out;
    struct shim_impl impl;
    char why[PATH_MAX + 256];
    if (shim_impl_open(&impl, &cgagent_shim_bridge_1, why, sizeof(why)) != 0) {
        say(why);
        goto out;
    }
    /* The bridge must be in the program's scope for the implementation to
     * link against it, also when we were opened RTLD_LOCAL. */
    Dl_info self;
    if (dladdr((void *)&cgagent_shim_bridge_1, &self) && self.dli_fname)
        dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
    void *h = dlopen(impl.fd_path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND | RTLD_NODELETE);
    if (!h) {
        char err[PATH_MAX + 256];
        const char *what = load_error(&impl, err, sizeof(err));
        int n = snprintf(why, sizeof(why), "cannot load the agent: %s: ", impl.path);
        if (n > 0 && (size_t)n < sizeof(why)) {
            size_t len = strnlen(what, sizeof(why) - (size_t)n - 1);
            memcpy(why + n, what, len);
            why[(size_t)n + len] = '\0';
        }
        say(why);
        shim_impl_close(&impl);
        goto out;
    }
    name_impl(h, impl.path);
    shim_impl_close(&impl);
    struct entry_points e;
    *(void **)&e.pthread_create = dlsym(h, "pthread_create");
    *(void **)&e.sigaction = dlsym(h, "sigaction");
    *(void **)&e.signal = dlsym(h, "signal");
    *(void **)&e.setitimer = dlsym(h, "setitimer");
    *(void **)&e.exit_now = dlsym(h, "_exit");
    *(void **)&e.exit_now2 = dlsym(h, "_Exit");
    *(void **)&e.mprotect = dlsym(h, "mprotect");
    if (!e.pthread_create || !e.sigaction || !e.signal || !e.setitimer || !e.exit_now ||
        !e.exit_now2 || !e.mprotect) {
        snprintf(why, sizeof(why), "%s: an entry point is missing", impl.path);
        say(why);
        goto out;
    }
    g_impl = e;
    atomic_store_explicit(&g_impl_ready, true, memory_order_release);
out:
    errno = saved_errno;
}
