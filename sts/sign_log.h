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
 * It sits in sts/, above sigv4/ (it reads a signing result) and beside
 * its one caller, sts/aws_request.c.
 *
 * Owns: nothing; the result is borrowed.
 * Thread safety: reentrant.
 * Signal safety: none (it logs).
 */
#ifndef CG_SIGN_LOG_H
#define CG_SIGN_LOG_H

struct sigv4_result;

/* Logs the stages of `r` under the label `what` ("sts AssumeRole").  Does
 * nothing unless debug logging is on. */
void cg_sign_log_debug(const char *what, const struct sigv4_result *r);

#endif
