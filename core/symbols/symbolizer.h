/*
 * symbolizer.h - program counters of this process to function names.
 *
 * Modules come from dl_iterate_phdr (refreshed after dlopen/dlclose and
 * when a PC falls in no known module); each module's symbol table is
 * loaded on first use (core/symbols/elf_symtab.h), unless a report
 * announced few PCs in it (cg_symbolizer_expect).  Names:
 *   - a symbol that contains the PC: its demangled name;
 *   - a PC inside a module but in no symbol: BASENAME+0xOFFSET, where
 *     OFFSET is the ELF virtual address (PC minus load bias; what
 *     `addr2line -e FILE 0xOFFSET` takes) of the start of the function
 *     that holds the PC according to .eh_frame, or of the PC itself when
 *     the unwind tables do not cover it;
 *   - compiler clone suffixes (.constprop.N, .isra.N, .part.N, .cold,
 *     .lto_priv.N, .llvm.N) are cut, so clones count as their function;
 *   - a PC in no module: the name /tmp/perf-PID.map gives it (JIT code of
 *     Node, CPython 3.12+, JVM agents; core/symbols/perfmap.h) with the
 *     file "[jit]"; CPython's "py::qualname:file" names as CodeGuru's
 *     Python agent writes frames ("module:Class:function",
 *     core/symbols/python_names.h) with their file; else "[unknown]" with
 *     no file.
 * Files are full paths; the main program's is /proc/self/exe's target,
 * the vDSO's is "[vdso]".
 *
 * Callers pass PCs already adjusted (pc - 1 for return addresses).
 * Owns: the module list, each module's symbol table, the perf map, and
 * every name it hands out.  Names of ELF code and files stay valid until
 * cg_symbolizer_free (the same function gives the same pointers); JIT
 * names (file "[jit]") stay valid until the second
 * cg_symbolizer_next_generation after they were returned, then may be
 * freed: copy them (the call tree does) to keep them longer.
 * Thread safety: one thread at a time (the agent thread).
 * Signal safety: none; never from a signal handler.
 */
#ifndef CG_SYMBOLIZER_H
#define CG_SYMBOLIZER_H

#include <stddef.h>
#include <stdint.h>

struct cg_symbol {
    const char *name;
    const char *file; /* NULL when unknown */
};

struct cg_perfmap_options;

/* JIT names held in one generation before it is retired. */
#define CG_SYMBOLIZER_JIT_NAME_BUDGET (2u << 20)

struct cg_symbolizer_options {
    size_t cache_budget_bytes; /* per-PC cache bound; 0: 8 MiB */
    const char *debug_root;    /* NULL: /usr/lib/debug */
    size_t jit_name_budget_bytes; /* 0: CG_SYMBOLIZER_JIT_NAME_BUDGET */
    const struct cg_perfmap_options *perfmap; /* copied; NULL: this process's
                                                 map with its defaults */
};

struct cg_symbolizer;

struct cg_symbolizer *cg_symbolizer_new(const struct cg_symbolizer_options *opts);
void cg_symbolizer_free(struct cg_symbolizer *s);

/* Always fills *out (see the name rules above).  Returns 0, or CG_ENOMEM
 * with "[unknown]" in *out. */
int cg_symbolizer_resolve(struct cg_symbolizer *s, uintptr_t pc, struct cg_symbol *out);

/* Most PCs of one module a report may name without loading the module's
 * symbol table. */
#define CG_SYMBOLIZER_FEW_PCS 64

/* Tells the symbolizer that pc will be resolved soon (in this report);
 * then cg_symbolizer_prefetch names the expected PCs.  Loading a module's
 * symbol table costs about a millisecond (libpython, libc's debug file),
 * worth it for a process that reports for hours, not for the one report
 * of a short one: a module whose table is not loaded yet, with up to
 * CG_SYMBOLIZER_FEW_PCS expected PCs, has them named in two passes over
 * its symbols (cg_elf_symtab_find) instead, with the same names.  Its
 * table is loaded when it is asked again (a PC not expected, or any in a
 * later report), as is that of a module with more expected PCs.  Keeps
 * the PCs of such modules only (bounded by CG_SYMBOLIZER_FEW_PCS per
 * module); a PC not expected is named as always.  Cheap for PCs in
 * modules already loaded (a binary search). */
void cg_symbolizer_expect(struct cg_symbolizer *s, uintptr_t pc);

/* Names the PCs expected since the last call (see cg_symbolizer_expect)
 * into the per-PC cache, where cg_symbolizer_resolve finds them. */
void cg_symbolizer_prefetch(struct cg_symbolizer *s);

/* Rescans the modules (libraries loaded or unloaded).  Cached names of
 * modules that are still loaded are kept. */
int cg_symbolizer_refresh(struct cg_symbolizer *s);

/* Ends a generation of JIT names: call when the caller holds no JIT name
 * returned before the previous call.  If this generation's names exceed
 * the budget they become the previous generation, and the generation
 * before that is freed. */
void cg_symbolizer_next_generation(struct cg_symbolizer *s);

size_t cg_symbolizer_bytes(const struct cg_symbolizer *s);

#endif
