/*
 * sink_local.h - the local output directory (CGAGENT_OUTPUT).
 *
 * Each report lands as <name>-<pid>-<start_ms>.json (the CodeGuru
 * document, byte for byte what is posted), <base>.pb.gz (pprof, see
 * core/profile/pprof.h), plus folded stacks for flame-graph tools:
 * <base>.folded for CPU (RUNNABLE) samples and <base>.waiting.folded /
 * <base>.blocked.folded for wall-clock samples.  Files appear atomically
 * (written under a dot-name, then renamed), so a reader never sees half a
 * profile.
 *
 * Owns: nothing; the tree, the metadata and the document are borrowed.
 * Thread safety: reentrant.  Called from the agent thread.
 * Signal safety: none (files, allocation).
 */
#ifndef CG_SINK_LOCAL_H
#define CG_SINK_LOCAL_H

#include <stddef.h>
#include <sys/types.h>

struct cg_calltree;
struct cg_profile_meta;

/* Writes the document and the folded files.  Creates `dir` (and missing
 * parents, mode 0755) when needed.  Logs one line per failure and returns
 * 0 or the first error; the JSON is written first. */
int cg_sink_local_write(const char *dir, const char *name, pid_t pid,
                        const struct cg_profile_meta *meta, const struct cg_calltree *tree,
                        const char *doc, size_t doc_len);

/* Writes `len` bytes to dir/file atomically.  Returns 0 or -errno. */
int cg_sink_local_write_file(const char *dir, const char *file, const void *data, size_t len);

/* mkdir -p with mode 0755.  Returns 0 or -errno. */
int cg_sink_local_mkdirs(const char *dir);

#endif
