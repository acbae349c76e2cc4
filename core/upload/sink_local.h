/*
 * sink_local.h - the local output directory (CGAGENT_OUTPUT).
 *
 * Each report lands as <name>-<pid>-<start_ms>.json (the CodeGuru
 * document, byte for byte what is posted), <base>.pb.gz (pprof, see
 * core/profile/pprof.h), plus folded stacks for flame-graph tools:
 * <base>.folded for CPU (RUNNABLE) samples and <base>.waiting.folded /
 * <base>.blocked.folded for wall-clock samples.  Files appear atomically
 * (written under a dot-name, then renamed), so a reader never sees half a
 * profile.  Files are private to the process's user (0600, directories
 * 0700) unless output_mode=shared; see cg_sink_local_open_dir for what the
 * directory must be.
 *
 * Owns: nothing; the tree, the metadata and the document are borrowed.
 * Thread safety: reentrant.  Called from the agent thread.
 * Signal safety: none (files, allocation).
 */
#ifndef CG_SINK_LOCAL_H
#define CG_SINK_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cg_calltree;
struct cg_profile_meta;
struct cg_cpu_account;

/* Writes the document and the folded files into `dir` (opened with
 * cg_sink_local_open_dir).  `shared`: 0644 files and 0755 directories
 * instead of 0600 and 0700.  Logs one line per failure and returns 0 or
 * the first error; the JSON is written first.  `acct` (may be NULL) is
 * charged this thread's CPU for encoding pprof and folded text and for
 * writing the files. */
int cg_sink_local_write(const char *dir, bool shared, const char *name, pid_t pid,
                        const struct cg_profile_meta *meta, const struct cg_calltree *tree,
                        const char *doc, size_t doc_len, struct cg_cpu_account *acct);

/* Opens `dir` for the sink, creating missing components (mode 0700, or
 * 0755 when `shared`) one at a time with openat(O_NOFOLLOW).  Refuses (one
 * log line, CG_EINVAL) a symbolic link owned by a user other than root and
 * the effective user, a directory owned by another non-root user, or one
 * writable by all users without the sticky bit.  Returns a directory fd
 * (O_CLOEXEC) or < 0 after logging. */
int cg_sink_local_open_dir(const char *dir, bool shared);

/* Writes `len` bytes to `file` in the directory `dirfd` atomically (a
 * dot-name created O_EXCL|O_NOFOLLOW, then renamed), mode 0600 or 0644
 * when `shared`.  Returns 0 or -errno. */
int cg_sink_local_write_file(int dirfd, const char *file, const void *data, size_t len,
                             bool shared);

#endif
