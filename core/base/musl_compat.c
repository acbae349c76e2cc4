/*
 * musl_compat.c - the glibc functions the agent calls that musl does not
 * have (core/base/musl_compat.h), for the musl build only.
 *
 * DESIGN: each is defined hidden, as core/base/glibc_floor.c does for old
 * glibcs, so nothing of it is exported and the agent's calls bind here
 * at link time; each does what glibc's does with what musl has.  What it
 * won't do: replace anything musl has (explicit_bzero, getrandom,
 * secure_getenv, getauxval, dladdr, dlinfo: musl has them all).
 *
 * Compiled empty in every other build (CG_MUSL unset).
 */
#ifdef CG_MUSL

#include "core/base/musl_compat.h"

#include <locale.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define COMPAT_FN __attribute__((visibility("hidden")))

/* For the retry jitter (sts/aws_request.c): where getrandom fails (a
 * kernel before 3.17), the clock's nanoseconds, mixed, spread retries
 * well enough. */
COMPAT_FN uint32_t arc4random(void)
{
    uint32_t v;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
        return v;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec;
    return (uint32_t)(x >> 32);
}

/* glibc's text is strerror's in the C locale, never translated.  musl's
 * newlocale gives its built-in C locale for "C" without allocating, and
 * strerror_l reads a constant table.  musl has a text for every value
 * ("No error information" for unknown ones), so NULL is never returned. */
COMPAT_FN const char *strerrordesc_np(int err)
{
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    return c ? strerror_l(err, c) : strerror(err);
}

#endif
