/*
 * jit_unwind.c - libunwind tables for generated call trampolines.
 *
 * DESIGN: each registered region gets one slot of static storage: a
 * 64-byte .eh_frame fragment (a CIE and one FDE covering the whole
 * region), a one-entry search table and the unw_dyn_info_t that
 * _U_dyn_register links into libunwind's list.  The FDE says "CFA =
 * rsp + cfa_offset, return address at CFA - 8" from the region's first
 * byte to its last; that is exact at every return address in a stub (the
 * only stub PCs a caller's frame shows) and at interrupted PCs inside the
 * stub's body, and wrong before its stack adjustment and at its ret,
 * which the handler checks with cg_jit_unwind_leaf_unsafe_sigsafe()
 * (one FDE per copy would be exact everywhere but would cost about 240
 * KiB per 64 KiB arena).
 *
 * Why UNW_INFO_FORMAT_IP_OFFSET: its table offsets are relative to the
 * region (start_ip) and the FDE (segbase) separately, so the region and
 * our static storage may be any distance apart; REMOTE_TABLE measures both
 * from one base in 32 bits.
 *
 * Readers: libunwind walks its list without a lock (a new entry is
 * linked at the head, after its fields are written) and the handler reads
 * the region table through g_count (release on publish, acquire on read).
 * Nothing is ever unregistered.  Registering flushes libunwind's
 * register-state cache (keyed by PC, shared by all threads); its
 * per-thread trace caches keep a "cannot trace" they already hold, which
 * is why PLTs are registered before the program's threads run.  What it won't do: describe code it does
 * not recognise; allocate.
 */
#include "core/sample/jit_unwind.h"

#include "core/base/error.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* libunwind's search-table entry (Gfind_proc_info-lsb.c, struct table_entry). */
struct lu_table_entry {
    int32_t start_ip_offset;
    int32_t fde_offset;
};

struct region {
    uintptr_t start, end;
    struct cg_tramp_layout layout;
    unw_dyn_info_t di;
    struct lu_table_entry table[1];
    _Alignas(8) uint8_t eh_frame[64];
};

static struct region g_regions[CG_JIT_UNWIND_MAX_REGIONS];
static _Atomic size_t g_count; /* slots published to the handler */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

enum { FDE_OFFSET = 24 };

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/* CIE (24 bytes): version 1, "zR", code align 1, data align -8, RA column
 * 16, FDE pointers absolute; CFA = rsp + 8, RA at CFA - 8.  FDE (32
 * bytes): [start, end), CFA offset = cfa_offset.  Then a zero terminator. */
static void build_eh_frame(uint8_t *eh, uintptr_t start, uintptr_t end, uint8_t cfa_offset)
{
    static const uint8_t cie_body[] = {
        0, 0, 0, 0,          /* CIE id */
        1,                   /* version */
        'z', 'R', 0,         /* augmentation */
        1,                   /* code alignment */
        0x78,                /* data alignment: -8 (sleb128) */
        16,                  /* return address column: rip */
        1,                   /* augmentation data length */
        0x00,                /* FDE pointer encoding: DW_EH_PE_absptr */
        0x0c, 7, 8,          /* DW_CFA_def_cfa: rsp + 8 */
        0x90, 1,             /* DW_CFA_offset: rip at CFA - 8 */
        0, 0,                /* DW_CFA_nop padding */
    };
    _Static_assert(sizeof(cie_body) == 20, "CIE length");
    memset(eh, 0, 64);
    put32(eh, sizeof(cie_body));
    memcpy(eh + 4, cie_body, sizeof(cie_body));
    uint8_t *fde = eh + FDE_OFFSET;
    put32(fde, 28);
    put32(fde + 4, FDE_OFFSET + 4); /* back to the CIE */
    put64(fde + 8, start);
    put64(fde + 16, end - start);
    fde[24] = 0;          /* augmentation data length */
    fde[25] = 0x0e;       /* DW_CFA_def_cfa_offset */
    fde[26] = cfa_offset; /* < 128: one uleb128 byte */
    /* fde[27..31] DW_CFA_nop; eh[56..59] the zero terminator */
}

bool cg_tramp_layout_recognise(const uint8_t *code, size_t n, struct cg_tramp_layout *out)
{
    /* sub $8,%rsp; call *%rcx; add $8,%rsp; ret (CPython's
     * Python/asm_trampoline.S), optionally after endbr64 (CET builds). */
    static const uint8_t stub[] = {0x48, 0x83, 0xec, 0x08, 0xff, 0xd1,
                                   0x48, 0x83, 0xc4, 0x08, 0xc3};
    static const uint8_t endbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
    size_t pre = 0;
    if (n == sizeof(endbr64) + sizeof(stub) && memcmp(code, endbr64, sizeof(endbr64)) == 0)
        pre = sizeof(endbr64);
    if (n != pre + sizeof(stub) || memcmp(code + pre, stub, sizeof(stub)) != 0)
        return false;
    /* After the sub (offset 4) until the ret (offset 10): rsp + 16. */
    out->copy_bytes = n;
    out->body_start = pre + 4;
    out->body_end = pre + 10;
    out->cfa_offset = 16;
    return true;
}

size_t cg_tramp_region_stride(const uint8_t *start, size_t len, const uint8_t *tmpl,
                              size_t code_bytes)
{
    if (!code_bytes || len < 2 * code_bytes || memcmp(start, tmpl, code_bytes) != 0)
        return 0;
    static const size_t aligns[] = {1, 16, 32, 64};
    for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
        size_t stride = (code_bytes + aligns[i] - 1) / aligns[i] * aligns[i];
        if (stride + code_bytes <= len && memcmp(start + stride, tmpl, code_bytes) == 0)
            return stride;
    }
    return 0;
}

int cg_jit_unwind_register(uintptr_t start, size_t len, const struct cg_tramp_layout *l)
{
    if (!len || !l->copy_bytes || l->body_start >= l->body_end ||
        l->body_end > l->copy_bytes || l->cfa_offset < 8 || l->cfa_offset >= 128 ||
        len > INT32_MAX)
        return CG_EINVAL;
    int rc = 0;
    pthread_mutex_lock(&g_lock);
    size_t n = atomic_load_explicit(&g_count, memory_order_relaxed);
    for (size_t i = 0; i < n; i++)
        if (start < g_regions[i].end && start + len > g_regions[i].start)
            goto out; /* already covered */
    if (n == CG_JIT_UNWIND_MAX_REGIONS) {
        rc = CG_EFULL;
        goto out;
    }
    struct region *r = &g_regions[n];
    memset(r, 0, sizeof(*r));
    r->start = start;
    r->end = start + len;
    r->layout = *l;
    build_eh_frame(r->eh_frame, r->start, r->end, l->cfa_offset);
    r->table[0].start_ip_offset = 0; /* relative to di.start_ip */
    r->table[0].fde_offset = FDE_OFFSET; /* relative to segbase */
    r->di.start_ip = r->start;
    r->di.end_ip = r->end;
    r->di.format = UNW_INFO_FORMAT_IP_OFFSET;
    r->di.u.rti.segbase = (unw_word_t)(uintptr_t)r->eh_frame;
    r->di.u.rti.table_len = sizeof(r->table) / sizeof(unw_word_t);
    r->di.u.rti.table_data = (unw_word_t)(uintptr_t)r->table;
    /* Release pairs with the acquire in cg_jit_unwind_leaf_unsafe_sigsafe. */
    atomic_store_explicit(&g_count, n + 1, memory_order_release);
    _U_dyn_register(&r->di);
    /* libunwind's register-state cache is keyed by PC: drop what it
     * learnt there from other CFI (the linker's, for a PLT). */
    unw_flush_cache(unw_local_addr_space, r->start, r->end);
out:
    pthread_mutex_unlock(&g_lock);
    return rc;
}

bool cg_jit_unwind_leaf_unsafe_sigsafe(uintptr_t pc)
{
    size_t n = atomic_load_explicit(&g_count, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        const struct region *r = &g_regions[i];
        if (pc >= r->start && pc < r->end) {
            size_t off = (size_t)(pc - r->start) % r->layout.copy_bytes;
            return off < r->layout.body_start || off >= r->layout.body_end;
        }
    }
    return false;
}

bool cg_jit_unwind_rule_sigsafe(uintptr_t addr, unsigned *cfa_offset)
{
    size_t n = atomic_load_explicit(&g_count, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        const struct region *r = &g_regions[i];
        if (addr >= r->start && addr < r->end) {
            size_t off = (size_t)(addr - r->start) % r->layout.copy_bytes;
            if (off < r->layout.body_start || off >= r->layout.body_end)
                return false;
            *cfa_offset = r->layout.cfa_offset;
            return true;
        }
    }
    return false;
}

size_t cg_jit_unwind_regions(void)
{
    return atomic_load_explicit(&g_count, memory_order_acquire);
}
