/*
 * sigreturn.c - musl's signal return trampoline, for the unwinders.
 *
 * DESIGN: the trampoline is not looked up by name (musl's __restore_rt is
 * a hidden symbol, and Alpine strips its .symtab): the kernel keeps the
 * restorer of every installed action, and the agent's own SIGPROF action
 * was installed through libc's sigaction, which named libc's trampoline.
 * rt_sigaction with no new action reads it back; its nine code bytes are
 * checked before anything is built on it, so a libc with another
 * trampoline (or none) gets nothing registered and nothing stepped.
 *
 * What is registered with libunwind is what glibc writes by hand for its
 * own trampoline (sysdeps/unix/sysv/linux/x86_64/libc_sigaction.c): a CIE
 * with the 'S' augmentation (a signal frame: the next frame's PC is an
 * interrupted one, not a return address) and an FDE from the byte before
 * the trampoline (a handler's return address minus one is looked up:
 * musl, like glibc, puts a nop there for this) to its end, whose rules
 * read the CFA and every register from the ucontext at the stack pointer
 * (DW_CFA_def_cfa_expression: *(rsp + RSP's slot); DW_CFA_expression:
 * rsp + each register's slot).  libunwind recognises the 'S' and takes
 * its SIGRETURN shortcut there, in the fast trace too, exactly as for
 * glibc.  Format UNW_INFO_FORMAT_IP_OFFSET, as core/sample/jit_unwind.c
 * uses it (that file says why); the storage is static and never freed.
 *
 * The ucontext layout is the kernel's (struct rt_sigframe: the restorer's
 * address, popped by the handler's ret, then the ucontext), the same under
 * every libc; the static assertions pin the offsets to it.
 *
 * What it won't do: recognise other architectures' trampolines, or step
 * a signal frame on an alternate signal stack in the rule walk (its
 * ucontext lies outside the thread's stack: the walk misses and the
 * sample goes to libunwind, which reads it through the registered FDE).
 */
#include "core/sample/sigreturn.h"

#include "core/base/error.h"

#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#if defined(__x86_64__)

/* The kernel's sigaction for rt_sigaction(2) on x86-64. */
struct kernel_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};
#define KERNEL_SA_RESTORER 0x04000000ul

/* Offset of gregs[i] from the ucontext's start. */
#define GREG(i) (offsetof(ucontext_t, uc_mcontext.gregs) + 8 * (size_t)(i))
_Static_assert(offsetof(ucontext_t, uc_mcontext.gregs) == 40, "kernel ucontext layout");
_Static_assert(REG_R8 == 0 && REG_RSP == 15 && REG_RIP == 16, "kernel gregs order");

static _Atomic uintptr_t g_tramp;          /* the trampoline; 0: none */
static uintptr_t g_libc_start, g_libc_end; /* its object's code */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

/* libunwind's search-table entry (as in jit_unwind.c). */
struct lu_table_entry {
    int32_t start_ip_offset;
    int32_t fde_offset;
};

static struct {
    unw_dyn_info_t di;
    struct lu_table_entry table[1];
    _Alignas(8) uint8_t eh_frame[192];
} g_reg;

bool cg_sigreturn_code_is_trampoline(const uint8_t *code)
{
    static const uint8_t tramp[CG_SIGRETURN_CODE_BYTES] = {0x48, 0xc7, 0xc0, 0x0f, 0x00,
                                                           0x00, 0x00, 0x0f, 0x05};
    return memcmp(code, tramp, sizeof(tramp)) == 0;
}

static size_t put_uleb(uint8_t *p, size_t v)
{
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        p[n++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
    return n;
}

static size_t put_sleb(uint8_t *p, int64_t v)
{
    size_t n = 0;
    for (;;) {
        uint8_t b = v & 0x7f;
        v >>= 7; /* arithmetic on every compiler the agent builds with */
        bool done = (v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40));
        p[n++] = (uint8_t)(b | (done ? 0 : 0x80));
        if (done)
            return n;
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/* DWARF register numbers and the gregs slots they are saved in. */
static const struct {
    uint8_t dwarf, greg;
} g_regs[] = {
    {0, REG_RAX}, {1, REG_RDX}, {2, REG_RCX}, {3, REG_RBX},  {4, REG_RSI},  {5, REG_RDI},
    {6, REG_RBP}, {7, REG_RSP}, {8, REG_R8},  {9, REG_R9},   {10, REG_R10}, {11, REG_R11},
    {12, REG_R12}, {13, REG_R13}, {14, REG_R14}, {15, REG_R15}, {16, REG_RIP},
};

/* A CIE ("zRS", code align 1, data align -8, return address column 16,
 * absolute FDE pointers, no initial rules), an FDE covering
 * [start, start + len) with the ucontext rules, and a zero terminator.
 * Returns the FDE's offset, or 0 when it does not fit. */
static size_t build_eh_frame(uint8_t *eh, size_t cap, uintptr_t start, size_t len)
{
    static const uint8_t cie_body[] = {
        0, 0, 0, 0,         /* CIE id */
        1,                  /* version */
        'z', 'R', 'S', 0,   /* augmentation: a signal frame */
        1,                  /* code alignment */
        0x78,               /* data alignment: -8 (sleb128) */
        16,                 /* return address column: rip */
        1,                  /* augmentation data length */
        0x00,               /* FDE pointer encoding: DW_EH_PE_absptr */
        0, 0,               /* DW_CFA_nop padding to 8 */
    };
    uint8_t ins[160];
    size_t n = 0;
    ins[n++] = 0x0f; /* DW_CFA_def_cfa_expression */
    uint8_t expr[8];
    size_t e = 0;
    expr[e++] = 0x77; /* DW_OP_breg7 (rsp) */
    e += put_sleb(expr + e, (int64_t)GREG(REG_RSP));
    expr[e++] = 0x06; /* DW_OP_deref */
    n += put_uleb(ins + n, e);
    memcpy(ins + n, expr, e);
    n += e;
    for (size_t i = 0; i < sizeof(g_regs) / sizeof(g_regs[0]); i++) {
        ins[n++] = 0x10; /* DW_CFA_expression */
        n += put_uleb(ins + n, g_regs[i].dwarf);
        e = 0;
        expr[e++] = 0x77; /* DW_OP_breg7 (rsp) */
        e += put_sleb(expr + e, (int64_t)GREG(g_regs[i].greg));
        n += put_uleb(ins + n, e);
        memcpy(ins + n, expr, e);
        n += e;
    }
    /* FDE: length, CIE pointer, start, range, augmentation length, rules,
     * padded with DW_CFA_nop to a multiple of 8 in all. */
    size_t cie = 4 + sizeof(cie_body), fde_body = 4 + 8 + 8 + 1 + n;
    size_t fde_len = (4 + fde_body + 7) / 8 * 8 - 4;
    if (cie + 4 + fde_len + 4 > cap)
        return 0;
    memset(eh, 0, cap);
    put32(eh, sizeof(cie_body));
    memcpy(eh + 4, cie_body, sizeof(cie_body));
    uint8_t *fde = eh + cie;
    put32(fde, (uint32_t)fde_len);
    put32(fde + 4, (uint32_t)(cie + 4)); /* back to the CIE */
    put64(fde + 8, start);
    put64(fde + 16, len);
    fde[24] = 0; /* augmentation data length */
    memcpy(fde + 25, ins, n);
    /* The rest is zero: DW_CFA_nop, then the terminator. */
    return cie;
}

static int find_libc(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t at = *(const uintptr_t *)data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && at >= lo && at < lo + ph->p_memsz) {
            g_libc_start = lo;
            g_libc_end = lo + ph->p_memsz;
            return 1;
        }
    }
    return 0;
}

int cg_sigreturn_register(uintptr_t addr)
{
    if (!addr || !cg_sigreturn_code_is_trampoline((const uint8_t *)addr))
        return CG_EINVAL;
    int rc = 0;
    pthread_mutex_lock(&g_lock);
    if (atomic_load_explicit(&g_tramp, memory_order_relaxed))
        goto out; /* one trampoline per process: registered already */
    uintptr_t start = addr - 1; /* a return address minus one */
    size_t len = 1 + CG_SIGRETURN_CODE_BYTES;
    size_t fde = build_eh_frame(g_reg.eh_frame, sizeof(g_reg.eh_frame), start, len);
    if (!fde) {
        rc = CG_EFULL;
        goto out;
    }
    g_reg.table[0].start_ip_offset = 0;        /* relative to di.start_ip */
    g_reg.table[0].fde_offset = (int32_t)fde;  /* relative to segbase */
    g_reg.di.start_ip = start;
    g_reg.di.end_ip = start + len;
    g_reg.di.format = UNW_INFO_FORMAT_IP_OFFSET;
    g_reg.di.u.rti.segbase = (unw_word_t)(uintptr_t)g_reg.eh_frame;
    g_reg.di.u.rti.table_len = sizeof(g_reg.table) / sizeof(unw_word_t);
    g_reg.di.u.rti.table_data = (unw_word_t)(uintptr_t)g_reg.table;
    _U_dyn_register(&g_reg.di);
    unw_flush_cache(unw_local_addr_space, start, start + len);
    dl_iterate_phdr(find_libc, &addr);
    /* Release pairs with the acquire in cg_sigreturn_trampoline_sigsafe. */
    atomic_store_explicit(&g_tramp, addr, memory_order_release);
out:
    pthread_mutex_unlock(&g_lock);
    return rc;
}

int cg_sigreturn_init(int signo)
{
    struct kernel_sigaction k;
    memset(&k, 0, sizeof(k));
    if (syscall(SYS_rt_sigaction, signo, NULL, &k, sizeof(k.mask)) != 0)
        return CG_EIO;
    if (!(k.flags & KERNEL_SA_RESTORER) || !k.restorer)
        return CG_ENOTFOUND;
    return cg_sigreturn_register((uintptr_t)k.restorer);
}

uintptr_t cg_sigreturn_trampoline_sigsafe(void)
{
    return atomic_load_explicit(&g_tramp, memory_order_acquire);
}

bool cg_sigreturn_in_libc(uint64_t addr)
{
    uintptr_t tramp = cg_sigreturn_trampoline_sigsafe();
    return tramp && addr >= g_libc_start && addr < g_libc_end &&
           addr - tramp >= CG_SIGRETURN_CODE_BYTES;
}

/* Stack words may sit between a frame's locals: ASan must not judge the
 * read (as frame_rules.c's stack_word). */
__attribute__((no_sanitize_address)) static uint64_t word_at(uint64_t at)
{
    uint64_t v;
    __builtin_memcpy(&v, (const void *)(uintptr_t)at, sizeof(v));
    return v;
}

bool cg_sigreturn_step_at_sigsafe(uintptr_t tramp, uint64_t *pc, uint64_t *sp, uint64_t *bp,
                                  uint64_t lo, uint64_t hi)
{
    if (!tramp || *pc - tramp >= CG_SIGRETURN_CODE_BYTES)
        return false;
    uint64_t uc = *sp, end = uc + GREG(REG_RIP) + 8;
    if (uc < lo || end > hi || end < uc)
        return false;
    uint64_t rip = word_at(uc + GREG(REG_RIP)), rsp = word_at(uc + GREG(REG_RSP));
    /* The kernel builds the signal frame below the interrupted stack
     * pointer (and its red zone): anything else is not a signal frame of
     * this stack. */
    if (rsp < end || rsp > hi)
        return false;
    *bp = word_at(uc + GREG(REG_RBP));
    *sp = rsp;
    *pc = rip;
    return true;
}

bool cg_sigreturn_step_sigsafe(uint64_t *pc, uint64_t *sp, uint64_t *bp, uint64_t lo, uint64_t hi)
{
    return cg_sigreturn_step_at_sigsafe(cg_sigreturn_trampoline_sigsafe(), pc, sp, bp, lo, hi);
}

#else /* not x86-64: nothing is recognised */

bool cg_sigreturn_code_is_trampoline(const uint8_t *code)
{
    (void)code;
    return false;
}

int cg_sigreturn_register(uintptr_t addr)
{
    (void)addr;
    return CG_EINVAL;
}

int cg_sigreturn_init(int signo)
{
    (void)signo;
    return CG_ENOTFOUND;
}

uintptr_t cg_sigreturn_trampoline_sigsafe(void)
{
    return 0;
}

bool cg_sigreturn_in_libc(uint64_t addr)
{
    (void)addr;
    return false;
}

bool cg_sigreturn_step_at_sigsafe(uintptr_t tramp, uint64_t *pc, uint64_t *sp, uint64_t *bp,
                                  uint64_t lo, uint64_t hi)
{
    (void)tramp, (void)pc, (void)sp, (void)bp, (void)lo, (void)hi;
    return false;
}

bool cg_sigreturn_step_sigsafe(uint64_t *pc, uint64_t *sp, uint64_t *bp, uint64_t lo, uint64_t hi)
{
    (void)pc, (void)sp, (void)bp, (void)lo, (void)hi;
    return false;
}

#endif
