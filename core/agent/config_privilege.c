/*
 * config_privilege.c - does this process run with more privilege than
 * whoever set its environment?  Decided before any variable or file is
 * read (see config.h and docs/security.md).
 *
 * DESIGN: only getauxval, getresuid/getresgid and the capget system call:
 * no file (not even /proc), no environment.  What cannot be read is taken
 * as privileged.  What it won't do: decide anything else about the
 * configuration.
 */
#include "core/agent/config.h"

#include <linux/capability.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

const char *cg_config_privilege_reason(const struct cg_process_ids *p)
{
    if (p->at_secure)
        return "setuid/setgid or file-capability program (AT_SECURE)";
    if (p->ruid != p->euid || p->ruid != p->suid)
        return "real, effective and saved user ids differ";
    if (p->rgid != p->egid || p->rgid != p->sgid)
        return "real, effective and saved group ids differ";
    if (p->ruid != 0 && p->cap_permitted != 0)
        return "a non-root user with capabilities";
    return NULL;
}

void cg_config_process_ids(struct cg_process_ids *p)
{
    memset(p, 0, sizeof(*p));
    p->at_secure = getauxval(AT_SECURE);
    if (getresuid(&p->ruid, &p->euid, &p->suid) != 0 ||
        getresgid(&p->rgid, &p->egid, &p->sgid) != 0)
        p->at_secure = 1; /* cannot tell: assume the worst */
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &hdr, data) != 0)
        p->cap_permitted = ~0ull; /* cannot tell: assume some */
    else
        p->cap_permitted = (uint64_t)data[0].permitted | (uint64_t)data[1].permitted << 32;
}
