/*
 * unwind_table.h - where the unwind table of a loaded object lies in our
 * own memory, for unwinding our own threads without reading ELF files.
 *
 * Every object the dynamic linker loaded (the program, its libraries, the
 * vDSO) carries its .eh_frame_hdr in a loaded segment: a sorted table of
 * (function start, FDE) pairs that libunwind can binary-search through a
 * memory accessor.  Finding it takes one dl_iterate_phdr walk, a few
 * microseconds, where libunwind-ptrace's lookup re-reads /proc/PID/maps
 * and maps the ELF file each time the unwind crosses into another object
 * (about a millisecond a stack, cold).
 *
 * Also the accessor pieces the agent's two libunwind address spaces over
 * its own memory share (core/sample/wall.c, core/sample/frame_learn.c).
 *
 * Owns: nothing (the description points into the loaded object).
 * Thread safety: any thread.  The description stays valid only while the
 * object stays loaded: read the table through a fault-proof accessor.
 * Signal safety: none (dl_iterate_phdr takes the loader's lock).
 */
#ifndef CG_UNWIND_TABLE_H
#define CG_UNWIND_TABLE_H

#include <libunwind.h>
#include <stdint.h>

/* Fills *di with the binary-search table of the loaded object whose
 * loaded segment holds ip (format UNW_INFO_FORMAT_REMOTE_TABLE, as
 * libunwind's dwarf_search_unwind_table takes it).  Returns 0,
 * CG_ENOTFOUND (no loaded object holds ip: JIT code, anonymous memory),
 * or CG_EPARSE (the object has no table in the usual encoding: the
 * caller falls back to a slower lookup). */
int cg_unwind_table_find(uintptr_t ip, unw_dyn_info_t *di);

/* find_proc_info for a libunwind address space over our own memory:
 * searches the table of the object holding ip with libunwind's generic
 * search (reading it through `as`'s access_mem).  Returns libunwind's
 * result (0 or -UNW_*), or CG_ENOTFOUND / CG_EPARSE as
 * cg_unwind_table_find() does, for the caller to map. */
int cg_unwind_table_search(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need,
                           void *arg);

/* Accessors for such address spaces that have nothing to give: no
 * dynamic unwind info, no floating-point registers, no resuming. */
int cg_unwind_no_dyn_info(unw_addr_space_t as, unw_word_t *addr, void *arg);
int cg_unwind_no_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
                       void *arg);
int cg_unwind_no_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg);

#endif
