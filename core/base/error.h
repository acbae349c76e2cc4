/*
 * error.h - the one error enum of cgagent.
 *
 * Fallible functions return int: 0 on success or a negative CG_E* code
 * (syscall paths may return -errno instead; both are < 0, and the CG_E*
 * codes start far above any errno so the two never collide).  Constructors
 * return NULL.  There is no thread-local "last error".
 *
 * This header is included by every room, from core/base up; its only
 * code is cg_strerror() in core/base/error.c.
 *
 * Owns: the CG_E* codes and their messages.
 * Thread safety: any thread (constants).
 * Signal safety: the enum is plain data; cg_strerror is not for signal
 * handlers (strerrordesc_np may take locale locks).
 */
#ifndef CG_ERROR_H
#define CG_ERROR_H

enum cg_err {
    CG_OK = 0,
    CG_ENOMEM = -10001,    /* allocation failed */
    CG_EINVAL = -10002,    /* bad input from a user or a file (logged) */
    CG_ERANGE = -10003,    /* value out of its documented range */
    CG_EPARSE = -10004,    /* malformed document (JSON, XML, INI, ELF) */
    CG_EIO = -10005,       /* read/write/open failed */
    CG_ENOTFOUND = -10006, /* lookup found nothing (not an error to log) */
    CG_EFULL = -10007,     /* bounded buffer full: caller counts a drop */
    CG_ENET = -10008,      /* connection failed or timed out (retryable) */
    CG_EHTTP = -10009,     /* server answered with an error status */
    CG_EAUTH = -10010,     /* credentials refused or missing */
    CG_ETHROTTLED = -10011,/* server asked us to slow down (retryable) */
    CG_EEXPIRED = -10012,  /* credentials or token expired */
    CG_ESTATE = -10013,    /* called in the wrong state (e.g. stopped) */
    CG_ETOOBIG = -10014,   /* over a documented size limit */
};

/* Short static text for a CG_E* code or a -errno value.  Thread-safe. */
const char *cg_strerror(int err);

#endif
