/*
 * python_lines.h - the source line of a CPython instruction, decoded from
 * its code object's line table.
 *
 * Given the raw bytes of the table, the code object's co_firstlineno and
 * an instruction's byte offset into its bytecode, returns the line as
 * CPython's own PyCode_Addr2Line of that version would.  Three formats:
 *
 *   3.8, 3.9    co_lnotab: (offset increment, signed line increment)
 *               byte pairs; every offset has a line, the last one running
 *               on past the end of the table.
 *   3.10        co_linetable (PEP 626): (range length, signed line delta)
 *               byte pairs, a delta of -128 meaning "no line"; offsets
 *               past the last range have no line.
 *   3.11+       the location table (PEP 657, CPython's locations.md):
 *               entries of 1..8 code units with a line delta, columns and
 *               a "no location" code.  The offset is in bytes into
 *               co_code_adaptive (two bytes per code unit).
 *
 * Lines below 1 are reported as "no line" (0): 3.11+ gives a module's
 * leading RESUME line 0.  The tables are read strictly within len: a
 * table that is malformed or cut short where the walk reaches gives 0
 * (an earlier offset still gets its line), never a read past the end.
 *
 * Owns: nothing (pure functions over the caller's bytes; no allocation,
 * no global state).
 * Thread safety: any thread, concurrently.
 * Signal safety: they touch only their arguments and the stack, so they
 * are async-signal-safe in fact, but the agent calls them from ordinary
 * threads (the agent thread, when it names frames).
 */
#ifndef CG_PYTHON_LINES_H
#define CG_PYTHON_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which line-table format a code object carries. */
enum cg_py_linetable {
    CG_PY_LNOTAB = 1,       /* 3.8, 3.9: co_lnotab */
    CG_PY_LINETABLE_310,    /* 3.10: co_linetable, PEP 626 */
    CG_PY_LOCATIONS,        /* 3.11+: co_linetable, PEP 657 locations */
};

/* The source line of the instruction at byte_offset, or 0 when it has no
 * line, when its line is below 1, when kind is unknown or when the table
 * is malformed or truncated before the instruction's entry.  table may be
 * NULL when len is 0. */
int cg_py_line_for_offset(enum cg_py_linetable kind, const unsigned char *table, size_t len,
                          int firstlineno, uint32_t byte_offset);

/* The smallest and largest line (>= 1) any instruction maps to, for
 * checking that a line lies inside its function.  False, leaving *min
 * and *max alone, when no instruction has a line or when any part of the
 * table is malformed.  Lines of zero-length ranges (the intermediate
 * steps of a long jump) are not counted; on 3.8 and 3.9 the last line
 * is, since its range runs to the end of the bytecode. */
bool cg_py_line_range(enum cg_py_linetable kind, const unsigned char *table, size_t len,
                      int firstlineno, int *min, int *max);

#endif
