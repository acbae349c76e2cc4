/*
 * profile_doc.c - encode and decode the CodeGuru profile document.
 *
 * DESIGN: jansson builds the document (objects keep insertion order with
 * JSON_PRESERVE_ORDER, so output is stable) and parses it back.  jansson
 * refuses strings that are not UTF-8, and symbol names come from files we
 * do not control, so every name passes through a sanitiser first.
 *
 * What it won't do: validate semantics beyond shape (the service does).
 */
#include "core/profile_doc.h"

#include "core/calltree.h"
#include "core/error.h"

#include <jansson.h>
#include <math.h>
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

/* A JSON string of s with invalid bytes replaced by U+FFFD. */
static json_t *json_text(const char *s)
{
    size_t len = strlen(s), i = 0;
    bool clean = true;
    while (i < len) {
        size_t n = utf8_seq((const unsigned char *)s + i, len - i);
        if (!n) {
            clean = false;
            break;
        }
        i += n;
    }
    if (clean)
        return json_stringn_nocheck(s, len);
    char *buf = malloc(len * 3 + 1);
    if (!buf)
        return NULL;
    size_t o = 0;
    for (i = 0; i < len;) {
        size_t n = utf8_seq((const unsigned char *)s + i, len - i);
        if (n) {
            memcpy(buf + o, s + i, n);
            o += n;
            i += n;
        } else {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    json_t *j = json_stringn_nocheck(buf, o);
    free(buf);
    return j;
}

double cg_profile_doc_weight(const struct cg_profile_meta *meta, unsigned key)
{
    if (key == CG_KEY_RUNNABLE)
        return meta->cpu_hz;
    return meta->wall_interval_ms ? 1000.0 / meta->wall_interval_ms : 0;
}

/* Builds node's JSON (counts, file, children) into obj.  Recursion depth
 * is bounded by the tree's depth limit. */
static int encode_node(const struct cg_calltree_node *n, json_t *obj)
{
    json_t *counts = NULL;
    for (int k = 0; k < CG_KEY_COUNT; k++) {
        uint64_t c = cg_calltree_node_self(n, (enum cg_count_key)k);
        if (!c)
            continue;
        if (!counts && !(counts = json_object()))
            return CG_ENOMEM;
        json_object_set_new_nocheck(counts, cg_count_key_name((enum cg_count_key)k),
                                    json_integer((json_int_t)c));
    }
    if (counts && json_object_set_new_nocheck(obj, "counts", counts) != 0)
        return CG_ENOMEM;
    const char *file = cg_calltree_node_file(n);
    if (file && json_object_set_new_nocheck(obj, "file", json_text(file)) != 0)
        return CG_ENOMEM;
    const struct cg_calltree_node *c = cg_calltree_node_first_child(n);
    if (!c)
        return 0;
    json_t *children = json_object();
    if (!children || json_object_set_new_nocheck(obj, "children", children) != 0)
        return CG_ENOMEM;
    for (; c; c = cg_calltree_node_next_sibling(c)) {
        json_t *child = json_object();
        json_t *key = json_text(cg_calltree_node_name(c));
        if (!child || !key) {
            json_decref(child);
            json_decref(key);
            return CG_ENOMEM;
        }
        /* Two frames that differ only in file share a name key; the second
         * gets its file appended so neither is lost. */
        const char *name = json_string_value(key);
        char alt[4096];
        if (json_object_get(children, name)) {
            snprintf(alt, sizeof(alt), "%s (%s)", name, cg_calltree_node_file(c)
                                                            ? cg_calltree_node_file(c) : "?");
            name = alt;
        }
        int rc = json_object_set_new(children, name, child);
        json_decref(key);
        if (rc != 0)
            return CG_ENOMEM;
        if ((rc = encode_node(c, child)) != 0)
            return rc;
    }
    return 0;
}

#define SET(obj, k, v)                                   \
    do {                                                 \
        if (json_object_set_new_nocheck((obj), (k), (v))) \
            goto oom;                                    \
    } while (0)

char *cg_profile_doc_encode(const struct cg_calltree *tree, const struct cg_profile_meta *m,
                            size_t *len_out)
{
    char *out = NULL;
    json_t *doc = json_object();
    if (!doc)
        return NULL;
    SET(doc, "start", json_integer((json_int_t)m->start_ms));
    SET(doc, "end", json_integer((json_int_t)(m->end_ms >= m->start_ms ? m->end_ms : m->start_ms)));

    json_t *md = json_object();
    SET(doc, "agentMetadata", md);
    json_t *weights = json_object();
    SET(md, "sampleWeights", weights);
    for (int k = 0; k < CG_KEY_COUNT; k++)
        if (cg_calltree_total(tree, (enum cg_count_key)k))
            SET(weights, cg_count_key_name((enum cg_count_key)k),
                json_real(cg_profile_doc_weight(m, (unsigned)k)));
    SET(md, "durationInMs", json_integer((json_int_t)(m->end_ms >= m->start_ms
                                                          ? m->end_ms - m->start_ms : 0)));
    json_t *fleet = json_object();
    SET(md, "fleetInfo", fleet);
    if (m->fleet.compute_type) {
        SET(fleet, "computeType", json_text(m->fleet.compute_type));
        if (m->fleet.host_name)
            SET(fleet, "hostName", json_text(m->fleet.host_name));
        if (m->fleet.host_type)
            SET(fleet, "hostType", json_text(m->fleet.host_type));
        if (m->fleet.task_arn)
            SET(fleet, "taskArn", json_text(m->fleet.task_arn));
    } else {
        SET(fleet, "id", json_text(m->fleet.id ? m->fleet.id : ""));
        SET(fleet, "type", json_text(m->fleet.type ? m->fleet.type : "UNKNOWN"));
        SET(fleet, "vCPUs", json_integer((json_int_t)m->fleet.vcpus));
    }
    json_t *info = json_object();
    SET(md, "agentInfo", info);
    SET(info, "type", json_string("cgagent"));
    SET(info, "version", json_text(m->agent_version ? m->agent_version : "0"));
    json_t *ovh = json_object();
    SET(md, "agentOverhead", ovh);
    SET(ovh, "memoryInMB", json_integer((json_int_t)ceil(m->agent_memory_mb)));
    if (m->agent_time_ms)
        SET(ovh, "timeInMs", json_integer((json_int_t)m->agent_time_ms));
    if (m->runtime_version)
        SET(md, "runtimeVersion", json_text(m->runtime_version));
    SET(md, "cpuTimeInSeconds", json_real(m->cpu_time_s));
    json_t *metrics = json_object();
    SET(md, "metrics", metrics);
    SET(metrics, "numThreads", json_real((double)m->num_threads));
    SET(md, "numTimesSampled", json_integer((json_int_t)m->num_times_sampled));

    json_t *cg = json_object();
    SET(doc, "callgraph", cg);
    if (encode_node(cg_calltree_root(tree), cg) != 0)
        goto oom;

    json_t *dbg = json_object();
    SET(doc, "debugInfo", dbg);
    SET(dbg, "processId", json_integer(m->pid));
    SET(dbg, "droppedSamples", json_integer((json_int_t)m->dropped_samples));
    json_t *errs = json_object();
    SET(dbg, "errorsCount", errs);
    for (size_t i = 0; i < m->n_errors; i++)
        SET(errs, m->error_names[i], json_integer((json_int_t)m->error_counts[i]));
    if (m->handler_calls) {
        json_t *gm = json_object();
        SET(dbg, "genericMetrics", gm);
        SET(gm, "handlerNsAverage", json_real((double)m->handler_ns_total / m->handler_calls));
        SET(gm, "handlerCalls", json_integer((json_int_t)m->handler_calls));
    }

    out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (out && len_out)
        *len_out = strlen(out);
oom:
    json_decref(doc);
    return out;
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
        path[depth].name = name;
        path[depth].file = json_is_string(file) ? json_string_value(file) : NULL;
        int rc = decode_node(child, tree, path, depth + 1, max_depth, err, err_size);
        if (rc)
            return rc;
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
