/*
 * wall.c - remote-style unwinding of our own blocked threads.
 *
 * DESIGN: libunwind's generic API (unw_init_remote/unw_step) with our
 * accessors: access_reg knows only RSP and RIP (all /proc gives us);
 * access_mem reads with process_vm_readv, so a stale or bogus stack
 * pointer costs an error, not a SIGSEGV in the host; find_proc_info is
 * libunwind-ptrace's, which locates unwind tables from /proc/PID/maps and
 * the ELF files (it uses no ptrace on that path).  That lookup is slow
 * (~1 ms cold), so the agent reuses a thread's previous stack while its
 * (syscall, SP, PC) is unchanged.
 *
 * Limits (docs/internals.md): only RSP and RIP are known, so a frame whose
 * CFA is RBP-based (code built with frame pointers that has not saved RBP
 * by the syscall) ends the stack early; JIT code without unwind tables
 * does too.  Threads off the CPU but not in a system call (page faults,
 * stopped) have no /proc registers and are skipped.
 */
#include "core/wall.h"

#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <libunwind-ptrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

struct cg_wall {
    unw_addr_space_t as;
    void *upt;          /* libunwind-ptrace context for our own pid */
    uint64_t sp, pc;    /* registers of the thread being unwound */
};

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
    (void)as;
    (void)arg;
    if (write)
        return -UNW_EINVAL;
    struct iovec local = {val, sizeof(*val)}, remote = {(void *)addr, sizeof(*val)};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)sizeof(*val)
               ? 0 : -UNW_EINVAL;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
    (void)as;
    struct cg_wall *w = arg;
    if (write)
        return -UNW_EINVAL;
    if (reg == UNW_X86_64_RSP) {
        *val = w->sp;
        return 0;
    }
    if (reg == UNW_X86_64_RIP) {
        *val = w->pc;
        return 0;
    }
    return -UNW_EBADREG;
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need,
                          void *arg)
{
    return _UPT_find_proc_info(as, ip, pi, need, ((struct cg_wall *)arg)->upt);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
    _UPT_put_unwind_info(as, pi, ((struct cg_wall *)arg)->upt);
}

static int no_dyn_info(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
    (void)as;
    (void)addr;
    (void)arg;
    return -UNW_ENOINFO;
}

static int no_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write, void *arg)
{
    (void)as;
    (void)reg;
    (void)val;
    (void)write;
    (void)arg;
    return -UNW_EBADREG;
}

static int no_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
    (void)as;
    (void)c;
    (void)arg;
    return -UNW_EINVAL;
}

struct cg_wall *cg_wall_new(void)
{
    struct cg_wall *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    static unw_accessors_t acc = {
        .find_proc_info = find_proc_info,
        .put_unwind_info = put_unwind_info,
        .get_dyn_info_list_addr = no_dyn_info,
        .access_mem = access_mem,
        .access_reg = access_reg,
        .access_fpreg = no_fpreg,
        .resume = no_resume,
    };
    w->as = unw_create_addr_space(&acc, 0);
    w->upt = _UPT_create(getpid());
    if (!w->as || !w->upt) {
        cg_wall_free(w);
        return NULL;
    }
    unw_set_caching_policy(w->as, UNW_CACHE_GLOBAL);
    return w;
}

void cg_wall_free(struct cg_wall *w)
{
    if (!w)
        return;
    if (w->as)
        unw_destroy_addr_space(w->as);
    if (w->upt)
        _UPT_destroy(w->upt);
    free(w);
}

/* Reads a small /proc file into buf (NUL-terminated).  No stdio. */
static int read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ESRCH ? CG_ENOTFOUND : -errno;
    ssize_t n = read(fd, buf, size - 1);
    int err = n < 0 ? -errno : 0;
    close(fd);
    if (n < 0)
        return err == -ESRCH ? CG_ENOTFOUND : err;
    buf[n] = '\0';
    return 0;
}

int cg_wall_read_state(pid_t tid, struct cg_wall_state *out)
{
    char path[64], buf[512];
    memset(out, 0, sizeof(*out));
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
    int rc = read_small(path, buf, sizeof(buf));
    if (rc)
        return rc;
    /* comm may hold spaces and ')': the state follows the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2])
        return CG_EPARSE;
    out->state = p[2];
    if (out->state != 'S' && out->state != 'D')
        return 0;
    snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
    if ((rc = read_small(path, buf, sizeof(buf))) != 0)
        return rc;
    if (strncmp(buf, "running", 7) == 0)
        return 0;
    /* "NR a0 a1 a2 a3 a4 a5 SP PC" or "-1 SP PC": SP and PC are the last two. */
    char *last = strrchr(buf, ' ');
    if (!last)
        return CG_EPARSE;
    *last = '\0';
    char *prev = strrchr(buf, ' ');
    if (!prev)
        return CG_EPARSE;
    errno = 0;
    out->pc = strtoull(last + 1, NULL, 16);
    out->sp = strtoull(prev + 1, NULL, 16);
    out->nr = strtol(buf, NULL, 10);
    if (errno || !out->sp || !out->pc)
        return CG_EPARSE;
    out->in_syscall = 1;
    return 0;
}

int cg_wall_unwind(struct cg_wall *w, const struct cg_wall_state *st, uint64_t *pcs, size_t max,
                   size_t *depth)
{
    if (!st->in_syscall || max == 0)
        return CG_EINVAL;
    w->sp = st->sp;
    w->pc = st->pc;
    unw_cursor_t cur;
    if (unw_init_remote(&cur, w->as, w) != 0) {
        pcs[0] = st->pc;
        *depth = 1;
        return 0;
    }
    size_t n = 0;
    do {
        unw_word_t ip;
        if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0 || ip == 0)
            break;
        pcs[n++] = ip;
    } while (n < max && unw_step(&cur) > 0);
    if (n == 0)
        pcs[n++] = st->pc;
    *depth = n;
    return 0;
}
