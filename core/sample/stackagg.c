/*
 * stackagg.c - hash table of unique raw stacks.
 *
 * DESIGN: open addressing (linear probing) over pointers to entries; the
 * entries themselves live in malloc'd chunks that are reused after
 * cg_stackagg_clear(), so a steady-state agent allocates nothing per
 * report.  Load factor is kept under 1/2.
 */
#include "core/sample/stackagg.h"

#include "core/base/error.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    uint64_t hash;
    uint64_t count;
    uint32_t depth;
    uint16_t key;
    uint16_t flags;
    uint64_t pcs[];
};

struct chunk {
    struct chunk *next;
    size_t used;
    size_t size;
    unsigned char data[];
};

struct cg_stackagg {
    struct entry **table;
    size_t table_size;   /* power of two */
    size_t n_entries;
    uint64_t n_samples;
    struct chunk *chunks; /* first chunk is the one being filled */
    struct chunk *spare;  /* emptied chunks kept for reuse */
    size_t chunk_bytes;   /* total bytes of all chunks */
};

#define CHUNK_DATA (64 * 1024)

static uint64_t hash_stack(const uint64_t *pcs, size_t depth, unsigned key, unsigned flags)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (depth * 31 + key * 7 + flags);
    for (size_t i = 0; i < depth; i++) {
        h ^= pcs[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h ? h : 1;
}

struct cg_stackagg *cg_stackagg_new(void)
{
    struct cg_stackagg *agg = calloc(1, sizeof(*agg));
    if (!agg)
        return NULL;
    agg->table_size = 1024;
    agg->table = calloc(agg->table_size, sizeof(agg->table[0]));
    if (!agg->table) {
        free(agg);
        return NULL;
    }
    return agg;
}

static void free_chunks(struct chunk *c)
{
    while (c) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
}

void cg_stackagg_free(struct cg_stackagg *agg)
{
    if (!agg)
        return;
    free_chunks(agg->chunks);
    free_chunks(agg->spare);
    free(agg->table);
    free(agg);
}

static void *chunk_alloc(struct cg_stackagg *agg, size_t bytes)
{
    bytes = (bytes + 15) & ~(size_t)15;
    struct chunk *c = agg->chunks;
    if (!c || c->size - c->used < bytes) {
        size_t size = bytes > CHUNK_DATA ? bytes : CHUNK_DATA;
        if (agg->spare && agg->spare->size >= size) {
            c = agg->spare;
            agg->spare = c->next;
        } else {
            c = malloc(sizeof(*c) + size);
            if (!c)
                return NULL;
            c->size = size;
            agg->chunk_bytes += sizeof(*c) + size;
        }
        c->used = 0;
        c->next = agg->chunks;
        agg->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += bytes;
    return p;
}

static int grow(struct cg_stackagg *agg)
{
    size_t n = agg->table_size * 2;
    struct entry **t = calloc(n, sizeof(*t));
    if (!t)
        return CG_ENOMEM;
    for (size_t i = 0; i < agg->table_size; i++) {
        struct entry *e = agg->table[i];
        if (!e)
            continue;
        size_t j = e->hash & (n - 1);
        while (t[j])
            j = (j + 1) & (n - 1);
        t[j] = e;
    }
    free(agg->table);
    agg->table = t;
    agg->table_size = n;
    return 0;
}

int cg_stackagg_add(struct cg_stackagg *agg, const uint64_t *pcs, size_t depth,
                    unsigned key, unsigned flags, uint64_t count)
{
    uint64_t h = hash_stack(pcs, depth, key, flags);
    size_t mask = agg->table_size - 1;
    size_t i = h & mask;
    for (struct entry *e; (e = agg->table[i]) != NULL; i = (i + 1) & mask) {
        if (e->hash == h && e->depth == depth && e->key == key && e->flags == flags &&
            memcmp(e->pcs, pcs, depth * sizeof(pcs[0])) == 0) {
            e->count += count;
            agg->n_samples += count;
            return 0;
        }
    }
    if ((agg->n_entries + 1) * 2 > agg->table_size) {
        if (grow(agg) != 0)
            return CG_ENOMEM;
        mask = agg->table_size - 1;
        i = h & mask;
        while (agg->table[i])
            i = (i + 1) & mask;
    }
    struct entry *e = chunk_alloc(agg, sizeof(*e) + depth * sizeof(pcs[0]));
    if (!e)
        return CG_ENOMEM;
    e->hash = h;
    e->count = count;
    e->depth = (uint32_t)depth;
    e->key = (uint16_t)key;
    e->flags = (uint16_t)flags;
    memcpy(e->pcs, pcs, depth * sizeof(pcs[0]));
    agg->table[i] = e;
    agg->n_entries++;
    agg->n_samples += count;
    return 0;
}

void cg_stackagg_for_each(const struct cg_stackagg *agg,
                          void (*fn)(const struct cg_stack_view *stack, void *ctx),
                          void *ctx)
{
    for (size_t i = 0; i < agg->table_size; i++) {
        const struct entry *e = agg->table[i];
        if (!e)
            continue;
        struct cg_stack_view v = {
            .pcs = e->pcs, .depth = e->depth, .key = e->key,
            .flags = e->flags, .count = e->count,
        };
        fn(&v, ctx);
    }
}

void cg_stackagg_clear(struct cg_stackagg *agg)
{
    memset(agg->table, 0, agg->table_size * sizeof(agg->table[0]));
    agg->n_entries = 0;
    agg->n_samples = 0;
    while (agg->chunks) {
        struct chunk *c = agg->chunks;
        agg->chunks = c->next;
        c->next = agg->spare;
        agg->spare = c;
    }
}

struct merge_ctx {
    struct cg_stackagg *dst;
    int err;
};

static void merge_one(const struct cg_stack_view *s, void *ctx)
{
    struct merge_ctx *m = ctx;
    if (m->err == 0)
        m->err = cg_stackagg_add(m->dst, s->pcs, s->depth, s->key, s->flags, s->count);
}

int cg_stackagg_merge_into(struct cg_stackagg *dst, struct cg_stackagg *src)
{
    struct merge_ctx m = {dst, 0};
    cg_stackagg_for_each(src, merge_one, &m);
    if (m.err == 0)
        cg_stackagg_clear(src);
    return m.err;
}

size_t cg_stackagg_unique(const struct cg_stackagg *agg)
{
    return agg->n_entries;
}

uint64_t cg_stackagg_samples(const struct cg_stackagg *agg)
{
    return agg->n_samples;
}

size_t cg_stackagg_bytes(const struct cg_stackagg *agg)
{
    return sizeof(*agg) + agg->table_size * sizeof(agg->table[0]) + agg->chunk_bytes;
}
