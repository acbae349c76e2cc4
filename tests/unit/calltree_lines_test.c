/*
 * calltree_lines_test.c - source lines on frames: the call tree's per-node
 * line range, the document's "line" key (written and read back), merge,
 * and pprof's Line.line.
 */
#include "core/profile/calltree.h"
#include "core/profile/pprof.h"
#include "core/profile/profile_doc.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

/* Adds main(line 0) -> run(run_line) -> hot(hot_line), one RUNNABLE sample. */
static void add3(struct cg_calltree *t, int run_line, int hot_line)
{
    struct cg_frame fr[] = {{"main", "/bin/app", 0}, {"run", "/bin/app", run_line},
                            {"hot", "/bin/app", hot_line}};
    assert_int_equal(cg_calltree_add(t, fr, 3, CG_KEY_RUNNABLE, 1), 0);
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

static const struct cg_calltree_node *at(const struct cg_calltree *t, const char *a,
                                         const char *b, const char *c)
{
    const struct cg_calltree_node *n = child_named(cg_calltree_root(t), a);
    if (n && b)
        n = child_named(n, b);
    if (n && c)
        n = child_named(n, c);
    assert_non_null(n);
    return n;
}

static void assert_lines(const struct cg_calltree_node *n, int lo, int hi)
{
    assert_int_equal(cg_calltree_node_line_min(n), lo);
    assert_int_equal(cg_calltree_node_line_max(n), hi);
}

static char *encode(const struct cg_calltree *t, size_t *len)
{
    struct cg_profile_meta m = {.start_ms = 1000, .end_ms = 2000, .cpu_hz = 100,
                                .wall_interval_ms = 1000};
    char *text = cg_profile_doc_encode(t, &m, len);
    assert_non_null(text);
    return text;
}

static void lines_widen_one_node_and_never_split_it(void **state)
{
    (void)state;
    struct cg_calltree *t = cg_calltree_new(0);
    add3(t, 5, 10);
    add3(t, 5, 12);
    add3(t, 5, 11);
    add3(t, 0, 0); /* unknown lines leave the ranges alone */
    assert_int_equal(cg_calltree_node_count(t), 3);
    assert_lines(at(t, "main", NULL, NULL), 0, 0);
    assert_lines(at(t, "main", "run", NULL), 5, 5);
    assert_lines(at(t, "main", "run", "hot"), 10, 12);
    assert_int_equal(cg_calltree_node_self(at(t, "main", "run", "hot"), CG_KEY_RUNNABLE), 4);
    /* another name or another file is another node, lines or not */
    struct cg_frame other_file[] = {{"main", "/bin/app", 0}, {"run", "/lib/x.so", 5}};
    struct cg_frame other_name[] = {{"main", "/bin/app", 0}, {"walk", "/bin/app", 5}};
    assert_int_equal(cg_calltree_add(t, other_file, 2, CG_KEY_RUNNABLE, 1), 0);
    assert_int_equal(cg_calltree_add(t, other_name, 2, CG_KEY_RUNNABLE, 1), 0);
    assert_int_equal(cg_calltree_node_count(t), 5);
    assert_lines(at(t, "main", "walk", NULL), 5, 5);
    cg_calltree_free(t);
}

static void document_writes_line_as_one_or_two_numbers(void **state)
{
    (void)state;
    struct cg_calltree *t = cg_calltree_new(0);
    add3(t, 7, 10);
    add3(t, 7, 12);
    add3(t, 7, 11);
    size_t len;
    char *text = encode(t, &len);
    /* key order: counts, file, line, children */
    assert_non_null(strstr(text, "\"main\":{\"file\":\"/bin/app\",\"children\":{"));
    assert_non_null(strstr(text, "\"run\":{\"file\":\"/bin/app\",\"line\":[7],\"children\":{"));
    assert_non_null(strstr(text, "\"hot\":{\"counts\":{\"RUNNABLE\":3},\"file\":\"/bin/app\","
                                 "\"line\":[10,12]}"));
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    json_t *main_node = json_object_get(json_object_get(json_object_get(doc, "callgraph"),
                                                        "children"), "main");
    assert_null(json_object_get(main_node, "line")); /* no line known: no key */
    json_decref(doc);
    free(text);
    cg_calltree_free(t);
}

static void document_lines_read_back(void **state)
{
    (void)state;
    struct cg_calltree *t = cg_calltree_new(0);
    add3(t, 7, 10);
    add3(t, 9, 12);
    add3(t, 8, 11);
    struct cg_frame mid[] = {{"main", "/bin/app", 0}, {"run", "/bin/app", 3}};
    assert_int_equal(cg_calltree_add(t, mid, 2, CG_KEY_WAITING, 2), 0);
    size_t len;
    char *text = encode(t, &len);
    char err[128];
    struct cg_calltree *u = cg_profile_doc_decode(text, len, NULL, err, sizeof(err));
    assert_non_null(u);
    assert_int_equal(cg_calltree_node_count(u), 3);
    assert_lines(at(u, "main", NULL, NULL), 0, 0);
    assert_lines(at(u, "main", "run", NULL), 3, 9);
    assert_lines(at(u, "main", "run", "hot"), 10, 12);
    assert_int_equal(cg_calltree_total(u, CG_KEY_RUNNABLE), 3);
    assert_int_equal(cg_calltree_total(u, CG_KEY_WAITING), 2);
    /* and the reread document is the same text */
    size_t len2;
    char *text2 = encode(u, &len2);
    assert_string_equal(text, text2);
    free(text);
    free(text2);
    cg_calltree_free(t);
    cg_calltree_free(u);
}

static void decode_ignores_malformed_lines(void **state)
{
    (void)state;
    const char *doc = "{\"start\":1,\"end\":2,\"callgraph\":{\"children\":{"
                      "\"a\":{\"line\":\"x\",\"counts\":{\"RUNNABLE\":1}},"
                      "\"b\":{\"line\":[0],\"counts\":{\"RUNNABLE\":1}},"
                      "\"c\":{\"line\":[1,2,3],\"counts\":{\"RUNNABLE\":1}},"
                      "\"d\":{\"line\":[9,4],\"counts\":{\"RUNNABLE\":1}},"
                      "\"e\":{\"line\":[6],\"children\":{}}}}}";
    struct cg_calltree *u = cg_profile_doc_decode(doc, strlen(doc), NULL, NULL, 0);
    assert_non_null(u);
    assert_lines(at(u, "a", NULL, NULL), 0, 0);
    assert_lines(at(u, "b", NULL, NULL), 0, 0);
    assert_lines(at(u, "c", NULL, NULL), 0, 0);
    assert_lines(at(u, "d", NULL, NULL), 4, 9);
    assert_null(child_named(cg_calltree_root(u), "e")); /* no samples: no node */
    cg_calltree_free(u);
}

static void merge_and_add_lines_keep_whole_ranges(void **state)
{
    (void)state;
    struct cg_calltree *a = cg_calltree_new(0), *b = cg_calltree_new(0);
    add3(a, 4, 10);
    add3(a, 6, 20);
    add3(b, 5, 30);
    struct cg_frame widen[] = {{"main", "/bin/app", 1}, {"run", "/bin/app", 2}};
    assert_int_equal(cg_calltree_add_lines(b, widen, 2), 0);
    assert_int_equal(cg_calltree_total(b, CG_KEY_RUNNABLE), 1); /* no samples added */
    struct cg_calltree *m = cg_calltree_new(0);
    assert_int_equal(cg_calltree_merge(m, a), 0);
    assert_int_equal(cg_calltree_merge(m, b), 0);
    assert_lines(at(m, "main", NULL, NULL), 1, 1);
    assert_lines(at(m, "main", "run", NULL), 2, 6);
    assert_lines(at(m, "main", "run", "hot"), 10, 30);
    assert_int_equal(cg_calltree_total(m, CG_KEY_RUNNABLE), 3);
    /* a depth limit: the <Truncated> frame has no line */
    struct cg_calltree *cut = cg_calltree_new(2);
    assert_int_equal(cg_calltree_merge(cut, a), 0);
    assert_lines(at(cut, "main", NULL, NULL), 0, 0);
    assert_lines(at(cut, "main", CG_TRUNCATED_FRAME, NULL), 0, 0);
    cg_calltree_free(a);
    cg_calltree_free(b);
    cg_calltree_free(m);
    cg_calltree_free(cut);
}

/* ---- pprof: gunzip, then the few protobuf fields needed ---- */

static unsigned char *gunzip(const unsigned char *in, size_t len, size_t *out_len)
{
    size_t cap = 1 << 20;
    unsigned char *out = malloc(cap);
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = z.total_out;
    inflateEnd(&z);
    return out;
}

static uint64_t varint(const unsigned char *b, size_t *i)
{
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        unsigned char c = b[(*i)++];
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
}

/* Next field of the message b[*i..end): number, and the varint value or
 * the bytes (*sub, *sub_len).  False at the end. */
static bool next_field(const unsigned char *b, size_t end, size_t *i, unsigned *field,
                       uint64_t *v, const unsigned char **sub, size_t *sub_len)
{
    if (*i >= end)
        return false;
    uint64_t key = varint(b, i);
    *field = (unsigned)(key >> 3);
    *sub = NULL;
    if ((key & 7) == 0) {
        *v = varint(b, i);
    } else {
        assert_int_equal(key & 7, 2);
        *sub_len = (size_t)varint(b, i);
        *sub = b + *i;
        *i += *sub_len;
    }
    return true;
}

struct loc {
    uint64_t id, function_id, line;
};

static void pprof_locations_carry_the_smallest_line(void **state)
{
    (void)state;
    struct cg_calltree *t = cg_calltree_new(0);
    add3(t, 7, 12);
    add3(t, 7, 10); /* hot: [10,12] -> line 10 */
    struct cg_frame again[] = {{"main", "/bin/app", 0}, {"hot", "/bin/app", 40}};
    assert_int_equal(cg_calltree_add(t, again, 2, CG_KEY_RUNNABLE, 1), 0);
    struct cg_profile_meta m = {.start_ms = 1000, .end_ms = 2000, .cpu_hz = 100};
    size_t gz_len, len;
    unsigned char *gz = cg_pprof_encode_gz(t, &m, &gz_len);
    assert_non_null(gz);
    unsigned char *pb = gunzip(gz, gz_len, &len);
    struct loc locs[16];
    size_t n_locs = 0, n_funcs = 0, i = 0;
    unsigned f;
    uint64_t v;
    const unsigned char *sub;
    size_t sub_len;
    while (next_field(pb, len, &i, &f, &v, &sub, &sub_len)) {
        size_t j = 0;
        unsigned g;
        uint64_t w;
        const unsigned char *s2;
        size_t s2_len;
        if (f == 5) { /* Function: no start_line (field 5) */
            n_funcs++;
            while (next_field(sub, sub_len, &j, &g, &w, &s2, &s2_len))
                assert_int_not_equal(g, 5);
        } else if (f == 4) {
            struct loc *l = &locs[n_locs++];
            memset(l, 0, sizeof(*l));
            while (next_field(sub, sub_len, &j, &g, &w, &s2, &s2_len)) {
                if (g == 1) {
                    l->id = w;
                } else if (g == 4) {
                    size_t k = 0;
                    unsigned h;
                    uint64_t x;
                    const unsigned char *s3;
                    size_t s3_len;
                    while (next_field(s2, s2_len, &k, &h, &x, &s3, &s3_len)) {
                        if (h == 1)
                            l->function_id = x;
                        else if (h == 2)
                            l->line = x;
                    }
                }
            }
        }
    }
    /* main (no line), run:7, hot:10 and hot:40: four locations, three
     * functions, hot's two locations share its function */
    assert_int_equal(n_funcs, 3);
    assert_int_equal(n_locs, 4);
    uint64_t want[] = {0, 7, 10, 40};
    for (size_t k = 0; k < 4; k++) {
        assert_int_equal(locs[k].id, k + 1);
        assert_int_equal(locs[k].line, want[k]);
    }
    assert_int_equal(locs[0].function_id, 1);
    assert_int_equal(locs[1].function_id, 2);
    assert_int_equal(locs[2].function_id, 3);
    assert_int_equal(locs[3].function_id, 3);
    free(pb);
    free(gz);
    cg_calltree_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_widen_one_node_and_never_split_it),
        cmocka_unit_test(document_writes_line_as_one_or_two_numbers),
        cmocka_unit_test(document_lines_read_back),
        cmocka_unit_test(decode_ignores_malformed_lines),
        cmocka_unit_test(merge_and_add_lines_keep_whole_ranges),
        cmocka_unit_test(pprof_locations_carry_the_smallest_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
