/*
 * sign_log_internal.h - the token masking of sign_log.c, for its tests
 * and fuzz target.  Private to sts/.
 *
 * Owns: nothing; the returned copy is the caller's.
 * Thread safety: reentrant.
 * Signal safety: none (it allocates).
 */
#ifndef CG_SIGN_LOG_INTERNAL_H
#define CG_SIGN_LOG_INTERNAL_H

/* A malloc'd copy of s with the value after each "x-amz-security-token:"
 * or "X-Amz-Security-Token=" (to the end of the line or the next '&')
 * replaced by <redacted>; NULL when out of memory. */
char *cg_sign_log_mask(const char *s);

#endif
