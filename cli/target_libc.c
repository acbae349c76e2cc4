/*
 * target_libc.c - a program's libc from its ELF headers (target_libc.h).
 *
 * DESIGN: only the ELF header, the program headers and, for a library,
 * its dynamic section and the DT_NEEDED strings are read, with pread and
 * bounded buffers: the file may be any executable on the image, so
 * nothing read from it is trusted as a size or an offset without a check,
 * and anything unexpected (a 32-bit or big-endian file, too many headers,
 * a string without its NUL) answers "unknown", which `cgagent run` treats
 * as it always did.  A program is found as execvp finds it, so the answer
 * is about the file that will run.  What it won't do: follow LD_LIBRARY_PATH
 * or ld.so.conf, or tell one musl or glibc version from another.
 */
#include "cli/target_libc.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PHDRS 64
#define MAX_DYN 512
#define MAX_SCRIPT_DEPTH 4

struct elf {
    int fd;
    Elf64_Ehdr eh;
    Elf64_Phdr ph[MAX_PHDRS];
    size_t phnum;
};

const char *cg_libc_name(enum cg_libc_kind k)
{
    return k == CG_LIBC_GLIBC ? "glibc" : k == CG_LIBC_MUSL ? "musl" : "unknown";
}

static bool read_at(int fd, void *buf, size_t n, uint64_t off)
{
    if (off > (uint64_t)INT64_MAX - n)
        return false;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* The ELF header and program headers of a 64-bit little-endian file. */
static bool elf_open(const char *path, struct elf *e)
{
    e->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (e->fd < 0)
        return false;
    const Elf64_Ehdr *h = &e->eh;
    if (!read_at(e->fd, &e->eh, sizeof(e->eh), 0) || memcmp(h->e_ident, ELFMAG, SELFMAG) != 0 ||
        h->e_ident[EI_CLASS] != ELFCLASS64 || h->e_ident[EI_DATA] != ELFDATA2LSB ||
        h->e_phentsize != sizeof(Elf64_Phdr) || h->e_phnum == 0 || h->e_phnum > MAX_PHDRS ||
        !read_at(e->fd, e->ph, h->e_phnum * sizeof(Elf64_Phdr), h->e_phoff)) {
        close(e->fd);
        return false;
    }
    e->phnum = h->e_phnum;
    return true;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static enum cg_libc_kind name_libc(const char *base)
{
    if (strncmp(base, "ld-musl-", 8) == 0 || strncmp(base, "libc.musl-", 10) == 0)
        return CG_LIBC_MUSL;
    if (strncmp(base, "ld-linux", 8) == 0 || strncmp(base, "ld64.so.", 8) == 0)
        return CG_LIBC_GLIBC;
    return CG_LIBC_UNKNOWN;
}

enum cg_libc_kind cg_interp_libc(const char *interp)
{
    enum cg_libc_kind k = name_libc(base_name(interp));
    char real[PATH_MAX];
    /* Alpine's compatibility packages install glibc's loader name as a
     * link to musl's. */
    if (k == CG_LIBC_GLIBC && realpath(interp, real) && name_libc(base_name(real)) == CG_LIBC_MUSL)
        return CG_LIBC_MUSL;
    return k;
}

/* A program's libc from its PT_INTERP; UNKNOWN without one (static). */
static enum cg_libc_kind elf_interp_libc(const struct elf *e)
{
    for (size_t i = 0; i < e->phnum; i++) {
        const Elf64_Phdr *p = &e->ph[i];
        if (p->p_type != PT_INTERP)
            continue;
        char interp[PATH_MAX];
        if (p->p_filesz < 2 || p->p_filesz > sizeof(interp) ||
            !read_at(e->fd, interp, p->p_filesz, p->p_offset) || interp[p->p_filesz - 1] != '\0')
            return CG_LIBC_UNKNOWN;
        return cg_interp_libc(interp);
    }
    return CG_LIBC_UNKNOWN;
}

/* The file offset of virtual address v, through the PT_LOAD holding it. */
static bool vaddr_offset(const struct elf *e, uint64_t v, uint64_t *off)
{
    for (size_t i = 0; i < e->phnum; i++) {
        const Elf64_Phdr *p = &e->ph[i];
        if (p->p_type == PT_LOAD && v >= p->p_vaddr && v - p->p_vaddr < p->p_filesz) {
            *off = v - p->p_vaddr + p->p_offset;
            return true;
        }
    }
    return false;
}

enum cg_libc_kind cg_library_libc(const char *path)
{
    struct elf e;
    if (!elf_open(path, &e))
        return CG_LIBC_UNKNOWN;
    enum cg_libc_kind k = CG_LIBC_UNKNOWN;
    Elf64_Dyn dyn[MAX_DYN];
    size_t n = 0;
    for (size_t i = 0; i < e.phnum && !n; i++) {
        const Elf64_Phdr *p = &e.ph[i];
        if (p->p_type != PT_DYNAMIC)
            continue;
        n = p->p_filesz / sizeof(Elf64_Dyn);
        if (n > MAX_DYN || !read_at(e.fd, dyn, n * sizeof(Elf64_Dyn), p->p_offset))
            n = 0;
        break;
    }
    uint64_t strtab = 0, strsz = 0, stroff;
    for (size_t i = 0; i < n && dyn[i].d_tag != DT_NULL; i++) {
        if (dyn[i].d_tag == DT_STRTAB)
            strtab = dyn[i].d_un.d_ptr;
        else if (dyn[i].d_tag == DT_STRSZ)
            strsz = dyn[i].d_un.d_val;
    }
    if (strtab && vaddr_offset(&e, strtab, &stroff)) {
        for (size_t i = 0; i < n && dyn[i].d_tag != DT_NULL && !k; i++) {
            char name[16] = {0};
            uint64_t at = dyn[i].d_un.d_val;
            if (dyn[i].d_tag != DT_NEEDED || at >= strsz)
                continue;
            size_t want = strsz - at < sizeof(name) - 1 ? (size_t)(strsz - at) : sizeof(name) - 1;
            if (!read_at(e.fd, name, want, stroff + at))
                continue;
            k = strcmp(name, "libc.so") == 0     ? CG_LIBC_MUSL
                : strcmp(name, "libc.so.6") == 0 ? CG_LIBC_GLIBC
                                                 : CG_LIBC_UNKNOWN;
        }
    }
    close(e.fd);
    return k;
}

/* execvp's search: a name with a slash as it is, else the first
 * executable regular file of that name in PATH (musl's and glibc's
 * default when unset). */
static bool find_program(const char *cmd, char *out, size_t size)
{
    if (strchr(cmd, '/')) {
        if (strlen(cmd) >= size)
            return false;
        strcpy(out, cmd);
        return true;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/bin:/usr/bin";
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        struct stat st;
        /* An empty entry is the current directory. */
        int w = len ? snprintf(out, size, "%.*s/%s", (int)len, p, cmd)
                    : snprintf(out, size, "%s", cmd);
        if (w > 0 && (size_t)w < size && stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
            access(out, X_OK) == 0)
            return true;
        if (!end)
            return false;
        p = end;
    }
}

static enum cg_libc_kind file_libc(const char *path, int depth)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return CG_LIBC_UNKNOWN;
    char head[PATH_MAX + 3];
    ssize_t n = pread(fd, head, sizeof(head) - 1, 0);
    close(fd);
    if (n >= 2 && head[0] == '#' && head[1] == '!') {
        /* A script runs with its interpreter's libc. */
        if (depth >= MAX_SCRIPT_DEPTH)
            return CG_LIBC_UNKNOWN;
        head[n] = '\0';
        char *s = head + 2;
        s += strspn(s, " \t");
        s[strcspn(s, " \t\r\n")] = '\0';
        return *s == '/' ? file_libc(s, depth + 1) : CG_LIBC_UNKNOWN;
    }
    struct elf e;
    if (!elf_open(path, &e))
        return CG_LIBC_UNKNOWN;
    enum cg_libc_kind k = elf_interp_libc(&e);
    close(e.fd);
    return k;
}

enum cg_libc_kind cg_target_libc(const char *cmd)
{
    char path[PATH_MAX];
    return find_program(cmd, path, sizeof(path)) ? file_libc(path, 0) : CG_LIBC_UNKNOWN;
}
