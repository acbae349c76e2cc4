/*
 * flamegraph.c - SVG flame graph from a call tree.
 *
 * DESIGN: one pass computes each node's inclusive count (post-order over an
 * explicit stack), a second lays frames out left to right in tree order and
 * writes one <g><title/><rect/><text/></g> per frame wider than 0.1 px.
 * Colours come from a hash of the function name (warm palette) so a
 * function keeps its colour across graphs.
 */
#include "core/profile/flamegraph.h"

#include "core/base/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 1200.0
#define FRAME_H 16
#define PAD_TOP 40
#define PAD_SIDE 10.0
#define CHAR_W 7.0

struct item {
    const struct cg_calltree_node *node;
    uint64_t total;
    size_t parent;
    int depth;
    double x;      /* left edge, filled in layout */
    int state;
};

static void xml_text(FILE *out, const char *s, size_t max_chars)
{
    size_t n = 0;
    for (; *s && n < max_chars; s++, n++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        default:
            if ((unsigned char)*s >= 0x20)
                fputc(*s, out);
        }
    }
}

static void colour(const char *name, int *r, int *g, int *b)
{
    uint32_t h = 2166136261u;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    *r = 205 + (int)(h % 50);
    *g = 60 + (int)((h >> 8) % 150);
    *b = (int)((h >> 16) % 55);
}

static int by_name(const void *a, const void *b)
{
    const struct cg_calltree_node *x = *(const struct cg_calltree_node *const *)a;
    const struct cg_calltree_node *y = *(const struct cg_calltree_node *const *)b;
    return strcmp(cg_calltree_node_name(x), cg_calltree_node_name(y));
}

int cg_flamegraph_write_svg(const struct cg_calltree *tree, enum cg_count_key key,
                            const char *title, FILE *out)
{
    uint64_t grand = cg_calltree_total(tree, key);
    if (!grand)
        return CG_ENOTFOUND;
    size_t n = cg_calltree_node_count(tree) + 1;
    struct item *it = calloc(n, sizeof(*it));
    size_t *stack = malloc(n * sizeof(*stack));
    if (!it || !stack) {
        free(it);
        free(stack);
        return CG_ENOMEM;
    }
    /* Pre-order listing with parents; then inclusive totals bottom-up. */
    size_t count = 0, sp = 0;
    it[count++] = (struct item){cg_calltree_root(tree), 0, 0, -1, 0, 0};
    stack[sp++] = 0;
    int max_depth = 0;
    /* Siblings left to right by name, as flamegraph.pl does: the same
     * profile always draws the same picture. */
    const struct cg_calltree_node **kids = NULL;
    size_t kids_cap = 0;
    while (sp) {
        size_t i = stack[--sp], nk = 0;
        for (const struct cg_calltree_node *c = cg_calltree_node_first_child(it[i].node); c;
             c = cg_calltree_node_next_sibling(c)) {
            if (nk == kids_cap) {
                size_t cap = kids_cap ? kids_cap * 2 : 16;
                const struct cg_calltree_node **k = realloc(kids, cap * sizeof(*k));
                if (!k) {
                    free(kids);
                    free(it);
                    free(stack);
                    return CG_ENOMEM;
                }
                kids = k;
                kids_cap = cap;
            }
            kids[nk++] = c;
        }
        qsort(kids, nk, sizeof(*kids), by_name);
        for (size_t k = 0; k < nk; k++) {
            it[count] = (struct item){kids[k], 0, i, it[i].depth + 1, 0, 0};
            if (it[count].depth > max_depth)
                max_depth = it[count].depth;
            stack[sp++] = count++;
        }
    }
    free(kids);
    for (size_t i = count; i-- > 0;) {
        it[i].total += cg_calltree_node_self(it[i].node, key);
        if (i)
            it[it[i].parent].total += it[i].total;
    }
    double scale = (WIDTH - 2 * PAD_SIDE) / (double)grand;
    int height = PAD_TOP + (max_depth + 2) * FRAME_H + 10;
    fprintf(out,
            "<?xml version=\"1.0\" standalone=\"no\"?>\n"
            "<svg version=\"1.1\" width=\"%.0f\" height=\"%d\" viewBox=\"0 0 %.0f %d\" "
            "xmlns=\"http://www.w3.org/2000/svg\" font-family=\"monospace\" font-size=\"12\">\n"
            "<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#fdfdf6\"/>\n"
            "<text x=\"%.0f\" y=\"24\" font-size=\"16\" text-anchor=\"middle\">",
            WIDTH, height, WIDTH, height, WIDTH / 2);
    xml_text(out, title, 200);
    fprintf(out, " — %s, %llu samples (hover a frame for details)</text>\n",
            cg_count_key_name(key), (unsigned long long)grand);
    /* Layout: children start at the parent's left edge, one after another.
     * it[] is in pre-order by parent, so a running "next x" per parent works. */
    double *next_x = calloc(count, sizeof(*next_x));
    if (!next_x) {
        free(it);
        free(stack);
        return CG_ENOMEM;
    }
    it[0].x = PAD_SIDE;
    next_x[0] = PAD_SIDE;
    for (size_t i = 1; i < count; i++) {
        size_t p = it[i].parent;
        if (next_x[p] < it[p].x)
            next_x[p] = it[p].x;
        it[i].x = next_x[p];
        next_x[p] += (double)it[i].total * scale;
        next_x[i] = it[i].x;
        double w = (double)it[i].total * scale;
        if (w < 0.1 || it[i].total == 0)
            continue;
        double y = height - 10 - (it[i].depth + 1) * FRAME_H;
        const char *name = cg_calltree_node_name(it[i].node);
        const char *file = cg_calltree_node_file(it[i].node);
        int r, g, b;
        colour(name, &r, &g, &b);
        fputs("<g><title>", out);
        xml_text(out, name, 2000);
        if (file) {
            fputs(" [", out);
            xml_text(out, file, 2000);
            fputc(']', out);
        }
        fprintf(out, "\n%llu samples, %.2f%% (self %llu)</title>",
                (unsigned long long)it[i].total, 100.0 * (double)it[i].total / (double)grand,
                (unsigned long long)cg_calltree_node_self(it[i].node, key));
        fprintf(out, "<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" rx=\"2\" "
                     "fill=\"rgb(%d,%d,%d)\"/>",
                it[i].x, y, w, FRAME_H - 1, r, g, b);
        size_t fit = (size_t)((w - 6) / CHAR_W);
        if (fit >= 3) {
            fprintf(out, "<text x=\"%.2f\" y=\"%.0f\">", it[i].x + 3, y + FRAME_H - 4);
            size_t len = strlen(name);
            if (len <= fit) {
                xml_text(out, name, len);
            } else {
                xml_text(out, name, fit - 2);
                fputs("..", out);
            }
            fputs("</text>", out);
        }
        fputs("</g>\n", out);
    }
    fputs("</svg>\n", out);
    free(next_x);
    free(it);
    free(stack);
    return ferror(out) ? CG_EIO : 0;
}
