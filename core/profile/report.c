/*
 * report.c - text summary of profile documents.
 *
 * DESIGN: decode every file into one merged call tree, then one walk
 * computes per function (name, file) the self samples and the inclusive
 * samples: a node's subtree sum is added to its function's total only when
 * no ancestor is the same function, so recursion is counted once per
 * stack.  Subtree sums come from a post-order pass over an explicit stack.
 */
#include "core/profile/report.h"

#include "core/base/error.h"
#include "core/profile/calltree.h"
#include "core/profile/flamegraph.h"
#include "core/profile/profile_doc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE_BYTES (256u * 1024 * 1024)

struct fn_stat {
    const char *name, *file; /* interned by the merged tree */
    uint64_t self, total;
    uint32_t on_path;        /* times this function is on the current path */
};

struct fn_map {
    struct fn_stat *slots;
    size_t size, used;
};

static struct fn_stat *fn_get(struct fn_map *m, const char *name, const char *file)
{
    if ((m->used + 1) * 2 > m->size) {
        size_t n = m->size ? m->size * 2 : 1024;
        struct fn_stat *s = calloc(n, sizeof(*s));
        if (!s)
            return NULL;
        for (size_t i = 0; i < m->size; i++) {
            if (!m->slots[i].name)
                continue;
            size_t j = (((uintptr_t)m->slots[i].name >> 4) ^ ((uintptr_t)m->slots[i].file >> 3)) & (n - 1);
            while (s[j].name)
                j = (j + 1) & (n - 1);
            s[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = s;
        m->size = n;
    }
    size_t j = (((uintptr_t)name >> 4) ^ ((uintptr_t)file >> 3)) & (m->size - 1);
    for (; m->slots[j].name; j = (j + 1) & (m->size - 1))
        if (m->slots[j].name == name && m->slots[j].file == file)
            return &m->slots[j];
    m->slots[j].name = name;
    m->slots[j].file = file;
    m->used++;
    return &m->slots[j];
}

struct visit {
    const struct cg_calltree_node *node;
    struct fn_stat *fn;
    uint64_t subtree;
    size_t parent;   /* index in the visit array */
    int state;       /* 0: enter, 1: children pushed */
};

/* Fills self/total for one key.  Returns 0 or CG_ENOMEM. */
static int compute(const struct cg_calltree *tree, enum cg_count_key key, struct fn_map *map)
{
    for (size_t i = 0; i < map->size; i++)
        map->slots[i].self = map->slots[i].total = 0, map->slots[i].on_path = 0;
    size_t n = cg_calltree_node_count(tree) + 1;
    struct visit *v = malloc(n * sizeof(*v));
    size_t *stack = malloc(n * sizeof(*stack));
    if (!v || !stack) {
        free(v);
        free(stack);
        return CG_ENOMEM;
    }
    size_t nv = 0, sp = 0;
    v[nv] = (struct visit){cg_calltree_root(tree), NULL, 0, 0, 0};
    stack[sp++] = nv++;
    int rc = 0;
    while (sp) {
        size_t i = stack[sp - 1];
        if (v[i].state == 0) {
            v[i].state = 1;
            v[i].subtree = cg_calltree_node_self(v[i].node, key);
            if (i != 0) {
                v[i].fn = fn_get(map, cg_calltree_node_name(v[i].node),
                                 cg_calltree_node_file(v[i].node));
                if (!v[i].fn) {
                    rc = CG_ENOMEM;
                    break;
                }
                v[i].fn->self += v[i].subtree;
                v[i].fn->on_path++;
            }
            for (const struct cg_calltree_node *c = cg_calltree_node_first_child(v[i].node); c;
                 c = cg_calltree_node_next_sibling(c)) {
                v[nv] = (struct visit){c, NULL, 0, i, 0};
                stack[sp++] = nv++;
            }
            continue;
        }
        sp--;
        if (i != 0) {
            v[i].fn->on_path--;
            if (v[i].fn->on_path == 0) /* outermost occurrence on this path */
                v[i].fn->total += v[i].subtree;
            v[v[i].parent].subtree += v[i].subtree;
        }
    }
    free(v);
    free(stack);
    return rc;
}

static const char *base(const char *path)
{
    if (!path)
        return "?";
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int by_self(const void *a, const void *b)
{
    const struct fn_stat *x = *(struct fn_stat *const *)a, *y = *(struct fn_stat *const *)b;
    return x->self < y->self ? 1 : x->self > y->self ? -1 : strcmp(x->name, y->name);
}

static int by_total(const void *a, const void *b)
{
    const struct fn_stat *x = *(struct fn_stat *const *)a, *y = *(struct fn_stat *const *)b;
    return x->total < y->total ? 1 : x->total > y->total ? -1 : strcmp(x->name, y->name);
}

static void print_table(FILE *out, const char *title, struct fn_stat **rows, size_t n,
                        size_t top, uint64_t all)
{
    fprintf(out, "  %s\n  %8s %6s  %8s %6s  %s\n", title, "self", "", "total", "", "function [file]");
    for (size_t i = 0; i < n && i < top; i++) {
        const struct fn_stat *f = rows[i];
        fprintf(out, "  %8llu %5.1f%%  %8llu %5.1f%%  %s [%s]\n", (unsigned long long)f->self,
                100.0 * (double)f->self / (double)all, (unsigned long long)f->total,
                100.0 * (double)f->total / (double)all, f->name, base(f->file));
    }
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_FILE_BYTES)
                break;
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap + 1);
            if (!nb)
                break;
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    bool ok = !ferror(f) && feof(f);
    fclose(f);
    if (!ok) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int cg_report_run(const char *const *paths, size_t n_paths, const struct cg_report_options *o)
{
    FILE *out = o && o->out ? o->out : stdout;
    size_t top = o && o->top_n ? o->top_n : 15;
    struct cg_calltree *all = cg_calltree_new(0);
    if (!all)
        return CG_ENOMEM;
    double weight[CG_KEY_COUNT] = {0};
    size_t used = 0;
    for (size_t i = 0; i < n_paths; i++) {
        size_t len = 0;
        char *text = read_file(paths[i], &len);
        if (!text) {
            fprintf(stderr, "cgagent report: %s: cannot read\n", paths[i]);
            continue;
        }
        char err[200];
        struct cg_profile_meta meta;
        struct cg_calltree *t = cg_profile_doc_decode(text, len, &meta, err, sizeof(err));
        free(text);
        if (!t) {
            fprintf(stderr, "cgagent report: %s: %s; skipped\n", paths[i], err);
            continue;
        }
        for (int k = 0; k < CG_KEY_COUNT; k++)
            if (!weight[k] && cg_calltree_total(t, (enum cg_count_key)k))
                weight[k] = cg_profile_doc_weight(&meta, (unsigned)k);
        int rc = cg_calltree_merge(all, t);
        cg_calltree_free(t);
        if (rc) {
            cg_calltree_free(all);
            return rc;
        }
        used++;
    }
    if (!used) {
        cg_calltree_free(all);
        return CG_EINVAL;
    }
    struct fn_map map = {0};
    int rc = 0;
    bool any = false;
    for (int k = 0; k < CG_KEY_COUNT && rc == 0; k++) {
        enum cg_count_key key = (enum cg_count_key)k;
        uint64_t samples = cg_calltree_total(all, key);
        if (!samples)
            continue;
        any = true;
        if ((rc = compute(all, key, &map)) != 0)
            break;
        struct fn_stat **rows = malloc(map.used * sizeof(*rows));
        if (!rows) {
            rc = CG_ENOMEM;
            break;
        }
        size_t n = 0;
        for (size_t i = 0; i < map.size; i++)
            if (map.slots[i].name && map.slots[i].total)
                rows[n++] = &map.slots[i];
        fprintf(out, "\n== %s: %llu samples", cg_count_key_name(key), (unsigned long long)samples);
        if (weight[k] > 0)
            fprintf(out, " = %.2f thread-seconds at %.3g samples/s", (double)samples / weight[k],
                    weight[k]);
        fprintf(out, " (%zu profile%s)\n", used, used == 1 ? "" : "s");
        qsort(rows, n, sizeof(*rows), by_self);
        print_table(out, "top functions by self samples", rows, n, top, samples);
        qsort(rows, n, sizeof(*rows), by_total);
        print_table(out, "top functions by total (inclusive) samples", rows, n, top, samples);
        free(rows);
    }
    if (!any && rc == 0)
        fprintf(out, "no samples in %zu profile%s\n", used, used == 1 ? "" : "s");
    if (rc == 0 && any && o && o->flamegraph_path) {
        int k = 0;
        while (k < CG_KEY_COUNT && !cg_calltree_total(all, (enum cg_count_key)k))
            k++;
        FILE *svg = fopen(o->flamegraph_path, "w");
        char title[300];
        snprintf(title, sizeof(title), "%s%s", base(paths[0]), n_paths > 1 ? " and others" : "");
        if (!svg || cg_flamegraph_write_svg(all, (enum cg_count_key)k, title, svg) != 0) {
            fprintf(stderr, "cgagent report: cannot write %s\n", o->flamegraph_path);
            rc = CG_EIO;
        } else {
            fprintf(out, "\nflame graph (%s): %s\n", cg_count_key_name((enum cg_count_key)k),
                     o->flamegraph_path);
        }
        if (svg)
            fclose(svg);
    }
    free(map.slots);
    cg_calltree_free(all);
    return rc;
}
