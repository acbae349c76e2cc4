/*
 * environ.c - see environ.h.
 *
 * DESIGN: one pointer to the variable, not a copy of its value: setenv
 * and putenv replace the block, and readers must see the current one.
 */
#include "core/base/environ.h"

#include <stddef.h>
#include <unistd.h>

extern char **environ;

static char ***g_location = &environ;

/* Cheap enough for any caller, at any time: `make check` builds leave it
 * uninstrumented, as a caller may run before a sanitizer runtime is
 * initialised. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
__attribute__((no_sanitize("thread", "address", "undefined")))
#endif
char **cg_environ(void)
{
    return *__atomic_load_n(&g_location, __ATOMIC_RELAXED);
}

void cg_environ_use(char ***location)
{
    if (location)
        __atomic_store_n(&g_location, location, __ATOMIC_RELAXED);
}
