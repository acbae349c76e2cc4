/*
 * wipe_check.h - catches secrets that reach free() or realloc() unwiped.
 *
 * For tests named *_wipe_test only: the Makefile links them with
 * -Wl,--wrap=free -Wl,--wrap=realloc -Wl,--wrap=dlsym, so every call to
 * free or realloc made by the test and by the agent's own objects
 * (libcgcore.a) lands here first.  Shared libraries (libc, jansson, expat,
 * libcurl) keep calling the real ones, except where the agent hands them
 * its own allocator (expat's memory suite in sts/xml_fields.c, libcurl's
 * in core/base/curl_load.c: what they free is seen here, after their
 * wipe).  libcurl is reached through dlsym (core/base/curl_load.c), so
 * the dlsym wrap hands out a checking curl_slist_free_all: the header
 * lines the agent gave curl are scanned before curl frees them, as
 * strings (they are blocks of curl's allocator, which need not be
 * malloc's: malloc_usable_size cannot size them).
 *
 * wipe_check_watch() registers byte strings (a secret, a token, a derived
 * key); a block freed while it still contains one of them, or realloc'd
 * at all while it does (realloc may move it and free the old copy unwiped),
 * is counted and described.  The block's size comes from
 * malloc_usable_size(), which glibc and the sanitizers both provide.
 *
 * wipe_check_dontdump() tells whether the mapping holding an address is
 * excluded from core dumps (MADV_DONTDUMP: "dd" in /proc/self/smaps).
 *
 * Include this header in exactly one .c file.  Not thread-safe: the
 * checks run on one thread.
 */
#ifndef CG_TESTS_WIPE_CHECK_H
#define CG_TESTS_WIPE_CHECK_H

#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void __real_free(void *p);
void *__real_realloc(void *p, size_t n);
void *__real_dlsym(void *handle, const char *name);
void __wrap_free(void *p);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_dlsym(void *handle, const char *name);

#define WIPE_CHECK_MAX 8

static struct {
    const void *needle[WIPE_CHECK_MAX];
    size_t len[WIPE_CHECK_MAX];
    const char *name[WIPE_CHECK_MAX];
    int count;
    int leaks;          /* blocks released holding a needle */
    unsigned long frees; /* free() calls seen, to prove the wrap is active */
    char first[256];    /* what the first leak was */
} wipe_check;

static inline void wipe_check_watch(const char *name, const void *needle, size_t len)
{
    if (wipe_check.count < WIPE_CHECK_MAX) {
        wipe_check.needle[wipe_check.count] = needle;
        wipe_check.len[wipe_check.count] = len;
        wipe_check.name[wipe_check.count] = name;
        wipe_check.count++;
    }
}

static inline void wipe_check_reset(void)
{
    memset(&wipe_check, 0, sizeof(wipe_check));
}

static inline void wipe_check_scan(const char *how, void *p)
{
    if (!p)
        return;
    size_t n = malloc_usable_size(p);
    for (int i = 0; i < wipe_check.count; i++) {
        if (wipe_check.len[i] && n >= wipe_check.len[i] &&
            memmem(p, n, wipe_check.needle[i], wipe_check.len[i])) {
            if (!wipe_check.leaks++)
                snprintf(wipe_check.first, sizeof(wipe_check.first),
                         "%s of a %zu-byte block holding the %s", how, n, wipe_check.name[i]);
            return; /* one count per block */
        }
    }
}

void __wrap_free(void *p)
{
    wipe_check.frees++;
    wipe_check_scan("free", p);
    __real_free(p);
}

void *__wrap_realloc(void *p, size_t n)
{
    wipe_check_scan("realloc", p);
    return __real_realloc(p, n);
}

/* struct curl_slist, whose layout is part of libcurl's API. */
struct wipe_check_slist {
    char *data;
    struct wipe_check_slist *next;
};

static void (*wipe_check_real_slist_free_all)(struct wipe_check_slist *);

static void wipe_check_slist_free_all(struct wipe_check_slist *list)
{
    for (struct wipe_check_slist *l = list; l; l = l->next) {
        for (int i = 0; i < wipe_check.count; i++) {
            if (wipe_check.len[i] && memmem(l->data, strlen(l->data), wipe_check.needle[i],
                                            wipe_check.len[i])) {
                if (!wipe_check.leaks++)
                    snprintf(wipe_check.first, sizeof(wipe_check.first),
                             "curl_slist_free_all of a header line holding the %s",
                             wipe_check.name[i]);
                break;
            }
        }
    }
    wipe_check_real_slist_free_all(list);
}

void *__wrap_dlsym(void *handle, const char *name)
{
    void *sym = __real_dlsym(handle, name);
    if (sym && strcmp(name, "curl_slist_free_all") == 0) {
        *(void **)&wipe_check_real_slist_free_all = sym;
        return (void *)wipe_check_slist_free_all;
    }
    return sym;
}

/* 1: the mapping holding p is marked MADV_DONTDUMP, 0: it is not, -1: no
 * mapping holds p (or smaps is unreadable). */
static inline int wipe_check_dontdump(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    bool inside = false;
    int found = -1;
    uintptr_t a = (uintptr_t)p;
    while (fgets(line, sizeof(line), f)) {
        uintptr_t lo, hi;
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &lo, &hi) == 2 && strchr(line, ' ') &&
            strchr(line, '-') < strchr(line, ' ')) {
            inside = a >= lo && a < hi;
            continue;
        }
        if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            found = strstr(line, " dd") != NULL;
            break;
        }
    }
    fclose(f);
    return found;
}

#endif
