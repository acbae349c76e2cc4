/*
 * python_names.h - CPython perf-map names as the CodeGuru Profiler Python
 * agent writes its frames.
 *
 * CPython >= 3.12's perf trampoline names each code object
 * "py::<co_qualname>:<co_filename>" in /tmp/perf-PID.map.  The CodeGuru
 * Python agent's frames are "module:Class:function" for methods and
 * "module:function" otherwise, the module being the file path made
 * relative to the sys.path entry that holds it (the longest), its suffix
 * dropped and '/' turned into '.' ("pkg/__init__.py" gives "pkg.__init__",
 * as that agent writes it).
 *
 * Roots (the sys.path we can know without asking the interpreter): the
 * directories given (the script's directory, PYTHONPATH, the working
 * directory for -m/-c), plus, found in the path itself, any
 * ".../site-packages" or ".../dist-packages" directory and the standard
 * library's ".../lib/pythonX.Y".  A file under none of them is named by
 * its base name.  Class: the qualname's component before the function
 * unless that is "<locals>" ("f.<locals>.g" is a function, "A.B.m" is
 * class B's method m); "<lambda>", "<module>", "<genexpr>" stay as they
 * are.  Pseudo-files: "<frozen importlib._bootstrap>" is the module
 * "importlib._bootstrap"; "<string>", "<stdin>" are their own module.
 *
 * Owns: a roots object owns copies of its directories.
 * Thread safety: a roots object is read-only after it is made; any thread.
 * Signal safety: none (allocates).
 */
#ifndef CG_PYTHON_NAMES_H
#define CG_PYTHON_NAMES_H

#include <stdbool.h>
#include <stddef.h>

struct cg_python_roots;

/* Roots from `n` directories (copied; trailing slashes ignored, empty
 * ones skipped).  NULL when out of memory. */
struct cg_python_roots *cg_python_roots_new(const char *const *dirs, size_t n);

/* Roots of this process: the directory of the script in
 * /proc/self/cmdline (or the working directory with -m, -c or no
 * script), then the PYTHONPATH entries.  NULL when out of memory. */
struct cg_python_roots *cg_python_roots_of_process(void);

void cg_python_roots_free(struct cg_python_roots *r);

/* True when `perf_name` is a CPython perf-map name ("py::...:..."). */
bool cg_python_is_perf_name(const char *perf_name);

/* Writes the CodeGuru frame name for `perf_name` into out[cap] (cut at
 * cap - 1 bytes) and points *file / *file_len at the file inside
 * perf_name (not NUL-terminated).  `roots` may be NULL.  Returns 0, or -1
 * when perf_name is not a CPython name. */
int cg_python_frame_name(const struct cg_python_roots *roots, const char *perf_name, char *out,
                         size_t cap, const char **file, size_t *file_len);

#endif
