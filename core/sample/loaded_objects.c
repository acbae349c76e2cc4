/*
 * loaded_objects.c - the handler's copy of the loader's object list
 * (loaded_objects.h says why musl needs one).
 *
 * DESIGN: a static array and a count.  The writer fills an entry past the
 * count, then publishes it with a release store of count + 1; a reader
 * loads the count with acquire and reads only below it, so it sees whole
 * entries without a lock, however the two interleave.  Entries are never
 * changed or removed: the list is only right where objects are never
 * unloaded (musl), which is the only build whose handler reads it.  An
 * entry points at the loader's own name string and program headers,
 * which stay where they are for as long as the object is loaded: for
 * good, on musl.  The loader lists objects in load order and appends new
 * ones, so a refresh usually finds entry i at position i and only
 * compares; anything else is looked for in the whole table.
 *
 * What it won't do: notice an unloaded object (glibc's dlclose): the
 * glibc build never reads the table.
 */
#include "core/sample/loaded_objects.h"

#include "core/base/error.h"
#include "core/base/log.h"
#include "core/base/thread_tls.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct entry {
    ElfW(Addr) addr;
    const char *name;
    const ElfW(Phdr) *phdr;
    ElfW(Half) phnum;
};

static struct entry g_entries[CG_LOADED_OBJECTS_MAX];
static _Atomic size_t g_count;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static bool g_full_logged; /* under g_lock */

#ifdef CG_MUSL
/* The loader's own, behind the --wrap (dist/musl.mk). */
int __real_dl_iterate_phdr(cg_phdr_callback_fn *fn, void *data);
#define loader_iterate __real_dl_iterate_phdr
#else
#define loader_iterate dl_iterate_phdr
#endif

struct refresh {
    size_t pos;    /* the loader's position of the object being seen */
    size_t count;  /* entries held (the writer's copy of g_count) */
    bool full;
};

static bool same(const struct entry *e, const struct dl_phdr_info *info)
{
    return e->addr == info->dlpi_addr && e->phdr == info->dlpi_phdr;
}

static int on_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct refresh *r = data;
    size_t pos = r->pos++;
    if (pos < r->count && same(&g_entries[pos], info))
        return 0;
    for (size_t i = 0; i < r->count; i++)
        if (same(&g_entries[i], info))
            return 0;
    if (r->count == CG_LOADED_OBJECTS_MAX) {
        r->full = true;
        return 0;
    }
    struct entry *e = &g_entries[r->count];
    e->addr = info->dlpi_addr;
    e->name = info->dlpi_name;
    e->phdr = info->dlpi_phdr;
    e->phnum = info->dlpi_phnum;
    /* Release pairs with the acquire in cg_loaded_objects_iterate_sigsafe:
     * the entry's fields are visible before the count that covers it. */
    atomic_store_explicit(&g_count, ++r->count, memory_order_release);
    return 0;
}

int cg_loaded_objects_refresh(void)
{
    pthread_mutex_lock(&g_lock);
    struct refresh r = {0, atomic_load_explicit(&g_count, memory_order_relaxed), false};
    loader_iterate(on_object, &r);
    if (r.full && !g_full_logged) {
        g_full_logged = true;
        /* Info: nothing to fix (the frame-rule walk still steps them). */
        CG_INFO("more than %d loaded objects: frames in the later ones are not unwound by "
                "libunwind in the signal handler",
                CG_LOADED_OBJECTS_MAX);
    }
    pthread_mutex_unlock(&g_lock);
    return r.full ? CG_EFULL : (int)r.count;
}

int cg_loaded_objects_iterate_sigsafe(cg_phdr_callback_fn *fn, void *data)
{
    size_t n = atomic_load_explicit(&g_count, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        const struct entry *e = &g_entries[i];
        struct dl_phdr_info info = {
            .dlpi_addr = e->addr,
            .dlpi_name = e->name,
            .dlpi_phdr = e->phdr,
            .dlpi_phnum = e->phnum,
            .dlpi_adds = n,
            .dlpi_subs = 0,
        };
        int rc = fn(&info, sizeof(info), data);
        if (rc != 0)
            return rc;
    }
    return 0;
}

size_t cg_loaded_objects_count(void)
{
    return atomic_load_explicit(&g_count, memory_order_acquire);
}

#ifdef CG_MUSL
int __wrap_dl_iterate_phdr(cg_phdr_callback_fn *fn, void *data)
{
    if (cg_thread_tls_has(CG_TLS_IN_HANDLER))
        return cg_loaded_objects_iterate_sigsafe(fn, data);
    return __real_dl_iterate_phdr(fn, data);
}
#endif
