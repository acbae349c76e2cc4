/*
 * log.h - the agent's logger.
 *
 * One line per event: "cgagent[PID]: LEVEL: message\n", written with a
 * single write(2) to stderr or to the file set by cg_log_set_file(), so
 * lines from threads and processes never interleave mid-line.  Control
 * characters in a message (newline, carriage return, tab, ESC, any byte
 * below 0x20, DEL) are written escaped as \n, \r, \t or \xNN, so a
 * quoted value cannot forge a line or drive a terminal.
 *
 * Owns: the log level and the log file descriptor (process-wide).
 * Thread safety: every function may be called from any thread.
 * Signal safety: none.  The signal handler never logs (STYLE.md §4).
 * Secrets (keys, tokens, signatures) must never be passed in.
 */
#ifndef CG_LOG_H
#define CG_LOG_H

#include <stdbool.h>

enum cg_log_level {
    CG_LOG_ERROR = 0,
    CG_LOG_WARN = 1,  /* default */
    CG_LOG_INFO = 2,
    CG_LOG_DEBUG = 3,
};

/* Parse "error", "warn", "info", "debug" (case-insensitive).
 * Returns 0 and sets *out, or CG_EINVAL. */
int cg_log_level_parse(const char *text, enum cg_log_level *out);

void cg_log_set_level(enum cg_log_level level);
enum cg_log_level cg_log_get_level(void);

/* Called once by the constructor, before the first line: when fd 2 is
 * closed at that moment, lines meant for stderr are dropped for good (a
 * later open() of the program's would get fd 2, and our lines would land
 * in its file).  A log file set by cg_log_set_file still gets them. */
void cg_log_note_stderr_state(void);

/* Send lines to `path` (opened O_APPEND|O_CLOEXEC|O_NOFOLLOW, created with
 * mode 0600, its descriptor moved to the floor: core/base/fd_floor.h), or
 * back to stderr when path is NULL.  Returns 0; -ELOOP when the last
 * component is a symbolic link; CG_EINVAL when it is not a regular file (a
 * directory, FIFO, device); another -errno when it cannot be opened.  On
 * error the logger keeps its previous destination. */
int cg_log_set_file(const char *path);

/* Words for a cg_log_set_file error, for the one line that reports it. */
const char *cg_log_file_problem(int rc);

/* True when a message at `level` would be written (false for every level
 * when lines go to a stderr that was closed at start): use it to skip
 * building expensive debug text. */
bool cg_log_enabled(enum cg_log_level level);

void cg_log(enum cg_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define CG_ERROR(...) cg_log(CG_LOG_ERROR, __VA_ARGS__)
#define CG_WARN(...) cg_log(CG_LOG_WARN, __VA_ARGS__)
#define CG_INFO(...) cg_log(CG_LOG_INFO, __VA_ARGS__)
#define CG_DEBUG(...) cg_log(CG_LOG_DEBUG, __VA_ARGS__)

#endif
