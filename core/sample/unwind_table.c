/*
 * unwind_table.c - the .eh_frame_hdr of a loaded object, found through
 * dl_iterate_phdr.
 *
 * The header (version 1, then the encodings of the .eh_frame pointer, the
 * FDE count and the table, then the first two) is read with
 * process_vm_readv, so an object whose program headers point at nothing
 * costs an error, never a fault.  Only the table encoding the linker
 * always writes (4-byte signed offsets from the header,
 * DW_EH_PE_datarel|DW_EH_PE_sdata4) is used; libunwind's search reads the
 * entries itself, through the caller's accessor.
 */
#include "core/sample/unwind_table.h"

#include "core/base/error.h"

#include <link.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define EH_VERSION 1
#define PE_OMIT 0xff
#define PE_FORMAT_MASK 0x0f
#define PE_APPLICATION_MASK 0x70
#define PE_DATAREL_SDATA4 0x3b

struct search {
    uintptr_t ip;
    int rc;
    unw_dyn_info_t *di;
};

static int read_own(uintptr_t addr, void *buf, size_t n)
{
    struct iovec local = {buf, n}, remote = {(void *)addr, n};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)n ? 0 : CG_EIO;
}

/* Size of a fixed-size DWARF pointer encoding, or 0 when unsupported. */
static size_t encoded_size(unsigned enc)
{
    switch (enc & PE_FORMAT_MASK) {
    case 0x00: /* absptr */
    case 0x04: /* udata8 */
    case 0x0c: /* sdata8 */
        return 8;
    case 0x03: /* udata4 */
    case 0x0b: /* sdata4 */
        return 4;
    default:
        return 0;
    }
}

/* Reads the FDE count of the header at hdr into di; 0 or CG_EPARSE. */
static int read_header(uintptr_t hdr, unw_dyn_info_t *di)
{
    unsigned char h[4 + 8 + 8];
    if (read_own(hdr, h, 4) != 0 || h[0] != EH_VERSION || h[1] == PE_OMIT ||
        h[3] != PE_DATAREL_SDATA4 || (h[2] & PE_APPLICATION_MASK) != 0)
        return CG_EPARSE;
    size_t ptr_size = encoded_size(h[1]), count_size = encoded_size(h[2]);
    if (!ptr_size || !count_size || read_own(hdr + 4, h + 4, ptr_size + count_size) != 0)
        return CG_EPARSE;
    uint64_t count = 0;
    if (count_size == 4) {
        uint32_t c;
        memcpy(&c, h + 4 + ptr_size, 4);
        count = c;
    } else {
        memcpy(&count, h + 4 + ptr_size, 8);
    }
    if (count == 0 || count > (1u << 28))
        return CG_EPARSE;
    di->u.rti.segbase = hdr;
    di->u.rti.table_data = hdr + 4 + ptr_size + count_size;
    /* Each entry is two 4-byte offsets; libunwind counts in words. */
    di->u.rti.table_len = count * 8 / sizeof(unw_word_t);
    return 0;
}

static int visit(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    struct search *s = ctx;
    const ElfW(Phdr) *load = NULL, *eh = NULL;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + p->p_vaddr;
        if (p->p_type == PT_LOAD && s->ip >= start && s->ip - start < p->p_memsz)
            load = p;
        else if (p->p_type == PT_GNU_EH_FRAME)
            eh = p;
    }
    if (!load)
        return 0; /* not this object: go on */
    s->rc = CG_EPARSE;
    if (eh && read_header(info->dlpi_addr + eh->p_vaddr, s->di) == 0) {
        s->di->format = UNW_INFO_FORMAT_REMOTE_TABLE;
        s->di->start_ip = info->dlpi_addr + load->p_vaddr;
        s->di->end_ip = s->di->start_ip + load->p_memsz;
        s->di->gp = 0;
        s->di->u.rti.name_ptr = 0;
        s->rc = 0;
    }
    return 1;
}

int cg_unwind_table_find(uintptr_t ip, unw_dyn_info_t *di)
{
    memset(di, 0, sizeof(*di));
    struct search s = {ip, CG_ENOTFOUND, di};
    dl_iterate_phdr(visit, &s);
    return s.rc;
}

/* libunwind's generic search of a binary-search table, exported by
 * libunwind-x86_64 (libunwind-ptrace calls it too) but declared in no
 * public header. */
int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
                                       unw_proc_info_t *pi, int need_unwind_info, void *arg);

int cg_unwind_table_search(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need,
                           void *arg)
{
    unw_dyn_info_t di;
    int rc = cg_unwind_table_find((uintptr_t)ip, &di);
    if (rc != 0)
        return rc;
    return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need, arg);
}

int cg_unwind_no_dyn_info(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
    (void)as, (void)addr, (void)arg;
    return -UNW_ENOINFO;
}

int cg_unwind_no_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
                       void *arg)
{
    (void)as, (void)reg, (void)val, (void)write, (void)arg;
    return -UNW_EBADREG;
}

int cg_unwind_no_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
    (void)as, (void)c, (void)arg;
    return -UNW_EINVAL;
}
