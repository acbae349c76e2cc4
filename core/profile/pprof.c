/*
 * pprof.c - profile.proto by hand, then gzip with zlib.
 *
 * DESIGN: profile.proto needs a dozen fields; a generated protobuf library
 * would be a build-time code generator and a runtime dependency in every
 * profiled process for ~150 lines of varint writing.  Strings, functions
 * and locations are deduplicated through the call tree's interned strings
 * (pointer-keyed), samples come from a depth-first walk.
 *
 * The conventions pprof, Pyroscope, Parca and Grafana read (pprof.h):
 * fixed sample types with CPU first and the default, period_type/period
 * from the CPU rate, the main executable as mapping 1 (the "File:" tools
 * show) and build ids on mappings.  A build id costs one ELF open per
 * distinct file per report, on the agent thread.
 *
 * Field numbers (profile.proto): Profile.sample_type=1, sample=2,
 * mapping=3, location=4, function=5, string_table=6, time_nanos=9,
 * duration_nanos=10, period_type=11, period=12, default_sample_type=14;
 * ValueType.type=1, unit=2; Sample.location_id=1 (packed), value=2
 * (packed); Mapping.id=1, filename=5, build_id=6, has_functions=7;
 * Location.id=1, mapping_id=2, line=4; Line.function_id=1, line=2;
 * Function.id=1, name=2, system_name=3, filename=4.
 *
 * Lines: a call-tree node keeps a line range, a Location holds one line.
 * Each distinct (name, file) is one Function (start_line left 0); each
 * distinct (function, line) is one Location, line being the node's
 * smallest line (0, left out, when none is known).  Nodes of one function
 * at different lines are different locations; a node whose frames ran
 * several lines is shown at its first.  Without lines location ids equal
 * function ids, as before lines existed.
 */
#include "core/profile/pprof.h"

#include "core/profile/calltree.h"
#include "core/profile/profile_doc.h"
#include "core/sample/count_key.h"
#include "core/symbols/elf_symtab.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct pb {
    unsigned char *b;
    size_t len, cap;
    bool oom;
};

static void pb_raw(struct pb *p, const void *d, size_t n)
{
    if (p->oom)
        return;
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < p->len + n)
            cap *= 2;
        unsigned char *nb = realloc(p->b, cap);
        if (!nb) {
            p->oom = true;
            return;
        }
        p->b = nb;
        p->cap = cap;
    }
    memcpy(p->b + p->len, d, n);
    p->len += n;
}

static void pb_varint(struct pb *p, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    pb_raw(p, tmp, n);
}

static void pb_key(struct pb *p, unsigned field, unsigned wire)
{
    pb_varint(p, (uint64_t)field << 3 | wire);
}

static void pb_uint(struct pb *p, unsigned field, uint64_t v)
{
    if (!v)
        return; /* proto3 default */
    pb_key(p, field, 0);
    pb_varint(p, v);
}

static void pb_bytes(struct pb *p, unsigned field, const void *d, size_t n)
{
    pb_key(p, field, 2);
    pb_varint(p, n);
    pb_raw(p, d, n);
}

static void pb_msg(struct pb *p, unsigned field, struct pb *m)
{
    if (m->oom)
        p->oom = true;
    pb_bytes(p, field, m->b, m->len);
    m->len = 0;
}

/* Pointer-keyed table: interned string (or name/file pair) -> index. */
struct ptab {
    const void **k1, **k2;
    uint64_t *val;
    size_t size, used;
};

static uint64_t *ptab_get(struct ptab *t, const void *a, const void *b, bool *created)
{
    if ((t->used + 1) * 2 > t->size) {
        size_t n = t->size ? t->size * 2 : 256;
        const void **k1 = calloc(n, sizeof(*k1)), **k2 = calloc(n, sizeof(*k2));
        uint64_t *val = calloc(n, sizeof(*val));
        if (!k1 || !k2 || !val) {
            free(k1);
            free(k2);
            free(val);
            return NULL;
        }
        for (size_t i = 0; i < t->size; i++) {
            if (!t->val[i])
                continue;
            size_t j = (((uintptr_t)t->k1[i] >> 3) * 31 + ((uintptr_t)t->k2[i] >> 3)) & (n - 1);
            while (val[j])
                j = (j + 1) & (n - 1);
            k1[j] = t->k1[i];
            k2[j] = t->k2[i];
            val[j] = t->val[i];
        }
        free(t->k1);
        free(t->k2);
        free(t->val);
        t->k1 = k1;
        t->k2 = k2;
        t->val = val;
        t->size = n;
    }
    size_t j = (((uintptr_t)a >> 3) * 31 + ((uintptr_t)b >> 3)) & (t->size - 1);
    for (; t->val[j]; j = (j + 1) & (t->size - 1))
        if (t->k1[j] == a && t->k2[j] == b) {
            *created = false;
            return &t->val[j];
        }
    t->k1[j] = a;
    t->k2[j] = b;
    t->used++;
    *created = true;
    return &t->val[j];
}

static void ptab_free(struct ptab *t)
{
    free(t->k1);
    free(t->k2);
    free(t->val);
}

/* The sample types, in Sample.value order.  CPU first: "samples/count"
 * and "cpu/nanoseconds" are what pprof and the continuous-profiling
 * servers recognise as a CPU profile; the off-CPU kinds keep CodeGuru's
 * split (a sleeping thread and one in uninterruptible wait). */
enum { V_SAMPLES, V_CPU_NS, V_WAITING_NS, V_BLOCKED_NS, N_VALUES };

static const char *const value_type[N_VALUES][2] = {
    {"samples", "count"}, {"cpu", "nanoseconds"}, {"waiting", "nanoseconds"},
    {"blocked", "nanoseconds"},
};

/* The built-in rates stand in when the meta has none (a decoded document
 * of a run with that sampler off), so no sample is weighed as zero. */
#define DEFAULT_CPU_PERIOD_NS 10000000ull   /* 100 Hz */
#define DEFAULT_WALL_PERIOD_NS 1000000000ull /* 1 s */

struct enc {
    struct pb out, tmp, tmp2;
    struct ptab strs, funcs, locs, maps;
    uint64_t n_strs, n_funcs, n_locs, n_maps;
    const char *main_file; /* mapping 1; borrowed from the meta */
    uint64_t cpu_period_ns, wall_period_ns;
    uint64_t *path; /* location ids, root first */
    bool oom;
};

/* Index of s in string_table, adding it (field 6) on first use. */
static uint64_t str_id(struct enc *e, const char *s)
{
    if (!s)
        return 0;
    bool created;
    uint64_t *v = ptab_get(&e->strs, s, NULL, &created);
    if (!v) {
        e->oom = true;
        return 0;
    }
    if (created) {
        *v = ++e->n_strs;
        pb_bytes(&e->out, 6, s, strlen(s));
    }
    return *v;
}

/* Adds a string that is not interned (no pointer to key it by). */
static uint64_t str_add(struct enc *e, const char *s)
{
    pb_bytes(&e->out, 6, s, strlen(s));
    return ++e->n_strs;
}

static uint64_t mapping_id(struct enc *e, const char *file)
{
    if (!file)
        return 0;
    /* The tree's interned copy of the main file is another pointer. */
    if (e->main_file && file != e->main_file && strcmp(file, e->main_file) == 0)
        file = e->main_file;
    bool created;
    uint64_t *v = ptab_get(&e->maps, file, NULL, &created);
    if (!v) {
        e->oom = true;
        return 0;
    }
    if (created) {
        *v = ++e->n_maps;
        uint64_t fname = str_id(e, file);
        pb_uint(&e->tmp, 1, *v);
        pb_uint(&e->tmp, 5, fname);
        char build_id[2 * 64 + 1];
        if (file[0] == '/' && cg_elf_build_id(file, build_id, sizeof(build_id)) == 0)
            pb_uint(&e->tmp, 6, str_add(e, build_id));
        pb_key(&e->tmp, 7, 0);
        pb_varint(&e->tmp, 1); /* has_functions */
        pb_msg(&e->out, 3, &e->tmp);
    }
    return *v;
}

/* Id of the Function (name, file), written on first use. */
static uint64_t function_id(struct enc *e, const char *name, const char *file)
{
    bool created;
    uint64_t *v = ptab_get(&e->funcs, name, file, &created);
    if (!v) {
        e->oom = true;
        return 0;
    }
    if (!created)
        return *v;
    uint64_t id = *v = ++e->n_funcs;
    uint64_t sname = str_id(e, name), sfile = str_id(e, file);
    pb_uint(&e->tmp, 1, id);
    pb_uint(&e->tmp, 2, sname);
    pb_uint(&e->tmp, 3, sname);
    pb_uint(&e->tmp, 4, sfile);
    pb_msg(&e->out, 5, &e->tmp);
    return id;
}

/* Id of the Location (function of name and file, line), written on first
 * use.  The table is keyed by the two numbers as pointers (shifted past
 * ptab's >> 3). */
static uint64_t location_id(struct enc *e, const char *name, const char *file, int line)
{
    uint64_t fid = function_id(e, name, file);
    uint64_t ln = line > 0 ? (uint64_t)line : 0;
    if (!fid)
        return 0;
    bool created;
    uint64_t *v = ptab_get(&e->locs, (const void *)(uintptr_t)(fid << 3),
                           (const void *)(uintptr_t)(ln << 3), &created);
    if (!v) {
        e->oom = true;
        return 0;
    }
    if (!created)
        return *v;
    uint64_t id = *v = ++e->n_locs, map = mapping_id(e, file);
    pb_uint(&e->tmp, 1, id);
    pb_uint(&e->tmp, 2, map);
    pb_uint(&e->tmp2, 1, fid); /* Line.function_id */
    pb_uint(&e->tmp2, 2, ln);  /* Line.line */
    pb_msg(&e->tmp, 4, &e->tmp2);
    pb_msg(&e->out, 4, &e->tmp);
    return id;
}

static void walk(struct enc *e, const struct cg_calltree_node *n, size_t depth)
{
    for (const struct cg_calltree_node *c = cg_calltree_node_first_child(n); c && !e->oom;
         c = cg_calltree_node_next_sibling(c)) {
        e->path[depth] = location_id(e, cg_calltree_node_name(c), cg_calltree_node_file(c),
                                     cg_calltree_node_line_min(c));
        uint64_t cpu = cg_calltree_node_self(c, CG_KEY_RUNNABLE);
        /* pprof has one waiting type: TIMED_WAITING (Java) is waiting too. */
        uint64_t waiting = cg_calltree_node_self(c, CG_KEY_WAITING) +
                           cg_calltree_node_self(c, CG_KEY_TIMED_WAITING);
        uint64_t blocked = cg_calltree_node_self(c, CG_KEY_BLOCKED);
        if (cpu || waiting || blocked) {
            uint64_t v[N_VALUES] = {
                [V_SAMPLES] = cpu, [V_CPU_NS] = cpu * e->cpu_period_ns,
                [V_WAITING_NS] = waiting * e->wall_period_ns,
                [V_BLOCKED_NS] = blocked * e->wall_period_ns,
            };
            /* Sample: location ids leaf first (packed), then values (packed). */
            struct pb ids = {0}, vals = {0};
            for (size_t i = depth + 1; i-- > 0;)
                pb_varint(&ids, e->path[i]);
            for (int k = 0; k < N_VALUES; k++)
                pb_varint(&vals, v[k]);
            pb_bytes(&e->tmp, 1, ids.b, ids.len);
            pb_bytes(&e->tmp, 2, vals.b, vals.len);
            if (ids.oom || vals.oom)
                e->oom = true;
            free(ids.b);
            free(vals.b);
            pb_msg(&e->out, 2, &e->tmp);
        }
        walk(e, c, depth + 1);
    }
}

static unsigned char *gzip(const unsigned char *in, size_t len, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, len) + 32;
    unsigned char *out = malloc(cap);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

unsigned char *cg_pprof_encode_gz(const struct cg_calltree *tree,
                                  const struct cg_profile_meta *meta, size_t *len_out)
{
    struct enc e;
    memset(&e, 0, sizeof(e));
    e.path = malloc((cg_calltree_node_count(tree) + 1) * sizeof(*e.path));
    unsigned char *gz = NULL;
    if (!e.path)
        goto out;
    pb_bytes(&e.out, 6, "", 0); /* string_table[0] must be "" */
    double hz = cg_profile_doc_weight(meta, CG_KEY_RUNNABLE);
    double wall_hz = cg_profile_doc_weight(meta, CG_KEY_WAITING);
    e.cpu_period_ns = hz > 0 ? (uint64_t)(1e9 / hz + 0.5) : DEFAULT_CPU_PERIOD_NS;
    e.wall_period_ns = wall_hz > 0 ? (uint64_t)(1e9 / wall_hz + 0.5) : DEFAULT_WALL_PERIOD_NS;
    for (int k = 0; k < N_VALUES; k++) {
        pb_uint(&e.tmp, 1, str_id(&e, value_type[k][0]));
        pb_uint(&e.tmp, 2, str_id(&e, value_type[k][1]));
        pb_msg(&e.out, 1, &e.tmp);
    }
    if (meta->main_file && meta->main_file[0]) {
        e.main_file = meta->main_file;
        mapping_id(&e, e.main_file); /* mapping 1, whatever the walk meets first */
    }
    walk(&e, cg_calltree_root(tree), 0);
    pb_uint(&e.out, 9, meta->start_ms * 1000000u);
    pb_uint(&e.out, 10, (meta->end_ms > meta->start_ms ? meta->end_ms - meta->start_ms : 0) *
                            1000000u);
    pb_uint(&e.tmp, 1, str_id(&e, value_type[V_CPU_NS][0]));
    pb_uint(&e.tmp, 2, str_id(&e, value_type[V_CPU_NS][1]));
    pb_msg(&e.out, 11, &e.tmp);
    pb_uint(&e.out, 12, e.cpu_period_ns);
    pb_uint(&e.out, 14, str_id(&e, value_type[V_CPU_NS][0])); /* default_sample_type */
    if (e.oom || e.out.oom || e.tmp.oom || e.tmp2.oom)
        goto out;
    gz = gzip(e.out.b, e.out.len, len_out);
out:
    free(e.out.b);
    free(e.tmp.b);
    free(e.tmp2.b);
    free(e.path);
    ptab_free(&e.strs);
    ptab_free(&e.funcs);
    ptab_free(&e.locs);
    ptab_free(&e.maps);
    return gz;
}
