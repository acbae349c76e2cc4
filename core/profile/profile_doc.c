/*
 * profile_doc.c - encode and decode the CodeGuru profile document.
 *
 * DESIGN: the encoder writes JSON text straight into one growing buffer
 * (fast: a 50,000-node tree in a few ms), escaping every string and
 * replacing invalid UTF-8 with U+FFFD, because symbol names come from
 * files we do not control.  The decoder uses jansson, which validates
 * what it reads.
 *
 * What it won't do: validate semantics beyond shape (the service does).
 */
#include "core/profile/profile_doc.h"

#include "core/base/error.h"
#include "core/profile/calltree.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

/* ---- encoder: a streaming writer into one growing buffer ----
 * jansson builds an object per node and hashes every key; for a 50,000-node
 * tree that alone took ~94 ms.  Writing the text directly takes a few ms.
 * Strings are escaped per RFC 8259 and invalid UTF-8 becomes U+FFFD. */

struct out {
    char *buf;
    size_t len, cap;
    bool oom;
};

static void out_reserve(struct out *o, size_t more)
{
    if (o->oom || o->len + more + 1 <= o->cap)
        return;
    size_t cap = o->cap ? o->cap : 65536;
    while (cap < o->len + more + 1)
        cap *= 2;
    char *b = realloc(o->buf, cap);
    if (!b) {
        o->oom = true;
        return;
    }
    o->buf = b;
    o->cap = cap;
}

static void out_raw(struct out *o, const char *s, size_t n)
{
    out_reserve(o, n);
    if (o->oom)
        return;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void out_lit(struct out *o, const char *s)
{
    out_raw(o, s, strlen(s));
}

static void out_fmt(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_fmt(struct out *o, const char *fmt, ...)
{
    for (size_t room = 128;; room *= 2) {
        out_reserve(o, room);
        if (o->oom)
            return;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
    }
}

/* A JSON number that stays a float when read back ("100.0", not "100"). */
static void out_real(struct out *o, double v)
{
    if (!isfinite(v))
        v = 0;
    char tmp[40];
    int n = snprintf(tmp, sizeof(tmp), "%.15g", v);
    if (n > 0 && !strpbrk(tmp, ".eE"))
        snprintf(tmp + n, sizeof(tmp) - (size_t)n, ".0");
    out_lit(o, tmp);
}

static void out_str(struct out *o, const char *s)
{
    size_t len = strlen(s);
    out_reserve(o, len * 6 + 2);
    if (o->oom)
        return;
    char *w = o->buf + o->len;
    *w++ = '"';
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t n = utf8_seq((const unsigned char *)s + i, len - i);
            if (n) {
                memcpy(w, s + i, n);
                w += n;
                i += n;
            } else {
                memcpy(w, "\xEF\xBF\xBD", 3);
                w += 3;
                i++;
            }
            continue;
        }
        if (c == '"' || c == '\\') {
            *w++ = '\\';
            *w++ = (char)c;
        } else if (c < 0x20) {
            w += snprintf(w, 7, "\\u%04x", c);
        } else {
            *w++ = (char)c;
        }
        i++;
    }
    *w++ = '"';
    o->len = (size_t)(w - o->buf);
}

double cg_profile_doc_weight(const struct cg_profile_meta *meta, unsigned key)
{
    if (key == CG_KEY_RUNNABLE)
        return meta->cpu_hz;
    return meta->wall_interval_ms ? 1000.0 / meta->wall_interval_ms : 0;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(const char *const *)a, y = (uintptr_t)*(const char *const *)b;
    return x < y ? -1 : x > y;
}

/* True when another child of the same parent has the same name (it must
 * differ in file).  Names are interned by the tree: pointer equality is
 * string equality. */
static bool name_repeats(const char *const *sorted, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)sorted[mid] < (uintptr_t)name)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo + 1 < n && sorted[lo + 1] == name;
}

/* Writes node's members (counts, file, line, children) without braces;
 * line is [n], or [min,max] when the node's frames had several lines.
 * Recursion depth is bounded by the tree's depth limit. */
static void encode_node(struct out *o, const struct cg_calltree_node *n)
{
    bool first = true;
    bool any_count = false;
    for (int k = 0; k < CG_KEY_COUNT; k++)
        any_count |= cg_calltree_node_self(n, (enum cg_count_key)k) != 0;
    if (any_count) {
        out_lit(o, "\"counts\":{");
        bool f2 = true;
        for (int k = 0; k < CG_KEY_COUNT; k++) {
            uint64_t c = cg_calltree_node_self(n, (enum cg_count_key)k);
            if (!c)
                continue;
            out_fmt(o, "%s\"%s\":%llu", f2 ? "" : ",", cg_count_key_name((enum cg_count_key)k),
                    (unsigned long long)c);
            f2 = false;
        }
        out_lit(o, "}");
        first = false;
    }
    const char *file = cg_calltree_node_file(n);
    if (file) {
        out_lit(o, first ? "\"file\":" : ",\"file\":");
        out_str(o, file);
        first = false;
    }
    int lo = cg_calltree_node_line_min(n), hi = cg_calltree_node_line_max(n);
    if (lo > 0) {
        out_lit(o, first ? "\"line\":[" : ",\"line\":[");
        if (hi > lo)
            out_fmt(o, "%d,%d]", lo, hi);
        else
            out_fmt(o, "%d]", lo);
        first = false;
    }
    const struct cg_calltree_node *c = cg_calltree_node_first_child(n);
    if (!c)
        return;
    size_t k = 0;
    for (const struct cg_calltree_node *d = c; d; d = cg_calltree_node_next_sibling(d))
        k++;
    const char **sorted = malloc(k * sizeof(*sorted));
    if (!sorted) {
        o->oom = true;
        return;
    }
    k = 0;
    for (const struct cg_calltree_node *d = c; d; d = cg_calltree_node_next_sibling(d))
        sorted[k++] = cg_calltree_node_name(d);
    qsort(sorted, k, sizeof(*sorted), cmp_ptr);
    out_lit(o, first ? "\"children\":{" : ",\"children\":{");
    for (const struct cg_calltree_node *d = c; d; d = cg_calltree_node_next_sibling(d)) {
        const char *name = cg_calltree_node_name(d);
        if (d != c)
            out_lit(o, ",");
        if (name_repeats(sorted, k, name)) {
            /* Same name, other file: keep both by naming the file. */
            char alt[4096];
            snprintf(alt, sizeof(alt), "%s (%s)", name,
                     cg_calltree_node_file(d) ? cg_calltree_node_file(d) : "?");
            out_str(o, alt);
        } else {
            out_str(o, name);
        }
        out_lit(o, ":{");
        encode_node(o, d);
        out_lit(o, "}");
    }
    out_lit(o, "}");
    free(sorted);
}

char *cg_profile_doc_encode(const struct cg_calltree *tree, const struct cg_profile_meta *m,
                            size_t *len_out)
{
    struct out o = {0};
    uint64_t end = m->end_ms >= m->start_ms ? m->end_ms : m->start_ms;
    out_fmt(&o, "{\"start\":%llu,\"end\":%llu,\"agentMetadata\":{\"sampleWeights\":{",
            (unsigned long long)m->start_ms, (unsigned long long)end);
    bool first = true;
    for (int k = 0; k < CG_KEY_COUNT; k++) {
        if (!cg_calltree_total(tree, (enum cg_count_key)k))
            continue;
        out_fmt(&o, "%s\"%s\":", first ? "" : ",", cg_count_key_name((enum cg_count_key)k));
        out_real(&o, cg_profile_doc_weight(m, (unsigned)k));
        first = false;
    }
    out_fmt(&o, "},\"durationInMs\":%llu,\"fleetInfo\":{",
            (unsigned long long)(end - m->start_ms));
    if (m->fleet.compute_type) {
        out_lit(&o, "\"computeType\":");
        out_str(&o, m->fleet.compute_type);
        const char *keys[] = {"hostName", "hostType", "taskArn"};
        const char *vals[] = {m->fleet.host_name, m->fleet.host_type, m->fleet.task_arn};
        for (int i = 0; i < 3; i++) {
            if (!vals[i])
                continue;
            out_fmt(&o, ",\"%s\":", keys[i]);
            out_str(&o, vals[i]);
        }
    } else {
        out_lit(&o, "\"id\":");
        out_str(&o, m->fleet.id ? m->fleet.id : "");
        out_lit(&o, ",\"type\":");
        out_str(&o, m->fleet.type ? m->fleet.type : "UNKNOWN");
        out_fmt(&o, ",\"vCPUs\":%lld", (long long)m->fleet.vcpus);
    }
    out_lit(&o, "},\"agentInfo\":{\"type\":\"cgagent\",\"version\":");
    out_str(&o, m->agent_version ? m->agent_version : "0");
    out_fmt(&o, "},\"agentOverhead\":{\"memoryInMB\":%lld", (long long)ceil(m->agent_memory_mb));
    if (m->agent_time_ms)
        out_fmt(&o, ",\"timeInMs\":%llu", (unsigned long long)m->agent_time_ms);
    out_lit(&o, "}");
    if (m->runtime_version) {
        out_lit(&o, ",\"runtimeVersion\":");
        out_str(&o, m->runtime_version);
    }
    out_lit(&o, ",\"cpuTimeInSeconds\":");
    out_real(&o, m->cpu_time_s);
    out_lit(&o, ",\"metrics\":{\"numThreads\":");
    out_real(&o, (double)m->num_threads);
    out_fmt(&o, "},\"numTimesSampled\":%llu},\"callgraph\":{",
            (unsigned long long)m->num_times_sampled);
    encode_node(&o, cg_calltree_root(tree));
    out_fmt(&o, "},\"debugInfo\":{\"processId\":%d,\"droppedSamples\":%llu,\"errorsCount\":{",
            m->pid, (unsigned long long)m->dropped_samples);
    for (size_t i = 0; i < m->n_errors; i++) {
        out_lit(&o, i ? "," : "");
        out_str(&o, m->error_names[i]);
        out_fmt(&o, ":%llu", (unsigned long long)m->error_counts[i]);
    }
    out_lit(&o, "}");
    bool any_cpu = false;
    for (int i = 0; i < CG_ACT_N; i++)
        any_cpu = any_cpu || m->agent_cpu_ns[i];
    if (m->handler_calls || any_cpu) {
        const char *sep = "";
        out_lit(&o, ",\"genericMetrics\":{");
        if (m->handler_calls) {
            out_lit(&o, "\"handlerNsAverage\":");
            out_real(&o, (double)m->handler_ns_total / (double)m->handler_calls);
            out_fmt(&o, ",\"handlerCalls\":%llu", (unsigned long long)m->handler_calls);
            out_fmt(&o, ",\"handlerLibunwindCalls\":%llu",
                    (unsigned long long)m->handler_libunwind_calls);
            sep = ",";
        }
        for (int i = 0; any_cpu && i < CG_ACT_N; i++) {
            out_fmt(&o, "%s\"agentCpuNs.%s\":%llu", sep, cg_activity_name((enum cg_activity)i),
                    (unsigned long long)m->agent_cpu_ns[i]);
            sep = ",";
        }
        out_lit(&o, "}");
    }
    out_lit(&o, "}}");
    if (o.oom) {
        free(o.buf);
        return NULL;
    }
    o.buf[o.len] = '\0';
    if (len_out)
        *len_out = o.len;
    return o.buf;
}

/* A node's "line": [n] or [min, max] of positive integers; anything else
 * reads as no line (lines are a hint, not worth rejecting a profile). */
static void decode_lines(json_t *line, int *lo, int *hi)
{
    *lo = *hi = 0;
    size_t n = json_array_size(line);
    if (n < 1 || n > 2)
        return;
    json_int_t a = json_integer_value(json_array_get(line, 0));
    json_int_t b = n == 2 ? json_integer_value(json_array_get(line, 1)) : a;
    if (a <= 0 || b <= 0 || a > INT32_MAX || b > INT32_MAX) /* non-integers read as 0 */
        return;
    *lo = (int)(a < b ? a : b);
    *hi = (int)(a < b ? b : a);
}

static uint64_t all_samples(const struct cg_calltree *tree)
{
    uint64_t n = 0;
    for (int k = 0; k < CG_KEY_COUNT; k++)
        n += cg_calltree_total(tree, (enum cg_count_key)k);
    return n;
}

static int decode_node(json_t *obj, struct cg_calltree *tree, struct cg_frame *path,
                       size_t depth, size_t max_depth, char *err, size_t err_size)
{
    if (!json_is_object(obj)) {
        snprintf(err, err_size, "a call-graph node is not an object");
        return CG_EPARSE;
    }
    json_t *counts = json_object_get(obj, "counts");
    if (counts && depth > 0) {
        const char *k;
        json_t *v;
        json_object_foreach(counts, k, v) {
            enum cg_count_key key;
            if (cg_count_key_parse(k, &key) != 0)
                continue;
            if (!json_is_integer(v) || json_integer_value(v) < 0) {
                snprintf(err, err_size, "count %s is not a non-negative integer", k);
                return CG_EPARSE;
            }
            int rc = cg_calltree_add(tree, path, depth, key, (uint64_t)json_integer_value(v));
            if (rc)
                return rc;
        }
    }
    json_t *children = json_object_get(obj, "children");
    if (!children)
        return 0;
    if (!json_is_object(children)) {
        snprintf(err, err_size, "children is not an object");
        return CG_EPARSE;
    }
    if (depth >= max_depth) {
        snprintf(err, err_size, "call graph deeper than %zu", max_depth);
        return CG_EPARSE;
    }
    const char *name;
    json_t *child;
    json_object_foreach(children, name, child) {
        json_t *file = json_is_object(child) ? json_object_get(child, "file") : NULL;
        int lo, hi;
        decode_lines(json_is_object(child) ? json_object_get(child, "line") : NULL, &lo, &hi);
        path[depth].name = name;
        path[depth].file = json_is_string(file) ? json_string_value(file) : NULL;
        path[depth].line = lo; /* the samples below carry the first line */
        uint64_t before = all_samples(tree);
        int rc = decode_node(child, tree, path, depth + 1, max_depth, err, err_size);
        if (rc)
            return rc;
        /* then the last, when the node exists (it had samples below) */
        if (hi > lo && all_samples(tree) != before) {
            path[depth].line = hi;
            if ((rc = cg_calltree_add_lines(tree, path, depth + 1)) != 0)
                return rc;
        }
    }
    return 0;
}

#define DECODE_MAX_DEPTH 10000

struct cg_calltree *cg_profile_doc_decode(const char *json, size_t len,
                                          struct cg_profile_meta *meta_out, char *err,
                                          size_t err_size)
{
    char scratch[200];
    if (!err) {
        err = scratch;
        err_size = sizeof(scratch);
    }
    err[0] = '\0';
    json_error_t jerr;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        snprintf(err, err_size, "not JSON: %s (line %d)", jerr.text, jerr.line);
        return NULL;
    }
    struct cg_calltree *tree = NULL;
    struct cg_frame *path = NULL;
    json_t *cg = json_object_get(doc, "callgraph");
    json_t *start = json_object_get(doc, "start"), *end = json_object_get(doc, "end");
    if (!json_is_object(doc) || !json_is_object(cg) || !json_is_integer(start) ||
        !json_is_integer(end)) {
        snprintf(err, err_size, "not a profile document (needs start, end, callgraph)");
        goto out;
    }
    if (meta_out) {
        memset(meta_out, 0, sizeof(*meta_out));
        meta_out->start_ms = (uint64_t)json_integer_value(start);
        meta_out->end_ms = (uint64_t)json_integer_value(end);
        json_t *md = json_object_get(doc, "agentMetadata");
        json_t *w = json_object_get(md, "sampleWeights");
        json_t *cpu = json_object_get(w, "RUNNABLE");
        json_t *wall = json_object_get(w, "WAITING");
        if (!wall)
            wall = json_object_get(w, "BLOCKED");
        if (!wall)
            wall = json_object_get(w, "TIMED_WAITING");
        if (json_is_number(cpu))
            meta_out->cpu_hz = (uint32_t)lround(json_number_value(cpu));
        if (json_is_number(wall) && json_number_value(wall) > 0)
            meta_out->wall_interval_ms = (uint32_t)lround(1000.0 / json_number_value(wall));
        json_t *nts = json_object_get(md, "numTimesSampled");
        if (json_is_integer(nts))
            meta_out->num_times_sampled = (uint64_t)json_integer_value(nts);
        json_t *pid = json_object_get(json_object_get(doc, "debugInfo"), "processId");
        if (json_is_integer(pid))
            meta_out->pid = (int)json_integer_value(pid);
        json_t *drops = json_object_get(json_object_get(doc, "debugInfo"), "droppedSamples");
        if (json_is_integer(drops))
            meta_out->dropped_samples = (uint64_t)json_integer_value(drops);
    }
    tree = cg_calltree_new(0);
    path = malloc(DECODE_MAX_DEPTH * sizeof(*path));
    if (!tree || !path) {
        snprintf(err, err_size, "out of memory");
        cg_calltree_free(tree);
        tree = NULL;
        goto out;
    }
    if (decode_node(cg, tree, path, 0, DECODE_MAX_DEPTH, err, err_size) != 0) {
        if (!err[0])
            snprintf(err, err_size, "out of memory");
        cg_calltree_free(tree);
        tree = NULL;
    }
out:
    free(path);
    json_decref(doc);
    return tree;
}
