/*
 * sink_local.c - profiles as files in a directory.
 *
 * DESIGN: write to ".<name>.tmp" with O_EXCL-free O_TRUNC in the same
 * directory, fsync-free (a lost profile on power loss is acceptable; a
 * torn one is not, and rename gives that), then rename over the final
 * name.  File names carry the pid and the period start, so processes
 * sharing a directory never collide.
 *
 * The directory's name comes from the environment or a config file, and
 * the process may be root: the path is walked one component at a time
 * with openat(O_DIRECTORY|O_NOFOLLOW), creating what is missing (0700,
 * 0755 when shared); a symbolic link is followed only when root or this
 * process's user owns it; the directory reached must belong to root or to
 * this user and must not be writable by everyone unless sticky.  Files
 * are written with openat(O_EXCL|O_NOFOLLOW) into the directory's fd,
 * mode 0600 (0644 when shared), and renamed within it: nothing done
 * after the walk goes through a path again.
 */
#include "core/upload/sink_local.h"

#include "core/base/cpu_account.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "core/profile/calltree.h"
#include "core/profile/folded.h"
#include "core/profile/pprof.h"
#include "core/profile/profile_doc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Modes of what the sink creates (before the umask). */
static mode_t dir_mode(bool shared)
{
    return shared ? 0755 : 0700;
}

static mode_t file_mode(bool shared)
{
    return shared ? 0644 : 0600;
}

/* Opens component `comp` of `dir` below `parent` as a directory, creating
 * it when missing.  Returns an fd, or < 0 after logging one line. */
static int open_component(int parent, const char *dir, const char *comp, bool shared)
{
    const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    uid_t me = geteuid();
    bool created = false;
    int fd = openat(parent, comp, flags);
    if (fd < 0 && errno == ENOENT) {
        if (mkdirat(parent, comp, dir_mode(shared)) == 0)
            created = true;
        else if (errno != EEXIST)
            goto cannot;
        fd = openat(parent, comp, flags);
    }
    if (fd < 0 && (errno == ELOOP || errno == ENOTDIR) && !created) {
        /* A link is followed only when root or this process's user made
         * it (fs.protected_symlinks' rule, everywhere): one planted by
         * another user is how root's profiles get steered elsewhere. */
        struct stat ls;
        if (fstatat(parent, comp, &ls, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(ls.st_mode)) {
            if (ls.st_uid != 0 && ls.st_uid != me) {
                CG_ERROR("output directory %s: %s is a symbolic link owned by uid %u, another "
                         "user (only links of root's or uid %u's are followed); profile not "
                         "written locally", dir, comp, (unsigned)ls.st_uid, (unsigned)me);
                return CG_EINVAL;
            }
            fd = openat(parent, comp, flags & ~O_NOFOLLOW);
        } else {
            errno = ENOTDIR;
        }
    }
    if (fd < 0)
        goto cannot;
    struct stat st;
    if (created && (fstat(fd, &st) != 0 || st.st_uid != me)) {
        /* Swapped between mkdir and open by someone who can write the
         * parent. */
        CG_ERROR("output directory %s: %s was replaced while being created; profile not "
                 "written locally", dir, comp);
        close(fd);
        return CG_EINVAL;
    }
    return fd;
cannot: {
    int err = -errno;
    CG_ERROR("cannot create output directory %s: %s; profile not written locally", dir,
             cg_strerror(err));
    return err;
}
}

int cg_sink_local_open_dir(const char *dir, bool shared)
{
    char path[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path)) {
        CG_ERROR("output directory %.64s...: name too long; profile not written locally", dir);
        return -ENAMETOOLONG;
    }
    memcpy(path, dir, n + 1);
    int fd = open(path[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int err = -errno;
        CG_ERROR("cannot open output directory %s: %s; profile not written locally", dir,
                 cg_strerror(err));
        return err;
    }
    char *save = NULL;
    for (char *comp = strtok_r(path, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
        int sub = open_component(fd, dir, comp, shared);
        close(fd);
        if (sub < 0)
            return sub;
        fd = sub;
    }
    struct stat st;
    uid_t me = geteuid();
    const char *why = NULL;
    if (fstat(fd, &st) != 0)
        why = "cannot be examined";
    else if (st.st_uid != 0 && st.st_uid != me)
        why = "is owned by another user";
    else if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
        why = "is writable by every user and not sticky (chmod o-w or +t)";
    if (why) {
        CG_ERROR("output directory %s %s (uid %u; this process runs as uid %u); profile not "
                 "written locally", dir, why, (unsigned)st.st_uid, (unsigned)me);
        close(fd);
        return CG_EINVAL;
    }
    return fd;
}

int cg_sink_local_write_file(int dirfd, const char *file, const void *data, size_t len,
                             bool shared)
{
    char tmp[NAME_MAX + 1];
    if (snprintf(tmp, sizeof(tmp), ".%s.tmp", file) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
    int fd = openat(dirfd, tmp, flags, file_mode(shared));
    if (fd < 0 && errno == EEXIST) {
        /* Left by a crash of an earlier process with our pid; O_EXCL so we
         * never write into a file someone else made. */
        unlinkat(dirfd, tmp, 0);
        fd = openat(dirfd, tmp, flags, file_mode(shared));
    }
    if (fd < 0)
        return -errno;
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int err = -errno;
            close(fd);
            unlinkat(dirfd, tmp, 0);
            return err;
        }
        p += w;
        left -= (size_t)w;
    }
    if (close(fd) != 0) {
        int err = -errno;
        unlinkat(dirfd, tmp, 0);
        return err;
    }
    if (renameat(dirfd, tmp, dirfd, file) != 0) {
        int err = -errno;
        unlinkat(dirfd, tmp, 0);
        return err;
    }
    return 0;
}

static int write_folded(int dirfd, const char *dir, bool shared, const char *base,
                        const char *suffix, const struct cg_calltree *tree,
                        enum cg_count_key key, struct cg_cpu_account *acct)
{
    if (cg_calltree_total(tree, key) == 0)
        return 0;
    size_t len = 0;
    uint64_t t0 = cg_cpu_account_now();
    char *text = cg_folded_encode(tree, key, &len);
    cg_cpu_account_add(acct, CG_ACT_ENCODE, t0);
    if (!text)
        return CG_ENOMEM;
    char file[NAME_MAX + 1];
    snprintf(file, sizeof(file), "%s%s", base, suffix);
    t0 = cg_cpu_account_now();
    int rc = cg_sink_local_write_file(dirfd, file, text, len, shared);
    cg_cpu_account_add(acct, CG_ACT_LOCAL_WRITE, t0);
    free(text);
    if (rc != 0)
        CG_ERROR("cannot write %s/%s: %s", dir, file, cg_strerror(rc));
    return rc;
}

int cg_sink_local_write(const char *dir, bool shared, const char *name, pid_t pid,
                        const struct cg_profile_meta *meta, const struct cg_calltree *tree,
                        const char *doc, size_t doc_len, struct cg_cpu_account *acct)
{
    uint64_t t0 = cg_cpu_account_now();
    int dirfd = cg_sink_local_open_dir(dir, shared);
    if (dirfd < 0)
        return dirfd; /* logged */
    char base[NAME_MAX - 32];
    snprintf(base, sizeof(base), "%s-%d-%llu", name, (int)pid,
             (unsigned long long)meta->start_ms);
    for (char *p = base; *p; p++)
        if (*p == '/')
            *p = '_';
    char file[NAME_MAX + 1];
    snprintf(file, sizeof(file), "%s.json", base);
    int rc = cg_sink_local_write_file(dirfd, file, doc, doc_len, shared);
    if (rc != 0) {
        CG_ERROR("cannot write %s/%s: %s", dir, file, cg_strerror(rc));
        close(dirfd);
        cg_cpu_account_add(acct, CG_ACT_LOCAL_WRITE, t0);
        return rc;
    }
    CG_INFO("wrote %s/%s", dir, file);
    cg_cpu_account_add(acct, CG_ACT_LOCAL_WRITE, t0);
    size_t gz_len = 0;
    t0 = cg_cpu_account_now();
    unsigned char *gz = cg_pprof_encode_gz(tree, meta, &gz_len);
    cg_cpu_account_add(acct, CG_ACT_ENCODE, t0);
    int rc1 = gz ? 0 : CG_ENOMEM;
    if (gz) {
        snprintf(file, sizeof(file), "%s.pb.gz", base);
        t0 = cg_cpu_account_now();
        rc1 = cg_sink_local_write_file(dirfd, file, gz, gz_len, shared);
        cg_cpu_account_add(acct, CG_ACT_LOCAL_WRITE, t0);
        free(gz);
    }
    if (rc1 != 0)
        CG_ERROR("cannot write the pprof profile %s/%s.pb.gz: %s", dir, base, cg_strerror(rc1));
    int rc2 = write_folded(dirfd, dir, shared, base, ".folded", tree, CG_KEY_RUNNABLE, acct);
    int rc3 = write_folded(dirfd, dir, shared, base, ".waiting.folded", tree, CG_KEY_WAITING, acct);
    int rc4 = write_folded(dirfd, dir, shared, base, ".blocked.folded", tree, CG_KEY_BLOCKED, acct);
    close(dirfd);
    return rc1 ? rc1 : rc2 ? rc2 : rc3 ? rc3 : rc4;
}
