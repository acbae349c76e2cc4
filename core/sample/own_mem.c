/*
 * own_mem.c - a direct-mapped cache of 256-byte lines over
 * process_vm_readv of our own pid.
 *
 * A line is aligned, so it never straddles a page: it is either wholly
 * readable or not at all, and an unreadable line is never cached.
 */
#include "core/sample/own_mem.h"

#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

void cg_own_mem_reset(struct cg_own_mem *m)
{
    memset(m->tag, 0, sizeof(m->tag));
}

static const unsigned char *line_of(struct cg_own_mem *m, uint64_t base)
{
    size_t slot = (size_t)(base / CG_OWN_MEM_LINE) % CG_OWN_MEM_LINES;
    if (m->tag[slot] == base + 1)
        return m->line[slot];
    struct iovec local = {m->line[slot], CG_OWN_MEM_LINE};
    struct iovec remote = {(void *)(uintptr_t)base, CG_OWN_MEM_LINE};
    m->calls++;
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != CG_OWN_MEM_LINE) {
        m->tag[slot] = 0;
        return NULL;
    }
    m->tag[slot] = base + 1;
    return m->line[slot];
}

bool cg_own_mem_read(struct cg_own_mem *m, uint64_t addr, void *buf, size_t n)
{
    unsigned char *out = buf;
    while (n > 0) {
        if (addr > UINT64_MAX - CG_OWN_MEM_LINE)
            return false;
        uint64_t base = addr & ~(uint64_t)(CG_OWN_MEM_LINE - 1);
        const unsigned char *line = line_of(m, base);
        if (!line)
            return false;
        size_t off = (size_t)(addr - base), take = CG_OWN_MEM_LINE - off;
        if (take > n)
            take = n;
        memcpy(out, line + off, take);
        out += take;
        addr += take;
        n -= take;
    }
    return true;
}
