/*
 * strpool.c - string interning over an arena.
 *
 * DESIGN: an open-addressing set of pointers (load factor under 1/2)
 * whose strings live in 64 KiB chunks that are never moved or freed
 * before the pool, so returned pointers stay valid.
 */
#include "core/base/strpool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct chunk {
    struct chunk *next;
    size_t used, size;
    char data[];
};

struct cg_strpool {
    const char **slots;
    size_t size, used;
    struct chunk *chunks;
    size_t chunk_bytes;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

struct cg_strpool *cg_strpool_new(void)
{
    return calloc(1, sizeof(struct cg_strpool));
}

void cg_strpool_free(struct cg_strpool *p)
{
    if (!p)
        return;
    while (p->chunks) {
        struct chunk *c = p->chunks;
        p->chunks = c->next;
        free(c);
    }
    free(p->slots);
    free(p);
}

static int grow(struct cg_strpool *p)
{
    size_t n = p->size ? p->size * 2 : 1024;
    const char **s = calloc(n, sizeof(*s));
    if (!s)
        return -1;
    for (size_t i = 0; i < p->size; i++) {
        if (!p->slots[i])
            continue;
        size_t j = hash(p->slots[i]) & (n - 1);
        while (s[j])
            j = (j + 1) & (n - 1);
        s[j] = p->slots[i];
    }
    free(p->slots);
    p->slots = s;
    p->size = n;
    return 0;
}

const char *cg_strpool_intern(struct cg_strpool *p, const char *str)
{
    if ((p->used + 1) * 2 > p->size && grow(p) != 0)
        return NULL;
    size_t mask = p->size - 1, i = hash(str) & mask;
    for (; p->slots[i]; i = (i + 1) & mask)
        if (strcmp(p->slots[i], str) == 0)
            return p->slots[i];
    size_t len = strlen(str) + 1;
    struct chunk *c = p->chunks;
    if (!c || c->size - c->used < len) {
        size_t size = len > 65536 ? len : 65536;
        c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->size = size;
        c->used = 0;
        c->next = p->chunks;
        p->chunks = c;
        p->chunk_bytes += sizeof(*c) + size;
    }
    char *copy = c->data + c->used;
    memcpy(copy, str, len);
    c->used += len;
    p->slots[i] = copy;
    p->used++;
    return copy;
}

size_t cg_strpool_bytes(const struct cg_strpool *p)
{
    return sizeof(*p) + p->size * sizeof(*p->slots) + p->chunk_bytes;
}
