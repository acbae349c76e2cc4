/*
 * cfi_image.c - every unwind row of a loaded object, compiled for the
 * handler (cfi_image.h says why).
 *
 * DESIGN: the object is found with dl_iterate_phdr (the agent thread may
 * take the loader's lock); its PT_GNU_EH_FRAME segment is the search
 * header, whose table must be the usual sorted (datarel, sdata4) pairs.
 * The tables are copied whole first (from the lower of the header and
 * .eh_frame to the end of the PT_LOAD segment that holds them: linkers
 * put the two side by side at the end of the read-only segment), with
 * process_vm_readv so an odd mapping is an error, not a fault; every FDE's
 * program is run on the copy (cfi_row.c), and the rows are kept, packed
 * in 8 bytes, neighbours with the same rule merged, gaps between FDEs as
 * "no rule".  Slots are never reused: a handler that saw a slot live may
 * still be reading it after it is hidden.
 *
 * A packed rule: bits 0-1 the kind (0 none, 1 CFA = RSP + off, 2 CFA =
 * RBP + off, 3 the outermost frame), bits 2-17 the CFA offset, bits
 * 18-31 RBP's save slot as CFA + (field - 8192), 0 when RBP is kept.  A
 * row that does not fit is "no rule": libunwind steps it, as before.
 */
#include "core/sample/cfi_image.h"

#include "core/sample/cfi_row.h"

#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

/* No object's tables are larger (libjvm's are about 2 MiB). */
#define CG_CFI_IMAGE_MAX (8u << 20)
#define PAGE_SHIFT 12
#define RBP_BIAS 8192

void cg_cfi_images_init(struct cg_cfi_images *s, size_t cap)
{
    memset(s, 0, sizeof(*s));
    s->cap = cap;
}

void cg_cfi_images_cleanup(struct cg_cfi_images *s)
{
    if (!s)
        return;
    size_t used = atomic_load_explicit(&s->used, memory_order_relaxed);
    for (size_t i = 0; i < used; i++) {
        atomic_store_explicit(&s->live[i], false, memory_order_relaxed);
        if (s->slot[i].map)
            munmap(s->slot[i].map, s->slot[i].map_bytes);
    }
    atomic_store_explicit(&s->used, 0, memory_order_relaxed);
    s->bytes = 0;
}

/* What dl_iterate_phdr found for an address. */
struct found {
    uint64_t addr;
    bool hit;
    uint64_t code_lo, code_hi;    /* hull of the PF_X segments */
    uint64_t hdr;                 /* PT_GNU_EH_FRAME's address, 0: none */
    uint64_t seg_lo[16], seg_hi[16]; /* PT_LOAD segments */
    size_t segs;
};

static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct found *f = data;
    uint64_t lo = UINT64_MAX, hi = 0, hdr = 0;
    bool holds = false;
    size_t segs = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uint64_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;
        if (ph->p_type == PT_GNU_EH_FRAME)
            hdr = start;
        if (ph->p_type != PT_LOAD)
            continue;
        if (segs < 16) {
            f->seg_lo[segs] = start;
            f->seg_hi[segs] = end;
            segs++;
        }
        if (!(ph->p_flags & PF_X))
            continue;
        if (start < lo)
            lo = start;
        if (end > hi)
            hi = end;
        holds |= f->addr >= start && f->addr < end;
    }
    if (!holds)
        return 0;
    f->hit = true;
    f->code_lo = lo;
    f->code_hi = hi;
    f->hdr = hdr;
    f->segs = segs;
    return 1;
}

static bool copy_in(void *dst, uint64_t from, size_t n)
{
    struct iovec local = {dst, n}, remote = {(void *)(uintptr_t)from, n};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)n;
}

/* The .eh_frame_hdr fields: version 1, eh_frame_ptr (pcrel or absolute
 * sdata4/udata4/8), fde_count (udata4), table (datarel sdata4 pairs). */
static bool read_hdr(uint64_t hdr, uint64_t *eh_frame, uint64_t *table, uint64_t *n)
{
    unsigned char h[16];
    if (!copy_in(h, hdr, sizeof(h)) || h[0] != 1 || h[2] != 0x03 || h[3] != 0x3b)
        return false;
    int32_t v;
    memcpy(&v, h + 4, 4);
    switch (h[1]) {
    case 0x1b: *eh_frame = hdr + 4 + (uint64_t)(int64_t)v; break;  /* pcrel sdata4 */
    case 0x0b: *eh_frame = (uint64_t)(int64_t)v; break;             /* sdata4 */
    case 0x03: *eh_frame = (uint32_t)v; break;                      /* udata4 */
    default: return false;
    }
    uint32_t count;
    memcpy(&count, h + 8, 4);
    *table = hdr + 12;
    *n = count;
    return count > 0;
}

static bool refused(const struct cg_cfi_images *s, uint64_t addr)
{
    for (size_t i = 0; i < s->refused; i++)
        if (addr >= s->refused_lo[i] && addr < s->refused_hi[i])
            return true;
    return false;
}

static void refuse(struct cg_cfi_images *s, const struct found *f)
{
    if (s->refused < CG_CFI_IMAGES) {
        s->refused_lo[s->refused] = f->code_lo;
        s->refused_hi[s->refused] = f->code_hi;
        s->refused++;
    }
}

static uint32_t pack(const struct cg_cfi_row *row)
{
    if (row->cfa == CG_CFI_END)
        return 3;
    if (row->cfa_off <= 0 || row->cfa_off > 0xffff)
        return 0;
    uint32_t rbp = 0;
    if (row->rbp_off != CG_CFI_RBP_KEPT) {
        int32_t v = row->rbp_off + RBP_BIAS;
        if (v < 1 || v > 0x3fff)
            return 0;
        rbp = (uint32_t)v;
    }
    return (row->cfa == CG_CFI_CFA_RSP ? 1u : 2u) | (uint32_t)row->cfa_off << 2 | rbp << 18;
}

static bool unpack_sigsafe(uint32_t rule, struct cg_cfi_row *row)
{
    unsigned kind = rule & 3;
    if (kind == 0)
        return false;
    if (kind == 3) {
        row->cfa = CG_CFI_END;
        row->cfa_off = 0;
        row->rbp_off = CG_CFI_RBP_KEPT;
        return true;
    }
    uint32_t rbp = rule >> 18;
    row->cfa = kind == 1 ? CG_CFI_CFA_RSP : CG_CFI_CFA_RBP;
    row->cfa_off = (int32_t)((rule >> 2) & 0xffff);
    row->rbp_off = rbp ? (int16_t)((int32_t)rbp - RBP_BIAS) : CG_CFI_RBP_KEPT;
    return true;
}

/* The rows being built, in address order. */
struct builder {
    uint64_t code_lo, code_hi;
    struct cg_cfi_packed *rows;
    size_t n, cap;
    bool oom;
};

static void push(struct builder *b, uint64_t at, uint32_t rule)
{
    if (b->oom || at < b->code_lo || at >= b->code_hi)
        return;
    uint32_t off = (uint32_t)(at - b->code_lo);
    /* A row at the same start replaces the last (an empty row); the same
     * rule as the last row's goes on with it. */
    if (b->n && b->rows[b->n - 1].off == off) {
        b->n--;
        if (b->n && b->rows[b->n - 1].rule == rule)
            return;
    } else if (b->n && b->rows[b->n - 1].rule == rule) {
        return;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        struct cg_cfi_packed *r = realloc(b->rows, cap * sizeof(*r));
        if (!r) {
            b->oom = true;
            return;
        }
        b->rows = r;
        b->cap = cap;
    }
    b->rows[b->n++] = (struct cg_cfi_packed){off, rule};
}

static bool emit(void *ctx, const struct cg_cfi_row *row, bool ok)
{
    push(ctx, row->start, ok ? pack(row) : 0);
    return true;
}

/* Runs every FDE of the copied tables into b. */
static void compile(struct builder *b, const struct cg_cfi_raw *raw, uint64_t hdr,
                    uint64_t table, uint64_t n)
{
    uint64_t last_end = 0;
    for (uint64_t i = 0; i < n && !b->oom; i++) {
        int32_t e[2];
        if (!cg_cfi_raw_read(raw, table + i * 8, e, 8))
            break;
        uint64_t start = hdr + (uint64_t)(int64_t)e[0], fde = hdr + (uint64_t)(int64_t)e[1];
        if (start < last_end)
            continue; /* overlapping FDEs: the first one's rows stand */
        if (last_end && start > last_end)
            push(b, last_end, 0); /* a gap between functions */
        size_t mark = b->n;
        uint64_t begin, end;
        if (!cg_cfi_fde_rows(raw, fde, emit, b, &begin, &end) || begin != start) {
            b->n = mark; /* nothing of a malformed FDE */
            push(b, start, 0);
            last_end = 0;
            continue;
        }
        last_end = end;
    }
    if (last_end)
        push(b, last_end, 0);
}

static const struct cg_cfi_image *live_image_sigsafe(const struct cg_cfi_images *s,
                                                     uint64_t addr)
{
    size_t n = atomic_load_explicit(&s->used, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (atomic_load_explicit(&s->live[i], memory_order_acquire) &&
            addr >= s->slot[i].code_lo && addr < s->slot[i].code_hi)
            return &s->slot[i];
    return NULL;
}

/* Lays the rows and their page index out in one read-only mapping. */
static bool publish(struct cg_cfi_images *s, size_t slot, const struct builder *b, uint64_t hdr)
{
    size_t pages = (size_t)((b->code_hi - b->code_lo) >> PAGE_SHIFT) + 1;
    size_t index_bytes = (pages + 1) * sizeof(uint32_t);
    index_bytes = (index_bytes + 7) & ~(size_t)7;
    size_t bytes = index_bytes + b->n * sizeof(struct cg_cfi_packed);
    if (bytes > s->cap - s->bytes)
        return false;
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return false;
    uint32_t *page_first = m;
    struct cg_cfi_packed *rows = (struct cg_cfi_packed *)((char *)m + index_bytes);
    memcpy(rows, b->rows, b->n * sizeof(*rows));
    /* page_first[p]: the last row starting at or before the page's start
     * (0 when none does); the sentinel after the last page is the last
     * row. */
    size_t k = 0;
    for (size_t p = 0; p < pages; p++) {
        uint64_t at = (uint64_t)p << PAGE_SHIFT;
        while (k + 1 < b->n && rows[k + 1].off <= at)
            k++;
        page_first[p] = (uint32_t)k;
    }
    page_first[pages] = (uint32_t)(b->n - 1);
    if (mprotect(m, bytes, PROT_READ) != 0) {
        munmap(m, bytes);
        return false;
    }
    s->slot[slot] = (struct cg_cfi_image){b->code_lo, b->code_hi, hdr, page_first, rows, b->n,
                                          m, bytes};
    s->bytes += bytes;
    atomic_store_explicit(&s->live[slot], true, memory_order_release);
    atomic_store_explicit(&s->used, slot + 1, memory_order_release);
    return true;
}

bool cg_cfi_images_add(struct cg_cfi_images *s, uint64_t addr)
{
    if (live_image_sigsafe(s, addr))
        return true;
    size_t slot = atomic_load_explicit(&s->used, memory_order_relaxed);
    if (refused(s, addr) || slot == CG_CFI_IMAGES)
        return false;
    struct found f = {.addr = addr};
    dl_iterate_phdr(find_object, &f);
    if (!f.hit)
        return false;
    uint64_t eh_frame, table, n;
    if (!f.hdr || !read_hdr(f.hdr, &eh_frame, &table, &n) || table + n * 8 < table ||
        f.code_hi - f.code_lo > UINT32_MAX) {
        refuse(s, &f);
        return false;
    }
    uint64_t lo = f.hdr < eh_frame ? f.hdr : eh_frame;
    uint64_t top = f.hdr < eh_frame ? eh_frame : table + n * 8;
    uint64_t hi = 0;
    for (size_t i = 0; i < f.segs; i++)
        if (lo >= f.seg_lo[i] && top < f.seg_hi[i])
            hi = f.seg_hi[i];
    size_t len = (size_t)(hi - lo);
    void *copy = hi && len <= CG_CFI_IMAGE_MAX ? malloc(len) : NULL;
    if (!copy || !copy_in(copy, lo, len)) {
        free(copy);
        refuse(s, &f);
        return false;
    }
    struct cg_cfi_raw raw = {lo, hi, copy};
    struct builder b = {.code_lo = f.code_lo, .code_hi = f.code_hi};
    compile(&b, &raw, f.hdr, table, n);
    free(copy);
    bool ok = !b.oom && b.n > 0 && publish(s, slot, &b, f.hdr);
    free(b.rows);
    if (!ok)
        refuse(s, &f);
    return ok;
}

void cg_cfi_images_forget(struct cg_cfi_images *s)
{
    size_t used = atomic_load_explicit(&s->used, memory_order_relaxed);
    for (size_t i = 0; i < used; i++) {
        if (!atomic_load_explicit(&s->live[i], memory_order_relaxed))
            continue;
        /* Still the same object: the same code and header. */
        const struct cg_cfi_image *im = &s->slot[i];
        struct found f = {.addr = im->code_lo};
        dl_iterate_phdr(find_object, &f);
        if (!f.hit || f.code_lo != im->code_lo || f.code_hi != im->code_hi || f.hdr != im->hdr)
            atomic_store_explicit(&s->live[i], false, memory_order_release);
    }
    s->refused = 0;
}

bool cg_cfi_images_row_sigsafe(const struct cg_cfi_images *s, uint64_t addr,
                               struct cg_cfi_row *row)
{
    const struct cg_cfi_image *im = live_image_sigsafe(s, addr);
    if (!im)
        return false;
    uint64_t off = addr - im->code_lo;
    size_t p = (size_t)(off >> PAGE_SHIFT);
    /* The row holding off is between the page's first row and the next
     * page's (inclusive): the last one starting at or before off. */
    size_t lo = im->page_first[p], hi = (size_t)im->page_first[p + 1] + 1;
    if (im->rows[lo].off > off)
        return false; /* before the first FDE */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (im->rows[mid].off <= off)
            lo = mid;
        else
            hi = mid;
    }
    return unpack_sigsafe(im->rows[lo].rule, row);
}

bool cg_cfi_images_stats(const struct cg_cfi_images *s, uint64_t addr, size_t *rows,
                         size_t *bytes)
{
    const struct cg_cfi_image *im = live_image_sigsafe(s, addr);
    if (!im)
        return false;
    *rows = im->nrows;
    *bytes = im->map_bytes;
    return true;
}
