/*
 * calltree_document_test.c - call tree, profile document, folded stacks,
 * and the report built on them.
 */
#include "core/profile/calltree.h"
#include "core/profile/folded.h"
#include "core/profile/profile_doc.h"
#include "core/profile/report.h"

#include <jansson.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define F(n) {(n), "/bin/app", 0}

static void add(struct cg_calltree *t, const char *const *names, size_t depth,
                enum cg_count_key key, uint64_t count)
{
    struct cg_frame fr[64];
    for (size_t i = 0; i < depth; i++)
        fr[i] = (struct cg_frame){names[i], "/bin/app", 0};
    assert_int_equal(cg_calltree_add(t, fr, depth, key, count), 0);
}

static const struct cg_calltree_node *child_named(const struct cg_calltree_node *n,
                                                  const char *name)
{
    for (const struct cg_calltree_node *c = cg_calltree_node_first_child(n); c;
         c = cg_calltree_node_next_sibling(c))
        if (strcmp(cg_calltree_node_name(c), name) == 0)
            return c;
    return NULL;
}

static void self_counts_land_on_the_leaf_per_key(void **state)
{
    (void)state;
    struct cg_calltree *t = cg_calltree_new(0);
    const char *s1[] = {"main", "run", "hot"};
    const char *s2[] = {"main", "run"};
    add(t, s1, 3, CG_KEY_RUNNABLE, 5);
    add(t, s1, 3, CG_KEY_WAITING, 2);
    add(t, s2, 2, CG_KEY_RUNNABLE, 1);
    assert_int_equal(cg_calltree_node_count(t), 3);
    assert_int_equal(cg_calltree_total(t, CG_KEY_RUNNABLE), 6);
    assert_int_equal(cg_calltree_total(t, CG_KEY_WAITING), 2);
    const struct cg_calltree_node *run =
        child_named(child_named(cg_calltree_root(t), "main"), "run");
    const struct cg_calltree_node *hot = child_named(run, "hot");
    assert_int_equal(cg_calltree_node_self(run, CG_KEY_RUNNABLE), 1);
    assert_int_equal(cg_calltree_node_self(hot, CG_KEY_RUNNABLE), 5);
    assert_int_equal(cg_calltree_node_self(hot, CG_KEY_WAITING), 2);
    assert_int_equal(cg_calltree_node_self(hot, CG_KEY_BLOCKED), 0);
    cg_calltree_free(t);
}

static void same_name_in_another_file_is_another_node(void **state)
{
    (void)state;
    struct cg_calltree *t = cg_calltree_new(0);
    struct cg_frame a[] = {{"main", "/bin/app", 0}, {"init", "/lib/liba.so", 0}};
    struct cg_frame b[] = {{"main", "/bin/app", 0}, {"init", "/lib/libb.so", 0}};
    cg_calltree_add(t, a, 2, CG_KEY_RUNNABLE, 1);
    cg_calltree_add(t, b, 2, CG_KEY_RUNNABLE, 1);
    assert_int_equal(cg_calltree_node_count(t), 3);
    cg_calltree_free(t);
}

static void deep_stacks_keep_root_side_and_end_in_truncated(void **state)
{
    (void)state;
    struct cg_calltree *t = cg_calltree_new(4);
    const char *deep[] = {"f0", "f1", "f2", "f3", "f4", "f5"};
    add(t, deep, 6, CG_KEY_RUNNABLE, 3);
    add(t, deep, 4, CG_KEY_RUNNABLE, 1); /* exactly the limit: kept whole */
    const struct cg_calltree_node *n = cg_calltree_root(t);
    n = child_named(n, "f0");
    n = child_named(n, "f1");
    n = child_named(n, "f2");
    const struct cg_calltree_node *trunc = child_named(n, CG_TRUNCATED_FRAME);
    assert_non_null(trunc);
    assert_int_equal(cg_calltree_node_self(trunc, CG_KEY_RUNNABLE), 3);
    assert_null(cg_calltree_node_first_child(trunc));
    assert_int_equal(cg_calltree_node_self(child_named(n, "f3"), CG_KEY_RUNNABLE), 1);
    cg_calltree_free(t);
}

/* Structural equality: same children (by name and file) and self counts. */
static bool same_tree(const struct cg_calltree_node *a, const struct cg_calltree_node *b)
{
    for (int k = 0; k < CG_KEY_COUNT; k++)
        if (cg_calltree_node_self(a, k) != cg_calltree_node_self(b, k))
            return false;
    size_t na = 0, nb = 0;
    for (const struct cg_calltree_node *c = cg_calltree_node_first_child(b); c;
         c = cg_calltree_node_next_sibling(c))
        nb++;
    for (const struct cg_calltree_node *c = cg_calltree_node_first_child(a); c;
         c = cg_calltree_node_next_sibling(c)) {
        na++;
        const struct cg_calltree_node *m = NULL;
        for (const struct cg_calltree_node *d = cg_calltree_node_first_child(b); d;
             d = cg_calltree_node_next_sibling(d))
            if (strcmp(cg_calltree_node_name(c), cg_calltree_node_name(d)) == 0 &&
                !strcmp(cg_calltree_node_file(c) ? cg_calltree_node_file(c) : "",
                        cg_calltree_node_file(d) ? cg_calltree_node_file(d) : ""))
                m = d;
        if (!m || !same_tree(c, m))
            return false;
    }
    return na == nb;
}

static struct cg_calltree *random_tree(unsigned seed, size_t stacks)
{
    static const char *names[] = {"a", "b", "c", "d", "e", "f", "g"};
    struct cg_calltree *t = cg_calltree_new(0);
    srand(seed);
    for (size_t i = 0; i < stacks; i++) {
        const char *st[10];
        size_t depth = 1 + (size_t)rand() % 10;
        for (size_t k = 0; k < depth; k++)
            st[k] = names[rand() % 7];
        add(t, st, depth, (enum cg_count_key)(rand() % 3), 1 + (uint64_t)(rand() % 5));
    }
    return t;
}

static void merge_is_associative_and_keeps_sources(void **state)
{
    (void)state;
    struct cg_calltree *a = random_tree(1, 300), *b = random_tree(2, 300), *c = random_tree(3, 300);
    struct cg_calltree *left = cg_calltree_new(0), *bc = cg_calltree_new(0),
                       *right = cg_calltree_new(0);
    /* (a + b) + c */
    assert_int_equal(cg_calltree_merge(left, a), 0);
    assert_int_equal(cg_calltree_merge(left, b), 0);
    assert_int_equal(cg_calltree_merge(left, c), 0);
    /* a + (b + c) */
    assert_int_equal(cg_calltree_merge(bc, b), 0);
    assert_int_equal(cg_calltree_merge(bc, c), 0);
    assert_int_equal(cg_calltree_merge(right, a), 0);
    assert_int_equal(cg_calltree_merge(right, bc), 0);
    assert_true(same_tree(cg_calltree_root(left), cg_calltree_root(right)));
    for (int k = 0; k < CG_KEY_COUNT; k++)
        assert_int_equal(cg_calltree_total(left, k), cg_calltree_total(a, k) +
                                                         cg_calltree_total(b, k) +
                                                         cg_calltree_total(c, k));
    struct cg_calltree *a2 = random_tree(1, 300);
    assert_true(same_tree(cg_calltree_root(a), cg_calltree_root(a2))); /* source unchanged */
    cg_calltree_free(a);
    cg_calltree_free(a2);
    cg_calltree_free(b);
    cg_calltree_free(c);
    cg_calltree_free(left);
    cg_calltree_free(bc);
    cg_calltree_free(right);
}

static struct cg_profile_meta sample_meta(void)
{
    static const char *names[] = {"unprofiledThreads"};
    static const uint64_t counts[] = {2};
    struct cg_profile_meta m = {
        .start_ms = 1700000000000ull, .end_ms = 1700000300000ull, .cpu_hz = 100,
        .wall_interval_ms = 1000, .fleet = {.id = "uuid-1", .type = "UNKNOWN", .vcpus = 2},
        .agent_version = "0.1.0", .agent_memory_mb = 2.5, .agent_time_ms = 120,
        .runtime_version = "glibc-2.36", .cpu_time_s = 287.4, .num_threads = 4,
        .num_times_sampled = 300, .pid = 4242, .dropped_samples = 1,
        .error_names = names, .error_counts = counts, .n_errors = 1,
    };
    return m;
}

static void document_has_the_spec_shape(void **state)
{
    (void)state;
    struct cg_calltree *t = cg_calltree_new(0);
    const char *s1[] = {"start_thread", "worker_main", "push_back"};
    add(t, s1, 3, CG_KEY_RUNNABLE, 17);
    struct cg_profile_meta m = sample_meta();
    size_t len;
    char *text = cg_profile_doc_encode(t, &m, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(doc, "start")), 1700000000000ll);
    assert_int_equal(json_integer_value(json_object_get(doc, "end")), 1700000300000ll);
    json_t *md = json_object_get(doc, "agentMetadata");
    json_t *w = json_object_get(md, "sampleWeights");
    assert_int_equal(json_object_size(w), 1); /* only keys that have samples */
    assert_true(json_real_value(json_object_get(w, "RUNNABLE")) == 100.0);
    assert_int_equal(json_integer_value(json_object_get(md, "durationInMs")), 300000);
    assert_string_equal(json_string_value(json_object_get(json_object_get(md, "agentInfo"),
                                                          "type")), "cgagent");
    json_t *fleet = json_object_get(md, "fleetInfo");
    assert_string_equal(json_string_value(json_object_get(fleet, "type")), "UNKNOWN");
    assert_int_equal(json_integer_value(json_object_get(fleet, "vCPUs")), 2);
    json_t *ovh = json_object_get(md, "agentOverhead");
    assert_int_equal(json_integer_value(json_object_get(ovh, "memoryInMB")), 3);
    assert_int_equal(json_integer_value(json_object_get(ovh, "timeInMs")), 120);
    assert_int_equal(json_integer_value(json_object_get(md, "numTimesSampled")), 300);
    json_t *leaf = json_object_get(
        json_object_get(json_object_get(json_object_get(json_object_get(
            json_object_get(json_object_get(json_object_get(doc, "callgraph"), "children"),
                            "start_thread"), "children"), "worker_main"), "children"),
        "push_back"), "counts");
    assert_int_equal(json_integer_value(json_object_get(leaf, "RUNNABLE")), 17);
    /* inner nodes have no counts at all (only non-zero counts appear) */
    json_t *inner = json_object_get(json_object_get(json_object_get(doc, "callgraph"),
                                                    "children"), "start_thread");
    assert_null(json_object_get(inner, "counts"));
    assert_string_equal(json_string_value(json_object_get(inner, "file")), "/bin/app");
    json_t *dbg = json_object_get(doc, "debugInfo");
    assert_int_equal(json_integer_value(json_object_get(dbg, "processId")), 4242);
    assert_int_equal(json_integer_value(json_object_get(dbg, "droppedSamples")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(dbg, "errorsCount"),
                                                        "unprofiledThreads")), 2);
    json_decref(doc);
    free(text);
    cg_calltree_free(t);
}

static void encode_then_decode_gives_the_same_tree(void **state)
{
    (void)state;
    struct cg_calltree *t = random_tree(7, 500);
    struct cg_profile_meta m = sample_meta();
    size_t len;
    char *text = cg_profile_doc_encode(t, &m, &len);
    struct cg_profile_meta back;
    char err[128];
    struct cg_calltree *u = cg_profile_doc_decode(text, len, &back, err, sizeof(err));
    assert_non_null(u);
    assert_true(same_tree(cg_calltree_root(t), cg_calltree_root(u)));
    assert_int_equal(back.start_ms, m.start_ms);
    assert_int_equal(back.cpu_hz, 100);
    assert_int_equal(back.wall_interval_ms, 1000);
    assert_int_equal(back.pid, 4242);
    free(text);
    cg_calltree_free(t);
    cg_calltree_free(u);
}

/* Java thread states (docs/java.md): a TIMED_WAITING-only period is
 * weighed as wall samples and decodes back; errorsCount carries every
 * named counter it is given. */
static void timed_waiting_and_java_walk_failures_round_trip(void **state)
{
    (void)state;
    struct cg_calltree *t = cg_calltree_new(0);
    const char *s1[] = {"java.lang.Thread.run", "Worker.sleeping", "java.lang.Thread.sleep"};
    add(t, s1, 3, CG_KEY_TIMED_WAITING, 9);
    struct cg_profile_meta m = sample_meta();
    static const char *names[] = {"unprofiledThreads", "javaWalkFailures"};
    static const uint64_t counts[] = {2, 5};
    m.error_names = names;
    m.error_counts = counts;
    m.n_errors = 2;
    m.wall_interval_ms = 50;
    size_t len;
    char *text = cg_profile_doc_encode(t, &m, &len);
    assert_non_null(text);
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    json_t *w = json_object_get(json_object_get(doc, "agentMetadata"), "sampleWeights");
    assert_int_equal(json_object_size(w), 1);
    assert_true(json_number_value(json_object_get(w, "TIMED_WAITING")) == 20.0);
    json_t *errs = json_object_get(json_object_get(doc, "debugInfo"), "errorsCount");
    assert_int_equal(json_integer_value(json_object_get(errs, "javaWalkFailures")), 5);
    assert_int_equal(json_integer_value(json_object_get(errs, "unprofiledThreads")), 2);
    struct cg_profile_meta back;
    struct cg_calltree *u = cg_profile_doc_decode(text, len, &back, NULL, 0);
    assert_non_null(u);
    assert_int_equal(cg_calltree_total(u, CG_KEY_TIMED_WAITING), 9);
    assert_int_equal(back.wall_interval_ms, 50);
    assert_string_equal(cg_count_key_name(CG_KEY_TIMED_WAITING), "TIMED_WAITING");
    json_decref(doc);
    free(text);
    cg_calltree_free(t);
    cg_calltree_free(u);
}

static void invalid_utf8_names_still_give_valid_json(void **state)
{
    (void)state;
    struct cg_calltree *t = cg_calltree_new(0);
    struct cg_frame fr[] = {{"ok\xff\xfe", "/bin/\xc3", 0}, {"caf\xc3\xa9", NULL, 0}};
    cg_calltree_add(t, fr, 2, CG_KEY_RUNNABLE, 1);
    struct cg_profile_meta m = sample_meta();
    size_t len;
    char *text = cg_profile_doc_encode(t, &m, &len);
    assert_non_null(text);
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    assert_non_null(doc);
    assert_non_null(strstr(text, "ok\xef\xbf\xbd\xef\xbf\xbd"));
    assert_non_null(strstr(text, "caf\xc3\xa9"));
    json_decref(doc);
    free(text);
    cg_calltree_free(t);
}

static void decode_rejects_garbage_with_a_reason(void **state)
{
    (void)state;
    const char *bad[] = {"", "{", "[]", "{\"start\":1}", "{\"start\":1,\"end\":2,\"callgraph\":[]}",
                         "{\"start\":1,\"end\":2,\"callgraph\":{\"children\":{\"a\":{\"counts\":"
                         "{\"RUNNABLE\":-3}}}}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[128] = "";
        assert_null(cg_profile_doc_decode(bad[i], strlen(bad[i]), NULL, err, sizeof(err)));
        assert_true(strlen(err) > 0);
    }
}

static void folded_lines_sum_to_the_total(void **state)
{
    (void)state;
    struct cg_calltree *t = cg_calltree_new(0);
    const char *s1[] = {"main", "a;b", "leaf"};
    const char *s2[] = {"main", "other"};
    add(t, s1, 3, CG_KEY_RUNNABLE, 4);
    add(t, s2, 2, CG_KEY_RUNNABLE, 6);
    add(t, s2, 2, CG_KEY_WAITING, 9);
    size_t len;
    char *text = cg_folded_encode(t, CG_KEY_RUNNABLE, &len);
    assert_non_null(strstr(text, "main;a_b;leaf 4\n"));
    assert_non_null(strstr(text, "main;other 6\n"));
    assert_null(strstr(text, " 9\n"));
    free(text);
    cg_calltree_free(t);
}

static char *write_doc(struct cg_calltree *t, const char *dir, const char *name)
{
    struct cg_profile_meta m = sample_meta();
    size_t len;
    char *text = cg_profile_doc_encode(t, &m, &len);
    char *path = malloc(512);
    snprintf(path, 512, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fwrite(text, 1, len, f);
    fclose(f);
    free(text);
    return path;
}

static void report_orders_by_self_and_counts_recursion_once(void **state)
{
    (void)state;
    char dir[] = "/tmp/cgagent-report-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct cg_calltree *t1 = cg_calltree_new(0), *t2 = cg_calltree_new(0);
    const char *rec[] = {"main", "fib", "fib", "fib"};
    const char *other[] = {"main", "io"};
    add(t1, rec, 4, CG_KEY_RUNNABLE, 30);
    add(t2, other, 2, CG_KEY_RUNNABLE, 10);
    char *p1 = write_doc(t1, dir, "one.json"), *p2 = write_doc(t2, dir, "two.json");
    char bad[600];
    snprintf(bad, sizeof(bad), "%s/bad.json", dir);
    FILE *f = fopen(bad, "w");
    fputs("{\"start\": 1,", f);
    fclose(f);
    char *out = NULL;
    size_t out_len = 0;
    FILE *mem = open_memstream(&out, &out_len);
    struct cg_report_options o = {.top_n = 5, .out = mem};
    const char *paths[] = {p1, bad, p2};
    assert_int_equal(cg_report_run(paths, 3, &o), 0);
    fclose(mem);
    assert_non_null(strstr(out, "== RUNNABLE: 40 samples = 0.40 thread-seconds"));
    /* fib: 30 self (75%), total 30 (not 90: recursion counted once) */
    assert_non_null(strstr(out, "30  75.0%        30  75.0%  fib [app]"));
    assert_non_null(strstr(out, "10  25.0%        10  25.0%  io [app]"));
    assert_true(strstr(out, "fib [app]") < strstr(out, "io [app]"));
    assert_non_null(strstr(out, "0   0.0%        40 100.0%  main [app]"));
    free(out);
    const char *only_bad[] = {bad};
    assert_true(cg_report_run(only_bad, 1, &o) < 0);
    unlink(p1);
    unlink(p2);
    unlink(bad);
    rmdir(dir);
    free(p1);
    free(p2);
    cg_calltree_free(t1);
    cg_calltree_free(t2);
}

static void fifty_thousand_nodes_build_and_encode(void **state)
{
    (void)state;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct cg_calltree *t = cg_calltree_new(0);
    char names[50000][16];
    struct cg_frame fr[6];
    for (int i = 0; i < 50000; i++)
        snprintf(names[i], sizeof(names[i]), "fn_%d", i);
    /* 10,000 stacks of depth 6 sharing a root: 1 + 10000*5 = 50,001 nodes */
    for (int s = 0; s < 10000; s++) {
        fr[0] = (struct cg_frame)F("main");
        for (int k = 1; k < 6; k++)
            fr[k] = (struct cg_frame){names[s * 5 + k - 1], "/bin/app", 0};
        assert_int_equal(cg_calltree_add(t, fr, 6, CG_KEY_RUNNABLE, 1), 0);
    }
    struct cg_profile_meta m = sample_meta();
    size_t len;
    char *text = cg_profile_doc_encode(t, &m, &len);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(cg_calltree_node_count(t), 50001);
    assert_non_null(text);
    printf("    50,001 nodes: build + encode %.1f ms, %zu bytes\n",
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6, len);
    free(text);
    cg_calltree_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(self_counts_land_on_the_leaf_per_key),
        cmocka_unit_test(same_name_in_another_file_is_another_node),
        cmocka_unit_test(deep_stacks_keep_root_side_and_end_in_truncated),
        cmocka_unit_test(merge_is_associative_and_keeps_sources),
        cmocka_unit_test(document_has_the_spec_shape),
        cmocka_unit_test(encode_then_decode_gives_the_same_tree),
        cmocka_unit_test(timed_waiting_and_java_walk_failures_round_trip),
        cmocka_unit_test(invalid_utf8_names_still_give_valid_json),
        cmocka_unit_test(decode_rejects_garbage_with_a_reason),
        cmocka_unit_test(folded_lines_sum_to_the_total),
        cmocka_unit_test(report_orders_by_self_and_counts_recursion_once),
        cmocka_unit_test(fifty_thousand_nodes_build_and_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
