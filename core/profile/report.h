/*
 * report.h - `cgagent report`: where the time went, from profile files.
 *
 * Owns: the trees it decodes, for the length of one call.
 * Thread safety: reentrant (the `cgagent report` command).
 * Signal safety: none (files, stdio).
 */
#ifndef CG_REPORT_H
#define CG_REPORT_H

#include <stddef.h>
#include <stdio.h>

struct cg_report_options {
    size_t top_n; /* rows per table; 0 means 15 */
    FILE *out;    /* NULL means stdout; errors go to stderr */
    const char *flamegraph_path; /* also write an SVG flame graph here (NULL: no) */
};

/* Reads each profile document, merges them, and prints for every count key
 * present: total samples and thread-seconds (samples / weight), then the
 * top functions by SELF samples and by TOTAL (inclusive) samples with
 * percentages, function name and file basename.  TOTAL counts a function
 * once per stack even when it recurses.  A file that cannot be read or
 * parsed gets one line on stderr and is skipped.  With flamegraph_path,
 * the SVG flame graph of the first key with samples (RUNNABLE when there
 * are CPU samples) is written there too.  Returns 0, or CG_EINVAL when no
 * file could be used, or CG_EIO when the flame graph cannot be written. */
int cg_report_run(const char *const *paths, size_t n_paths, const struct cg_report_options *opts);

#endif
