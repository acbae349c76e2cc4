/*
 * wall.c - remote-style unwinding of our own blocked threads.
 *
 * DESIGN: libunwind's generic API (unw_init_remote/unw_step) with our
 * accessors: access_reg knows only RSP and RIP (all /proc gives us);
 * access_mem reads with process_vm_readv, a 256-byte line at a time
 * (core/sample/own_mem.h), so a stale or bogus stack pointer costs an
 * error, not a SIGSEGV in the host; find_proc_info
 * searches the .eh_frame_hdr that the dynamic linker already loaded
 * (core/sample/unwind_table.h), and only for an object without one falls
 * back to libunwind-ptrace's lookup, which reads /proc/PID/maps and maps
 * the ELF file (about 1 ms per stack, cold).  Code in no loaded object
 * (JIT code, an ELF file mapped by hand) ends the stack.  Unwind rules
 * are cached by libunwind, and the agent also reuses a thread's previous
 * stack while its (syscall, SP, PC) is unchanged.
 *
 * Only RSP and RIP are known, so a frame whose CFA is RBP-based (code built
 * with frame pointers, sanitizer interceptors) cannot be stepped through
 * on the first try.  When an unwind stops on an error (not at the outermost
 * frame), the frame-pointer record of the frame it stopped in is looked
 * for just above that frame's stack pointer: the first 8-byte aligned
 * address A, within 64 KiB, whose own word is 0 or a higher stack address
 * and whose next word returns, into other code, to just after a call of
 * that very function (directly, or through its PLT stub or a thunk); when
 * the call cannot be checked (indirect, or a tail call on the way), the
 * caller's record must look right too.  Stale records left in the frame's
 * locals by its own earlier calls return into it, and are refused.
 * A is the RBP that frame runs with
 * (RBP is callee-saved, and the inner frames have not moved it, or DWARF
 * would say where they saved it); the unwind is redone with it and kept
 * only if it goes deeper along the same frames.  JIT code without unwind
 * tables still ends a stack.  Threads off the CPU but not in a system call
 * (page faults, stopped) have no /proc registers and are skipped.
 */
#include "core/sample/wall.h"
#include "core/sample/wall_internal.h"

#include "core/base/error.h"
#include "core/sample/own_mem.h"
#include "core/sample/unwind_table.h"

#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <libunwind-ptrace.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cg_wall {
    unw_addr_space_t as;
    void *upt;          /* libunwind-ptrace context for our own pid */
    uint64_t sp, pc;    /* registers of the thread being unwound */
    uint64_t rbp;       /* recovered frame pointer, when has_rbp */
    bool has_rbp;
    struct cg_own_mem mem; /* reads of this unwind; reset before each */
};

#define FP_SEARCH_BYTES (64 * 1024)

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
    (void)as;
    struct cg_wall *w = arg;
    if (write)
        return -UNW_EINVAL;
    return cg_own_mem_read(&w->mem, addr, val, sizeof(*val)) ? 0 : -UNW_EINVAL;
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
    if (reg == UNW_X86_64_RBP && w->has_rbp) {
        *val = w->rbp;
        return 0;
    }
    return -UNW_EBADREG;
}

/* The loaded object's own .eh_frame_hdr first (core/sample/unwind_table.h);
 * libunwind-ptrace's ELF-file lookup only for an object without one. */
static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need,
                          void *arg)
{
    int rc = cg_unwind_table_search(as, ip, pi, need, arg);
    if (rc == CG_ENOTFOUND)
        return -UNW_ENOINFO; /* JIT code or anonymous memory: no ELF file either */
    if (rc == CG_EPARSE)
        return _UPT_find_proc_info(as, ip, pi, need, ((struct cg_wall *)arg)->upt);
    return rc;
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
    _UPT_put_unwind_info(as, pi, ((struct cg_wall *)arg)->upt);
}

struct cg_wall *cg_wall_new(void)
{
    struct cg_wall *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    static unw_accessors_t acc = {
        .find_proc_info = find_proc_info,
        .put_unwind_info = put_unwind_info,
        .get_dyn_info_list_addr = cg_unwind_no_dyn_info,
        .access_mem = access_mem,
        .access_reg = access_reg,
        .access_fpreg = cg_unwind_no_fpreg,
        .resume = cg_unwind_no_resume,
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
    if ((rc = cg_wall_parse_stat(buf, out)) != 0)
        return rc;
    if (out->state != 'S' && out->state != 'D')
        return 0;
    snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
    if ((rc = read_small(path, buf, sizeof(buf))) != 0)
        return rc;
    return cg_wall_parse_syscall(buf, out);
}

int cg_wall_parse_stat(const char *buf, struct cg_wall_state *out)
{
    /* comm may hold spaces and ')': the state follows the last ')'. */
    const char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2])
        return CG_EPARSE;
    out->state = p[2];
    return 0;
}

int cg_wall_parse_syscall(char *buf, struct cg_wall_state *out)
{
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

/* One unwind with the registers in w.  Returns the frame count; *failed
 * says the last step was an error (not the end of the stack) and *last_sp
 * is the stack pointer of the last frame reached. */
static size_t unwind_once(struct cg_wall *w, uint64_t *pcs, size_t max, bool *failed,
                          uint64_t *last_sp)
{
    *failed = false;
    *last_sp = w->sp;
    unw_cursor_t cur;
    if (unw_init_remote(&cur, w->as, w) != 0)
        return 0;
    size_t n = 0;
    int step = 0;
    do {
        unw_word_t ip, sp;
        if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0 || ip == 0)
            break;
        if (unw_get_reg(&cur, UNW_REG_SP, &sp) == 0)
            *last_sp = sp;
        pcs[n++] = ip;
    } while (n < max && (step = unw_step(&cur)) > 0);
    *failed = n < max && step < 0;
    return n;
}

static bool read_word(struct cg_wall *w, uint64_t addr, uint64_t *val)
{
    return cg_own_mem_read(&w->mem, addr, val, sizeof(*val));
}

static bool read_bytes(struct cg_wall *w, uint64_t addr, void *buf, size_t n)
{
    return cg_own_mem_read(&w->mem, addr, buf, n);
}

/* Where the code at `at` jumps at once, or 0: a PLT stub (through its
 * GOT slot) or a tail-jump thunk (jmp rel32), each maybe after endbr64. */
static uint64_t jump_target(struct cg_wall *w, uint64_t at)
{
    unsigned char b[16];
    if (!read_bytes(w, at, b, sizeof(b)))
        return 0;
    size_t i = 0;
    if (b[0] == 0xF3 && b[1] == 0x0F && b[2] == 0x1E && b[3] == 0xFA)
        i = 4; /* endbr64 */
    if (b[i] == 0xF2)
        i++;   /* bnd */
    int32_t disp;
    if (b[i] == 0xE9) {
        memcpy(&disp, &b[i + 1], 4);
        return at + i + 5 + (int64_t)disp;
    }
    if (b[i] != 0xFF || b[i + 1] != 0x25)
        return 0;
    memcpy(&disp, &b[i + 2], 4);
    uint64_t slot = at + i + 6 + (int64_t)disp, target;
    return read_word(w, slot, &target) ? target : 0;
}

/* Does a call to `target` end up in the function starting at fn_start
 * (directly, or through at most three PLT stubs or thunks)? */
static bool reaches(struct cg_wall *w, uint64_t target, uint64_t fn_start)
{
    for (int hop = 0; hop < 4 && target; hop++) {
        if (target == fn_start)
            return true;
        target = jump_target(w, target);
    }
    return false;
}

enum call_kind { NOT_A_CALL, CALL_TO_FN, CALL_ELSEWHERE, CALL_INDIRECT };

/* What the instruction before `ret` is, relative to the function starting
 * at fn_start: a direct call to it (itself or through a PLT stub), a
 * direct call to something else, an indirect call, or no call at all. */
static enum call_kind call_before(struct cg_wall *w, uint64_t ret, uint64_t fn_start)
{
    if (ret < 4096)
        return NOT_A_CALL;
    unsigned char b[8];
    if (!read_bytes(w, ret - 8, b, sizeof(b)))
        return NOT_A_CALL;
    if (b[3] == 0xE8) {
        int32_t rel;
        memcpy(&rel, &b[4], 4);
        uint64_t target = ret + (int64_t)rel;
        if (reaches(w, target, fn_start))
            return CALL_TO_FN;
        return CALL_ELSEWHERE;
    }
    if ((b[6] == 0xFF && (b[7] & 0x38) == 0x10 && (b[7] & 0xC0) == 0xC0) ||  /* *%reg */
        (b[5] == 0xFF && (b[6] & 0x38) == 0x10 && (b[6] & 0xC0) == 0x40) ||  /* *d8(%reg) */
        (b[2] == 0xFF && (b[3] & 0x38) == 0x10 &&
         ((b[3] & 0xC0) == 0x80 || (b[3] & 0xC7) == 0x05)) ||               /* *d32(%reg|%rip) */
        (b[1] == 0xFF && (b[2] & 0x38) == 0x10 && (b[2] & 0xC7) == 0x84))    /* *d32(sib) */
        return CALL_INDIRECT;
    return NOT_A_CALL;
}

static bool in_code(uint64_t ret)
{
    unw_proc_info_t pi;
    return unw_get_proc_info_by_ip(unw_local_addr_space, (unw_word_t)(ret - 1), &pi, NULL) == 0;
}

/* Is A the frame record (saved RBP, return address) of function F?  Its
 * return address must follow a call, in code other than F.  A direct call
 * of F (itself, or through its PLT stub or a thunk) settles it.  Otherwise
 * (an indirect call, or F reached by a tail call) the caller's record must
 * look right too.  Stale records left in F's locals by F's own earlier
 * calls return into F, and are refused. */
static bool frame_record_of(struct cg_wall *w, uint64_t a, const unw_proc_info_t *f)
{
    uint64_t saved, ret;
    if (!read_word(w, a, &saved) || (saved != 0 && (saved <= a || saved > a + 8 * 1024 * 1024)))
        return false;
    if (!read_word(w, a + 8, &ret) || !in_code(ret) || (ret > f->start_ip && ret <= f->end_ip))
        return false;
    switch (call_before(w, ret, f->start_ip)) {
    case CALL_TO_FN:
        return true;
    case CALL_ELSEWHERE:
    case CALL_INDIRECT: {
        uint64_t up_saved, up_ret;
        return saved != 0 && read_word(w, saved, &up_saved) && read_word(w, saved + 8, &up_ret) &&
               (up_saved == 0 || (up_saved > saved && up_saved <= saved + 8 * 1024 * 1024)) &&
               in_code(up_ret) && call_before(w, up_ret, 0) != NOT_A_CALL;
    }
    default:
        return false;
    }
}

/* The frame record of the function holding `ip`, closest above sp. */
static bool find_frame_record(struct cg_wall *w, uint64_t sp, uint64_t ip, bool return_address, uint64_t *rbp)
{
    unw_proc_info_t pi;
    uint64_t at = return_address ? ip - 1 : ip;
    if (unw_get_proc_info_by_ip(unw_local_addr_space, (unw_word_t)at, &pi, NULL) != 0)
        return false;
    for (uint64_t a = (sp + 7) & ~7ull; a < sp + FP_SEARCH_BYTES; a += 8) {
        uint64_t probe;
        if (!read_word(w, a, &probe))
            return false; /* off the end of the stack */
        if (frame_record_of(w, a, &pi)) {
            *rbp = a;
            return true;
        }
    }
    return false;
}

int cg_wall_unwind(struct cg_wall *w, const struct cg_wall_state *st, uint64_t *pcs, size_t max,
                   size_t *depth)
{
    if (!st->in_syscall || max == 0)
        return CG_EINVAL;
    w->sp = st->sp;
    w->pc = st->pc;
    w->has_rbp = false;
    cg_own_mem_reset(&w->mem);
    bool failed;
    uint64_t last_sp;
    size_t n = unwind_once(w, pcs, max, &failed, &last_sp);
    /* Each round recovers the RBP of the frame the last unwind stopped in
     * (a stack can mix code with and without frame pointers). */
    uint64_t *again = NULL;
    for (int round = 0; round < 8 && failed && n >= 1; round++) {
        uint64_t rbp;
        if (!find_frame_record(w, last_sp, pcs[n - 1], n > 1, &rbp))
            break;
        if (!again && !(again = malloc(max * sizeof(*again))))
            break;
        w->rbp = rbp;
        w->has_rbp = true;
        bool failed2;
        uint64_t sp2;
        size_t n2 = unwind_once(w, again, max, &failed2, &sp2);
        /* Keep it only if it extends the same stack. */
        if (n2 <= n || memcmp(again, pcs, n * sizeof(*pcs)) != 0)
            break;
        memcpy(pcs, again, n2 * sizeof(*pcs));
        n = n2;
        failed = failed2;
        last_sp = sp2;
    }
    free(again);
    w->has_rbp = false;
    if (n == 0)
        pcs[n++] = st->pc;
    *depth = n;
    return 0;
}
