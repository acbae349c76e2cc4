/*
 * calltree.c - call tree with interned frame strings.
 *
 * DESIGN: nodes live in an array (indices, not pointers, so growth is a
 * realloc); children are a linked list in insertion order for traversal,
 * and lookups go through one global open-addressing hash keyed by
 * (parent index, name pointer, file pointer) — interned strings
 * (core/base/strpool.h) compare by pointer.  Building a 50,000-node tree is a few ms.
 * Lines are not part of the key: a node widens its [line_min, line_max]
 * (8 bytes a node) instead of splitting per line.
 */
#include "core/profile/calltree.h"

#include "core/base/error.h"
#include "core/base/strpool.h"

#include <stdlib.h>
#include <string.h>

struct cg_calltree_node {
    const char *name;   /* interned; NULL for the root */
    const char *file;   /* interned or NULL */
    uint32_t parent;
    uint32_t first_child, last_child, next_sibling; /* 0 = none (0 is the root) */
    uint32_t line_min, line_max; /* known source lines seen; 0 = none */
    uint64_t self[CG_KEY_COUNT];
    struct cg_calltree *tree; /* for traversal from a bare node pointer */
};

struct cg_calltree {
    struct cg_calltree_node *nodes;
    uint32_t n_nodes, cap_nodes;
    uint32_t *node_hash;  /* index+1 of nodes; 0 = empty */
    size_t node_hash_size;
    struct cg_strpool *strs; /* frame names and files */
    size_t max_depth;
    uint64_t totals[CG_KEY_COUNT];
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

struct cg_calltree *cg_calltree_new(size_t max_stack_depth)
{
    struct cg_calltree *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->max_depth = max_stack_depth;
    t->cap_nodes = 256;
    t->nodes = calloc(t->cap_nodes, sizeof(*t->nodes));
    t->node_hash_size = 512;
    t->node_hash = calloc(t->node_hash_size, sizeof(*t->node_hash));
    t->strs = cg_strpool_new();
    if (!t->nodes || !t->node_hash || !t->strs) {
        cg_calltree_free(t);
        return NULL;
    }
    t->n_nodes = 1; /* the root */
    t->nodes[0].tree = t;
    return t;
}

void cg_calltree_free(struct cg_calltree *t)
{
    if (!t)
        return;
    cg_strpool_free(t->strs);
    free(t->nodes);
    free(t->node_hash);
    free(t);
}

/* The tree's copy of s (NULL stays NULL). */
static const char *intern(struct cg_calltree *t, const char *s, int *err)
{
    if (!s)
        return NULL;
    const char *copy = cg_strpool_intern(t->strs, s);
    if (!copy)
        *err = CG_ENOMEM;
    return copy;
}

static uint64_t node_key(uint32_t parent, const char *name, const char *file)
{
    return mix((uint64_t)parent * 0x9E3779B97F4A7C15ull ^ (uintptr_t)name ^
               ((uintptr_t)file << 1));
}

static int grow_node_hash(struct cg_calltree *t)
{
    size_t n = t->node_hash_size * 2;
    uint32_t *h = calloc(n, sizeof(*h));
    if (!h)
        return CG_ENOMEM;
    for (uint32_t i = 1; i < t->n_nodes; i++) {
        const struct cg_calltree_node *nd = &t->nodes[i];
        size_t j = node_key(nd->parent, nd->name, nd->file) & (n - 1);
        while (h[j])
            j = (j + 1) & (n - 1);
        h[j] = i + 1;
    }
    free(t->node_hash);
    t->node_hash = h;
    t->node_hash_size = n;
    return 0;
}

/* Index of the child (name, file) of parent, created if missing; 0 on
 * allocation failure (0 is the root, never a child). */
static uint32_t child(struct cg_calltree *t, uint32_t parent, const char *name, const char *file)
{
    size_t mask = t->node_hash_size - 1;
    size_t i = node_key(parent, name, file) & mask;
    for (; t->node_hash[i]; i = (i + 1) & mask) {
        uint32_t k = t->node_hash[i] - 1;
        const struct cg_calltree_node *nd = &t->nodes[k];
        if (nd->parent == parent && nd->name == name && nd->file == file)
            return k;
    }
    if (t->n_nodes == UINT32_MAX - 1)
        return 0;
    if (t->n_nodes == t->cap_nodes) {
        uint32_t cap = t->cap_nodes * 2;
        struct cg_calltree_node *nodes = realloc(t->nodes, cap * sizeof(*nodes));
        if (!nodes)
            return 0;
        t->nodes = nodes;
        t->cap_nodes = cap;
    }
    if ((size_t)(t->n_nodes + 1) * 2 > t->node_hash_size) {
        if (grow_node_hash(t) != 0)
            return 0;
        mask = t->node_hash_size - 1;
        i = node_key(parent, name, file) & mask;
        while (t->node_hash[i])
            i = (i + 1) & mask;
    }
    uint32_t k = t->n_nodes++;
    struct cg_calltree_node *nd = &t->nodes[k];
    memset(nd, 0, sizeof(*nd));
    nd->name = name;
    nd->file = file;
    nd->parent = parent;
    nd->tree = t;
    struct cg_calltree_node *p = &t->nodes[parent];
    if (p->last_child)
        t->nodes[p->last_child].next_sibling = k;
    else
        p->first_child = k;
    p->last_child = k;
    t->node_hash[i] = k + 1;
    return k;
}

static void widen(struct cg_calltree_node *nd, int line)
{
    if (line <= 0)
        return;
    uint32_t l = (uint32_t)line;
    if (!nd->line_min || l < nd->line_min)
        nd->line_min = l;
    if (l > nd->line_max)
        nd->line_max = l;
}

/* Finds or creates the nodes of the stack (truncated at the depth limit),
 * widening each one's line range by its frame's line and, when line_max is
 * not NULL, by line_max[i] too.  *leaf_out (may be NULL) gets the last
 * node.  Returns 0 or CG_ENOMEM. */
static int add_path(struct cg_calltree *t, const struct cg_frame *frames, size_t depth,
                    const int *line_max, uint32_t *leaf_out)
{
    bool truncated = t->max_depth && depth > t->max_depth;
    size_t keep = truncated ? t->max_depth - 1 : depth;
    uint32_t at = 0;
    int err = 0;
    for (size_t i = 0; i <= keep; i++) {
        const char *name, *file;
        if (i < keep) {
            name = intern(t, frames[i].name ? frames[i].name : "[unknown]", &err);
            file = intern(t, frames[i].file, &err);
        } else if (truncated) {
            name = intern(t, CG_TRUNCATED_FRAME, &err);
            file = NULL;
        } else {
            break;
        }
        if (err)
            return err;
        uint32_t next = child(t, at, name, file);
        if (next == 0)
            return CG_ENOMEM;
        at = next;
        if (i < keep) {
            widen(&t->nodes[at], frames[i].line);
            if (line_max)
                widen(&t->nodes[at], line_max[i]);
        }
    }
    if (leaf_out)
        *leaf_out = at;
    return 0;
}

int cg_calltree_add(struct cg_calltree *t, const struct cg_frame *frames, size_t depth,
                    enum cg_count_key key, uint64_t count)
{
    if (depth == 0 || count == 0 || (unsigned)key >= CG_KEY_COUNT)
        return 0;
    uint32_t at;
    int rc = add_path(t, frames, depth, NULL, &at);
    if (rc)
        return rc;
    t->nodes[at].self[key] += count;
    t->totals[key] += count;
    return 0;
}

int cg_calltree_add_lines(struct cg_calltree *t, const struct cg_frame *frames, size_t depth)
{
    return depth ? add_path(t, frames, depth, NULL, NULL) : 0;
}

/* Merge walks src depth-first, mapping each src node to its dst node.  The
 * path carries each node's line_min as the frame's line and its line_max
 * alongside, so ancestors get their whole range from any descendant. */
int cg_calltree_merge(struct cg_calltree *dst, const struct cg_calltree *src)
{
    size_t n = src->n_nodes;
    struct cg_frame *path = malloc(n * sizeof(*path));
    int *path_max = malloc(n * sizeof(*path_max));
    uint32_t *stack = malloc(n * sizeof(*stack));
    uint32_t *depth_of = malloc(n * sizeof(*depth_of));
    int rc = 0;
    if (!path || !path_max || !stack || !depth_of) {
        rc = CG_ENOMEM;
        goto out;
    }
    size_t sp = 0;
    depth_of[0] = 0;
    for (uint32_t c = src->nodes[0].first_child; c; c = src->nodes[c].next_sibling)
        stack[sp++] = c;
    /* Pre-order: when a node at depth d is popped, path[0..d-2] still
     * holds its ancestors (everything popped since was deeper). */
    while (sp) {
        uint32_t k = stack[--sp];
        const struct cg_calltree_node *nd = &src->nodes[k];
        uint32_t d = nd->parent == 0 ? 1 : depth_of[nd->parent] + 1;
        depth_of[k] = d;
        path[d - 1].name = nd->name;
        path[d - 1].file = nd->file;
        path[d - 1].line = (int)nd->line_min;
        path_max[d - 1] = (int)nd->line_max;
        bool any = false;
        for (int key = 0; key < CG_KEY_COUNT; key++)
            any |= nd->self[key] != 0;
        if (any) {
            uint32_t at;
            if ((rc = add_path(dst, path, d, path_max, &at)) != 0)
                break;
            for (int key = 0; key < CG_KEY_COUNT; key++) {
                dst->nodes[at].self[key] += nd->self[key];
                dst->totals[key] += nd->self[key];
            }
        }
        for (uint32_t c = nd->first_child; c; c = src->nodes[c].next_sibling)
            stack[sp++] = c;
    }
out:
    free(path);
    free(path_max);
    free(stack);
    free(depth_of);
    return rc;
}

uint64_t cg_calltree_total(const struct cg_calltree *t, enum cg_count_key key)
{
    return (unsigned)key < CG_KEY_COUNT ? t->totals[key] : 0;
}

size_t cg_calltree_node_count(const struct cg_calltree *t)
{
    return t->n_nodes - 1;
}

size_t cg_calltree_bytes(const struct cg_calltree *t)
{
    return sizeof(*t) + t->cap_nodes * sizeof(t->nodes[0]) +
           t->node_hash_size * sizeof(t->node_hash[0]) + cg_strpool_bytes(t->strs);
}

bool cg_calltree_empty(const struct cg_calltree *t)
{
    return t->n_nodes == 1;
}

const struct cg_calltree_node *cg_calltree_root(const struct cg_calltree *t)
{
    return &t->nodes[0];
}

const struct cg_calltree_node *cg_calltree_node_first_child(const struct cg_calltree_node *n)
{
    return n->first_child ? &n->tree->nodes[n->first_child] : NULL;
}

const struct cg_calltree_node *cg_calltree_node_next_sibling(const struct cg_calltree_node *n)
{
    return n->next_sibling ? &n->tree->nodes[n->next_sibling] : NULL;
}

const char *cg_calltree_node_name(const struct cg_calltree_node *n)
{
    return n->name;
}

const char *cg_calltree_node_file(const struct cg_calltree_node *n)
{
    return n->file;
}

uint64_t cg_calltree_node_self(const struct cg_calltree_node *n, enum cg_count_key key)
{
    return (unsigned)key < CG_KEY_COUNT ? n->self[key] : 0;
}

int cg_calltree_node_line_min(const struct cg_calltree_node *n)
{
    return (int)n->line_min;
}

int cg_calltree_node_line_max(const struct cg_calltree_node *n)
{
    return (int)n->line_max;
}
