/*
 * ini_file.h - reads an INI file (the agent's config file,
 * core/agent/config.c) through inih, with line numbers and the checks
 * that files we do not own deserve: a size limit, regular files only,
 * over-long lines reported instead of silently cut.  (The AWS shared files
 * have their own reader, sts/aws_config.c: their lines outgrow inih's.)
 *
 * Owns: nothing; each entry is handed to the caller's callback, and its
 * strings are borrowed for that call only.
 * Thread safety: reentrant; no globals.
 * Signal safety: none (it reads files and allocates).
 */
#ifndef CG_INI_FILE_H
#define CG_INI_FILE_H

#include <stddef.h>

/* Called once per "key = value" line, in file order.  `section` is the
 * text inside the last [brackets] ("" before any).  Return 0 to go on, or
 * a negative code to stop; that code is returned by cg_ini_parse_file.
 * Strings are borrowed for the duration of the call. */
typedef int cg_ini_entry_fn(const char *section, const char *key, const char *value,
                            int line, void *ctx);

/* Limits that make a hostile or broken file harmless.  Lines are limited
 * by inih's own buffer (INI_MAX_LINE, 200 bytes in Debian's build); a
 * longer line is an error with its number, never silently cut. */
#define CG_INI_MAX_FILE_BYTES (1024 * 1024)

/* Parses `path`.  Returns 0; CG_ENOTFOUND when the file does not exist;
 * -errno when it cannot be read; CG_EINVAL when it is not a regular file;
 * CG_ETOOBIG when larger than CG_INI_MAX_FILE_BYTES; CG_EPARSE for a
 * syntax error or over-long line, with *error_line set to its number; or
 * the first negative value returned by `fn` (with *error_line set). */
int cg_ini_parse_file(const char *path, cg_ini_entry_fn *fn, void *ctx, int *error_line);

/* The same on text already in memory (tests, embedded defaults). */
int cg_ini_parse_text(const char *text, size_t len, cg_ini_entry_fn *fn, void *ctx,
                      int *error_line);

#endif
