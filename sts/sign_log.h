/*
 * sign_log.h - debug logging of a SigV4 signature's stages.
 *
 * sigv4/ is pure and never logs; its callers (the STS and CodeGuru
 * clients) call this after signing.  At log level debug it writes the
 * canonical request and the string to sign, which is what a user compares
 * with the server's "The canonical String for this request should have
 * been …" message.  The secret, the signing key and the signature are
 * never logged; a session token in a canonical header or query is masked.
 *
 * It also masks free text: a service's error message can echo the
 * canonical request (session token included), an Authorization header or
 * a credentials document, so every quoted service message goes through
 * cg_sign_log_mask_text (sts/aws_request.c masks each one as it is read;
 * `cgagent check` masks what it prints again).
 *
 * It sits in sts/, above sigv4/ (it reads a signing result) and beside
 * its caller, sts/aws_request.c.
 *
 * Owns: nothing; the result is borrowed; masked copies are the caller's.
 * Thread safety: reentrant.
 * Signal safety: none (it logs).
 */
#ifndef CG_SIGN_LOG_H
#define CG_SIGN_LOG_H

#include <stddef.h>

struct sigv4_result;

/* Logs the stages of `r` under the label `what` ("sts AssumeRole").  Does
 * nothing unless debug logging is on. */
void cg_sign_log_debug(const char *what, const struct sigv4_result *r);

/* A malloc'd copy of the free text `s` with every secret replaced by
 * "<redacted>"; NULL when out of memory.  Masked:
 *  - the value after a secret's name and a separator ('=', ':', '>' or
 *    '": "'), names matched case-insensitively where no letter or digit
 *    precedes them: Authorization (to the end of its line or quote),
 *    Signature (and X-Amz-Signature), [X-Amz-]Security-Token,
 *    SessionToken / session_token, SecretAccessKey / secret_access_key,
 *    SecretKey, in -, _ or no-separator spellings;
 *  - with no name, a run of 80 or more base64 or percent-encoded
 *    characters holding letters and digits (a bare session token).
 * The access key id (X-Amz-Credential) is kept: it names the key and is
 * shown by the signing log and `cgagent check` too.  Masking a masked text
 * changes nothing. */
char *cg_sign_log_mask_text(const char *s);

/* cg_sign_log_mask_text(s) copied into dst (cut to `size`, always
 * NUL-terminated when size > 0); without memory, a fixed sentence instead
 * of any of s. */
void cg_sign_log_mask_into(const char *s, char *dst, size_t size);

#endif
