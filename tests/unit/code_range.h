/*
 * code_range.h - where a loaded object's code is, for unit tests that
 * walk its addresses (the unwind-row tests, cfi_row_test.c and
 * cfi_image_test.c).
 *
 * code_range_of(part) looks through the objects loaded in this process
 * (dl_iterate_phdr) for the first whose name contains `part` ("" names the
 * program itself) and returns its first executable PT_LOAD segment as
 * [lo, hi); {0, 0} when no such object is loaded, which a test that
 * dlclose'd an object uses to see that it is gone.
 *
 * Owns: nothing; `part` is borrowed for the call.
 * Thread safety: as dl_iterate_phdr (it holds the loader's lock).
 * Signal safety: none.
 */
#ifndef CG_TESTS_CODE_RANGE_H
#define CG_TESTS_CODE_RANGE_H

#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct code_range {
    uint64_t lo, hi;
};

struct code_range_search {
    const char *part;
    struct code_range found;
};

static inline int code_range_visit(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct code_range_search *s = data;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    if (s->part[0] ? !strstr(name, s->part) : name[0] != '\0')
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            s->found.lo = info->dlpi_addr + ph->p_vaddr;
            s->found.hi = s->found.lo + ph->p_memsz;
            return 1;
        }
    }
    return 0;
}

static inline struct code_range code_range_of(const char *part)
{
    struct code_range_search s = {part, {0, 0}};
    dl_iterate_phdr(code_range_visit, &s);
    return s.found;
}

#endif
