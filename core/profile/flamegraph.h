/*
 * flamegraph.h - a self-contained SVG flame graph of one count key.
 *
 * Root at the bottom, callees above, each frame as wide as its inclusive
 * samples; hovering a frame shows its name, file, samples and share (SVG
 * <title>), so the file needs no script and opens in any browser.
 *
 * Owns: nothing; the tree is borrowed, the output stream is the caller's.
 * Thread safety: reentrant (`cgagent report`).
 * Signal safety: none (stdio).
 */
#ifndef CG_FLAMEGRAPH_H
#define CG_FLAMEGRAPH_H

#include "core/profile/calltree.h"

#include <stdio.h>

/* Writes the SVG for `key` to out; `title` is shown at the top.  Returns
 * 0, CG_ENOTFOUND when the tree has no samples of that key, or CG_EIO. */
int cg_flamegraph_write_svg(const struct cg_calltree *tree, enum cg_count_key key,
                            const char *title, FILE *out);

#endif
