/*
 * impl_file.c - decide whether the shim loads the agent here, and open
 * the one file it may load.
 *
 * DESIGN: the shim is preloaded into everything LD_PRELOAD reaches, so
 * whoever can write libcgagent-impl.so beside it runs code in every such
 * process (issue 28, item 1: a file dropped beside a root-owned shim in a
 * sticky world-writable directory ran its constructor as root; a setuid
 * program linked with the shim ran it with euid 0).  Three rules:
 *
 *   - A privileged process (the agent's own rules, by linking
 *     core/agent/config_privilege.c, libc-only) gets nothing: no file
 *     opened, nothing mapped, nothing printed.  The agent would stand
 *     down there anyway, after mapping itself and nine libraries.
 *   - A process whose environment switches the agent off
 *     (AWS_CODEGURU_PROFILER_ENABLED: the variable outranks the config
 *     file, docs/usage.md) gets nothing either: each library loaded
 *     takes static TLS and address space from a program that asked for
 *     no agent (item 10).  `enabled = false` in a config file is left to
 *     the agent: the shim reads no file.
 *   - Elsewhere the file must be one only root or the shim's owner could
 *     have written: the directory and the file are opened without
 *     following a link in the last component and checked with fstat, and
 *     the caller loads /proc/self/fd/N (spelt /proc/self/fd/../fd/N, see
 *     stage 4), the inode checked, never the path again (a rename
 *     between check and load would swap it).  Without
 *     /proc there is no such name, and the shim refuses rather than
 *     fall back to the path.
 *
 * The shim's owner is trusted because the shim itself already runs: an
 * agent of theirs beside it gives them nothing more.
 *
 * What it won't do: check the directories above the shim's (an install
 * under a path another user can rename is that install's problem, as for
 * any library), accept a mode or owner it cannot read, or log: the caller
 * prints the reason.
 */
#include "shim/impl_file.h"

#include "core/agent/config.h"
#include "preload/bridge.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Written by a group or by everyone: no longer the owner's alone. */
#define SHARED_WRITE (S_IWGRP | S_IWOTH)

int shim_impl_stays_off(void)
{
    struct cg_process_ids ids;
    cg_config_process_ids(&ids);
    if (cg_config_privilege_reason(&ids))
        return 1;
    /* The agent's own spellings of "false" (core/agent/config.c,
     * parse_bool).  Anything else, a bad value included, is the agent's
     * to judge and report. */
    static const char *const off[] = {"false", "0", "no", "off"};
    const char *v = secure_getenv("AWS_CODEGURU_PROFILER_ENABLED");
    for (size_t i = 0; v && i < sizeof(off) / sizeof(off[0]); i++)
        if (strcasecmp(v, off[i]) == 0)
            return 1;
    return 0;
}

void shim_impl_close(struct shim_impl *impl)
{
    if (impl->fd >= 0)
        close(impl->fd);
    impl->fd = -1;
}

/* Root, or whoever owns the shim (see DESIGN). */
static bool trusted_owner(uid_t uid, uid_t shim_uid)
{
    return uid == 0 || uid == shim_uid;
}

/* The checks on one fstat'ed object (the directory or the file); NULL
 * when it passes, else the reason, formatted into buf. */
static const char *judge(const struct stat *st, uid_t shim_uid, const char *what, char *buf,
                         size_t size)
{
    if (!trusted_owner(st->st_uid, shim_uid)) {
        snprintf(buf, size, "%sowned by uid %u, not by root or by libcgagent.so's owner (uid %u)",
                 what, (unsigned)st->st_uid, (unsigned)shim_uid);
        return buf;
    }
    if (st->st_mode & SHARED_WRITE) {
        snprintf(buf, size, "%swritable by group or others (mode %04o)", what,
                 (unsigned)(st->st_mode & 07777));
        return buf;
    }
    return NULL;
}

/* Moves a descriptor of ours out of 0-2: a program started with those
 * closed must find them closed while the agent's constructor runs (it
 * notes whether stderr is open; internals.md, "Descriptors"), and get
 * them from its own first open.  Returns the descriptor, or -1. */
static int above_stdio(int fd)
{
    if (fd < 0 || fd > STDERR_FILENO)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    int saved_errno = errno;
    close(fd);
    errno = saved_errno;
    return moved;
}

int shim_impl_open(struct shim_impl *impl, const void *self, char *why, size_t why_size)
{
    impl->fd = -1;
    impl->path[0] = '\0';
    impl->fd_path[0] = '\0';
    int dir_fd = -1;
    char reason[PATH_MAX + 128];
    const char *problem = NULL;

    /* Stage 1: the real directory of the shim, and the shim's name in it. */
    Dl_info info;
    char dir[PATH_MAX];
    char *slash;
    if (!dladdr(self, &info) || !info.dli_fname || !realpath(info.dli_fname, dir) ||
        !(slash = strrchr(dir, '/'))) {
        snprintf(why, why_size, "cannot find the directory of libcgagent.so");
        return -1;
    }
    const char *shim_name = slash + 1;
    size_t dir_len = (size_t)(slash - dir) + 1; /* with the slash */
    if (dir_len + sizeof(CG_IMPL_FILE) > sizeof(impl->path)) {
        snprintf(why, why_size, "cannot find the directory of libcgagent.so (path too long)");
        return -1;
    }
    memcpy(impl->path, dir, dir_len);
    memcpy(impl->path + dir_len, CG_IMPL_FILE, sizeof(CG_IMPL_FILE));
    char dir_only[PATH_MAX];
    memcpy(dir_only, dir, dir_len > 1 ? dir_len - 1 : 1); /* "/" stays "/" */
    dir_only[dir_len > 1 ? dir_len - 1 : 1] = '\0';

    /* Stage 2: the directory, then the shim's owner read through it.
     * O_PATH: a directory the user may search but not list still works. */
    struct stat dir_st, shim_st, st;
    dir_fd = above_stdio(open(dir_only, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (dir_fd < 0 || fstat(dir_fd, &dir_st) != 0) {
        snprintf(reason, sizeof(reason), "cannot check its directory %s: %s", dir_only,
                 strerror(errno));
        problem = reason;
        goto refuse;
    }
    if (fstatat(dir_fd, shim_name, &shim_st, AT_SYMLINK_NOFOLLOW) != 0) {
        snprintf(reason, sizeof(reason), "cannot check %s: %s", dir, strerror(errno));
        problem = reason;
        goto refuse;
    }
    if (!S_ISREG(shim_st.st_mode)) {
        snprintf(reason, sizeof(reason), "%s is not a regular file", dir);
        problem = reason;
        goto refuse;
    }
    char what[PATH_MAX + 32];
    snprintf(what, sizeof(what), "its directory %s is ", dir_only);
    if ((problem = judge(&dir_st, shim_st.st_uid, what, reason, sizeof(reason))))
        goto refuse;

    /* Stage 3: the file, relative to the directory checked.  O_NONBLOCK:
     * a FIFO in its place must not hang the program. */
    impl->fd = above_stdio(openat(dir_fd, CG_IMPL_FILE,
                                  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (impl->fd < 0) {
        if (errno == ELOOP) {
            problem = "it is a symbolic link (the agent is loaded from a regular file only)";
            goto refuse;
        }
        /* A missing or unreadable file is a broken installation, not a
         * refusal: the same line as before these checks. */
        snprintf(why, why_size, "cannot load the agent: %s: %s", impl->path, strerror(errno));
        goto fail;
    }
    if (fstat(impl->fd, &st) != 0) {
        snprintf(reason, sizeof(reason), "cannot check it: %s", strerror(errno));
        problem = reason;
        goto refuse;
    }
    if (!S_ISREG(st.st_mode)) {
        problem = "not a regular file";
        goto refuse;
    }
    if ((problem = judge(&st, shim_st.st_uid, "", reason, sizeof(reason))))
        goto refuse;

    /* Stage 4: the name the loader will open must be this inode.  The
     * loader keeps the name it was given and answers any later dlopen of
     * the same string with this object, so it is spelt as no program
     * would spell its own /proc/self/fd/N (a memfd or an opened file
     * loaded that way gets N, often the number that was ours). */
    struct stat via_proc;
    snprintf(impl->fd_path, sizeof(impl->fd_path), "/proc/self/fd/../fd/%d", impl->fd);
    if (stat(impl->fd_path, &via_proc) != 0 || via_proc.st_dev != st.st_dev ||
        via_proc.st_ino != st.st_ino) {
        problem = "/proc is not mounted, and the agent is loaded only through "
                  "/proc/self/fd (the very file checked), never by its path";
        goto refuse;
    }
    close(dir_fd);
    return 0;

refuse:
    snprintf(why, why_size, "not loading %s: %s", impl->path, problem);
fail:
    shim_impl_close(impl);
    if (dir_fd >= 0)
        close(dir_fd);
    return -1;
}
