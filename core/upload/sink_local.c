/*
 * sink_local.c - profiles as files in a directory.
 *
 * DESIGN: write to ".<name>.tmp" with O_EXCL-free O_TRUNC in the same
 * directory, fsync-free (a lost profile on power loss is acceptable; a
 * torn one is not, and rename gives that), then rename over the final
 * name.  File names carry the pid and the period start, so processes
 * sharing a directory never collide.
 */
#include "core/upload/sink_local.h"

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

int cg_sink_local_mkdirs(const char *dir)
{
    char path[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path))
        return -ENAMETOOLONG;
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int cg_sink_local_write_file(const char *dir, const char *file, const void *data, size_t len)
{
    char tmp[PATH_MAX], final[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, file) >= (int)sizeof(tmp) ||
        snprintf(final, sizeof(final), "%s/%s", dir, file) >= (int)sizeof(final))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
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
            unlink(tmp);
            return err;
        }
        p += w;
        left -= (size_t)w;
    }
    if (close(fd) != 0) {
        int err = -errno;
        unlink(tmp);
        return err;
    }
    if (rename(tmp, final) != 0) {
        int err = -errno;
        unlink(tmp);
        return err;
    }
    return 0;
}

static int write_folded(const char *dir, const char *base, const char *suffix,
                        const struct cg_calltree *tree, enum cg_count_key key)
{
    if (cg_calltree_total(tree, key) == 0)
        return 0;
    size_t len = 0;
    char *text = cg_folded_encode(tree, key, &len);
    if (!text)
        return CG_ENOMEM;
    char file[NAME_MAX + 1];
    snprintf(file, sizeof(file), "%s%s", base, suffix);
    int rc = cg_sink_local_write_file(dir, file, text, len);
    free(text);
    if (rc != 0)
        CG_ERROR("cannot write %s/%s: %s", dir, file, cg_strerror(rc));
    return rc;
}

int cg_sink_local_write(const char *dir, const char *name, pid_t pid,
                        const struct cg_profile_meta *meta, const struct cg_calltree *tree,
                        const char *doc, size_t doc_len)
{
    int rc = cg_sink_local_mkdirs(dir);
    if (rc != 0) {
        CG_ERROR("cannot create output directory %s: %s; profile not written locally", dir,
                 cg_strerror(rc));
        return rc;
    }
    char base[NAME_MAX - 32];
    snprintf(base, sizeof(base), "%s-%d-%llu", name, (int)pid,
             (unsigned long long)meta->start_ms);
    for (char *p = base; *p; p++)
        if (*p == '/')
            *p = '_';
    char file[NAME_MAX + 1];
    snprintf(file, sizeof(file), "%s.json", base);
    rc = cg_sink_local_write_file(dir, file, doc, doc_len);
    if (rc != 0) {
        CG_ERROR("cannot write %s/%s: %s", dir, file, cg_strerror(rc));
        return rc;
    }
    CG_INFO("wrote %s/%s", dir, file);
    size_t gz_len = 0;
    unsigned char *gz = cg_pprof_encode_gz(tree, meta, &gz_len);
    int rc1 = gz ? 0 : CG_ENOMEM;
    if (gz) {
        snprintf(file, sizeof(file), "%s.pb.gz", base);
        rc1 = cg_sink_local_write_file(dir, file, gz, gz_len);
        free(gz);
    }
    if (rc1 != 0)
        CG_ERROR("cannot write the pprof profile %s/%s.pb.gz: %s", dir, base, cg_strerror(rc1));
    int rc2 = write_folded(dir, base, ".folded", tree, CG_KEY_RUNNABLE);
    int rc3 = write_folded(dir, base, ".waiting.folded", tree, CG_KEY_WAITING);
    int rc4 = write_folded(dir, base, ".blocked.folded", tree, CG_KEY_BLOCKED);
    return rc1 ? rc1 : rc2 ? rc2 : rc3 ? rc3 : rc4;
}
