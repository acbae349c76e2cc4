/*
 * impl_file.h - whether the shim may load the agent in this process, and
 * the one file it may load (shim/impl_file.c).
 *
 * The shim runs in every process LD_PRELOAD reaches, privileged ones and
 * other users' included, so the file it loads must be one that only root
 * or the shim's own owner could have put there, and it must load that
 * very file, not whatever the path names a moment later.
 *
 * Owns: the descriptors in struct shim_impl until shim_impl_close.
 * Thread safety: no shared state; meant for the shim's constructor.
 * Signal safety: none (dladdr, realpath, secure_getenv).
 */
#ifndef CG_SHIM_IMPL_FILE_H
#define CG_SHIM_IMPL_FILE_H

#include <limits.h>
#include <stddef.h>

/* True when the shim must open nothing, load nothing and say nothing:
 * the process is privileged (core/agent/config_privilege.c's rules, the
 * ones the agent itself applies: AT_SECURE, real/effective/saved ids that
 * differ, a non-root user with permitted capabilities), or the
 * environment switches the agent off (AWS_CODEGURU_PROFILER_ENABLED
 * false/0/no/off, read with secure_getenv and only when not privileged).
 * Reads no file. */
int shim_impl_stays_off(void);

/* The agent's file, open and checked. */
struct shim_impl {
    int fd;               /* the implementation, O_RDONLY|O_CLOEXEC; -1 when closed */
    char path[PATH_MAX];  /* its absolute path: messages, and the loader's name for it */
    char fd_path[48];     /* /proc/self/fd/../fd/<fd>: what the loader opens */
};

/* Opens <real directory of the object holding `self`>/libcgagent-impl.so
 * and checks it: the directory is opened with O_NOFOLLOW, the file with
 * openat(O_NOFOLLOW) relative to it; both are fstat'ed: the file is a
 * regular file, both are owned by root or by the shim file's owner, and
 * neither is writable by group or others; impl->fd_path (through
 * /proc/self/fd) must name the same inode, so /proc must be mounted.
 * Returns 0 with *impl filled (the caller loads impl->fd_path, then
 * calls shim_impl_close), or -1 with a one-line reason in
 * why[0..why_size) (no newline; the path quoted) and nothing left open.
 * Our descriptors are never 0, 1 or 2. */
int shim_impl_open(struct shim_impl *impl, const void *self, char *why, size_t why_size);

/* Closes what shim_impl_open left open.  Safe to call twice. */
void shim_impl_close(struct shim_impl *impl);

#endif
