/*
 * folded.c - folded-stack text from a call tree.
 *
 * DESIGN: an explicit-stack depth-first walk that keeps the current path
 * as a growing text prefix; no recursion, so deep trees cannot exhaust the
 * agent thread's stack.
 */
#include "core/profile/folded.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct frame_state {
    const struct cg_calltree_node *node;
    size_t prefix_len; /* length of the path text before this node's name */
};

static void append_name(FILE *f, const char *name)
{
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        fputc(c == ';' || c < 0x20 ? '_' : c, f);
    }
}

char *cg_folded_encode(const struct cg_calltree *tree, enum cg_count_key key, size_t *len_out)
{
    size_t n = cg_calltree_node_count(tree) + 1;
    struct frame_state *stack = malloc(n * sizeof(*stack));
    char *path = NULL, *out = NULL;
    size_t path_len = 0, out_len = 0;
    FILE *pf = NULL, *of = open_memstream(&out, &out_len);
    if (!stack || !of)
        goto fail;
    size_t sp = 0;
    for (const struct cg_calltree_node *c = cg_calltree_node_first_child(cg_calltree_root(tree));
         c; c = cg_calltree_node_next_sibling(c))
        stack[sp++] = (struct frame_state){c, 0};
    char *prefix = NULL;
    size_t prefix_cap = 0;
    while (sp) {
        struct frame_state fs = stack[--sp];
        /* prefix = path up to the parent, then this name */
        pf = open_memstream(&path, &path_len);
        if (!pf)
            goto fail;
        if (fs.prefix_len) {
            fwrite(prefix, 1, fs.prefix_len, pf);
            fputc(';', pf);
        }
        append_name(pf, cg_calltree_node_name(fs.node));
        fclose(pf);
        pf = NULL;
        if (path_len + 1 > prefix_cap) {
            char *np = realloc(prefix, path_len + 1);
            if (!np) {
                free(path);
                free(prefix);
                goto fail;
            }
            prefix = np;
            prefix_cap = path_len + 1;
        }
        memcpy(prefix, path, path_len + 1);
        free(path);
        path = NULL;
        uint64_t self = cg_calltree_node_self(fs.node, key);
        if (self)
            fprintf(of, "%s %llu\n", prefix, (unsigned long long)self);
        for (const struct cg_calltree_node *c = cg_calltree_node_first_child(fs.node); c;
             c = cg_calltree_node_next_sibling(c))
            stack[sp++] = (struct frame_state){c, path_len};
    }
    free(prefix);
    free(stack);
    fclose(of);
    if (len_out)
        *len_out = out_len;
    return out;
fail:
    free(stack);
    if (of) {
        fclose(of);
        free(out);
    }
    return NULL;
}
