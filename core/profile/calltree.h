/*
 * calltree.h - the aggregated call tree of one profile.
 *
 * Stacks go in root first; each node is identified by (parent, frame
 * name, file) and holds SELF sample counts per count key (samples of
 * stacks that ended there).  Frame strings are interned by the tree, so
 * callers may pass borrowed strings.  Source lines do not split nodes:
 * each node keeps the smallest and largest known line its frames had.
 *
 * Owns: the tree owns its nodes and strings; traversal pointers stay
 * valid until the tree is changed or freed.
 * Thread safety: none; one owner at a time (the agent thread builds it,
 * then hands it to the uploader thread; `cgagent report` reads it).
 * Signal safety: none (it allocates).
 */
#ifndef CG_CALLTREE_H
#define CG_CALLTREE_H

#include "core/sample/count_key.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One frame; both strings borrowed.  file may be NULL (unknown).  line is
 * the 1-based source line; 0 (or negative) means unknown.  Set it in every
 * frame (a malloc'd frame array holds garbage there); positional
 * initializers need all three fields (-Wmissing-field-initializers). */
struct cg_frame {
    const char *name;
    const char *file;
    int line;
};

/* Name of the frame that ends a stack cut at the depth limit. */
#define CG_TRUNCATED_FRAME "<Truncated>"

struct cg_calltree;
struct cg_calltree_node;

/* New empty tree.  Stacks deeper than max_stack_depth (0 = unlimited)
 * keep their root-side max_stack_depth - 1 frames and end in a
 * "<Truncated>" frame, which gets the samples: the kept path is never
 * longer than the limit.  Returns NULL when out of memory. */
struct cg_calltree *cg_calltree_new(size_t max_stack_depth);
void cg_calltree_free(struct cg_calltree *tree);

/* Adds `count` self samples of `key` to the stack frames[0] (root) ..
 * frames[depth-1] (leaf).  depth 0 is a no-op.  Returns 0 or CG_ENOMEM
 * (the tree is unchanged then). */
int cg_calltree_add(struct cg_calltree *tree, const struct cg_frame *frames, size_t depth,
                    enum cg_count_key key, uint64_t count);

/* Records the frames' lines on the nodes of the stack frames[0] ..
 * frames[depth-1] as cg_calltree_add does, but adds no samples (missing
 * nodes are created, with none).  For a reader that knows a node's line
 * range: add its samples with the first line, then call this with the
 * last.  Returns 0 or CG_ENOMEM. */
int cg_calltree_add_lines(struct cg_calltree *tree, const struct cg_frame *frames, size_t depth);

/* Adds every count and line range of src into dst (src unchanged; the
 * depth limit of dst applies).  Returns 0 or CG_ENOMEM (dst may then hold
 * part of src). */
int cg_calltree_merge(struct cg_calltree *dst, const struct cg_calltree *src);

uint64_t cg_calltree_total(const struct cg_calltree *tree, enum cg_count_key key);
size_t cg_calltree_node_count(const struct cg_calltree *tree); /* root excluded */
size_t cg_calltree_bytes(const struct cg_calltree *tree);
bool cg_calltree_empty(const struct cg_calltree *tree);

/* Read-only traversal.  The root has no name.  Children come in the order
 * they were first added. */
const struct cg_calltree_node *cg_calltree_root(const struct cg_calltree *tree);
const struct cg_calltree_node *cg_calltree_node_first_child(const struct cg_calltree_node *n);
const struct cg_calltree_node *cg_calltree_node_next_sibling(const struct cg_calltree_node *n);
const char *cg_calltree_node_name(const struct cg_calltree_node *n);
const char *cg_calltree_node_file(const struct cg_calltree_node *n);
uint64_t cg_calltree_node_self(const struct cg_calltree_node *n, enum cg_count_key key);
/* The smallest and largest line seen for the node; 0 when none was known
 * (then both are 0).  min == max when one line was seen. */
int cg_calltree_node_line_min(const struct cg_calltree_node *n);
int cg_calltree_node_line_max(const struct cg_calltree_node *n);

#endif
