/*
 * credentials.h - one set of AWS credentials, and the small helpers every
 * provider shares: copying, wiping, expiry times.
 *
 * Owns: a struct cg_credentials owns its strings.  cg_credentials_clear
 * overwrites the secret and the token before freeing them (SPEC §7); use it
 * on every copy, including temporaries.  Never log the secret or the token;
 * the access key id is not secret and may appear in messages.
 *
 * Memory: the secret and the token live together in one page-aligned
 * anonymous mapping of their own (`secret_pages`), marked MADV_DONTDUMP,
 * so a core dump of the host program does not carry them (the access key
 * id and the ARN are ordinary heap strings).  Only cg_credentials_set and
 * cg_credentials_copy fill a struct; never assign its strings directly.
 * The struct itself may be moved by assignment (the cache does): the
 * mapping goes with it.  See docs/security.md.
 * Thread safety: plain data; the caching provider (cred_cache.h) is the
 * thread-safe owner.
 * Signal safety: none (it allocates).
 */
#ifndef CG_STS_CREDENTIALS_H
#define CG_STS_CREDENTIALS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct cg_credentials {
    char *access_key_id;
    char *secret_access_key; /* points into secret_pages */
    char *session_token;  /* into secret_pages; NULL for long-term keys */
    int64_t expiration;   /* epoch seconds; 0: does not expire */
    char *arn;            /* who these credentials are, when known (STS), else NULL */
    void *secret_pages;   /* mmap'd, MADV_DONTDUMP, owned; NULL when empty */
    size_t secret_pages_size; /* bytes mapped: whole pages */
};

/* Wipes and frees (unmaps the secret pages).  Safe on a zeroed struct;
 * leaves it zeroed. */
void cg_credentials_clear(struct cg_credentials *c);

/* Deep copy into *dst (cleared first).  Returns 0 or CG_ENOMEM. */
int cg_credentials_copy(struct cg_credentials *dst, const struct cg_credentials *src);

/* Sets the three strings (token may be NULL or "") and the expiry.
 * Returns 0, CG_EINVAL when the key id or secret is missing or empty, or
 * CG_ENOMEM.  *c is cleared first. */
int cg_credentials_set(struct cg_credentials *c, const char *access_key_id,
                       const char *secret_access_key, const char *session_token,
                       int64_t expiration);

/* True when both keys are present. */
bool cg_credentials_valid(const struct cg_credentials *c);

/* True when s (NULL counts as empty) can go into a request header as it
 * is: printable ASCII, no space.  Keys, secrets and session tokens are
 * made of such bytes; anything else from an endpoint, a file or the
 * environment would let a CR/LF inject a header into the signed request,
 * and is refused with a message by every source. */
bool cg_credentials_header_safe(const char *s);

/* Parses an ISO 8601 UTC time as AWS writes it: "2026-11-24T20:02:40Z",
 * with optional fractional seconds ("...40.914643Z") or a "+00:00"
 * offset.  Returns 0 and *epoch, or CG_EPARSE. */
int cg_parse_iso8601(const char *text, int64_t *epoch);

/* Parses an RFC 1123 HTTP date, "Tue, 24 Nov 2026 19:47:40 GMT".
 * Returns 0 and *epoch, or CG_EPARSE. */
int cg_parse_http_date(const char *text, int64_t *epoch);

/* Formats epoch seconds as "2026-11-24T20:02:40Z" into buf (>= 21 bytes). */
void cg_format_iso8601(int64_t epoch, char *buf, size_t size);

#endif
