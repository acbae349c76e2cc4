/*
 * cred_cache.h - the caching credentials provider: one fetch serves every
 * request until the credentials near their expiry.
 *
 * Windows, for credentials that live L seconds (expiry minus fetch time):
 *   - advisory refresh from min(15 min, L/4) before expiry: the uploader
 *     calls cg_cred_cache_refresh_if_due between requests ("in the
 *     background"); a failure keeps the old, still-valid credentials and
 *     is retried after a backoff;
 *   - mandatory refresh from min(5 min, L/12) before expiry: get() fetches
 *     before answering, and fails when that fetch fails.
 * With STS's usual hour that is T-15 min and T-5 min; with the 60 s
 * sessions of the refresh tests, T-15 s and T-5 s.  Credentials without an
 * expiry (long-term keys) are fetched once.  Failed fetches back off
 * (1 s doubling to 60 s) so a broken source is not hammered; an
 * invalidate() (the service said ExpiredToken) forces the next get() to
 * fetch.
 *
 * Owns: the cache owns the provider and its credentials (wiped on free);
 * get() hands out a copy the caller clears.
 * Thread safety: every function may be called from any thread; fetches
 * are serialised by an internal mutex.
 * Signal safety: none (locks, network).
 */
#ifndef CG_STS_CRED_CACHE_H
#define CG_STS_CRED_CACHE_H

#include "sts/aws_request.h"
#include "sts/credentials.h"
#include "sts/provider.h"

#include <stddef.h>
#include <stdint.h>

struct cg_cred_cache;

/* Takes over `provider`.  hooks.now supplies the clock (NULL: time()). */
struct cg_cred_cache *cg_cred_cache_new(struct cg_provider *provider,
                                        const struct cg_aws_hooks *hooks);
void cg_cred_cache_free(struct cg_cred_cache *c);

/* A copy of valid credentials, fetching when none are cached or the
 * mandatory window has begun.  Returns 0, or the fetch's error with its
 * sentence in err (logged by the caller, who knows the context). */
int cg_cred_cache_get(struct cg_cred_cache *c, uint64_t deadline_ms, struct cg_credentials *out,
                      char *err, size_t err_size);

/* Refreshes when the advisory window has begun (and no backoff is
 * pending).  Returns 1 when it fetched new credentials, 0 when nothing was
 * due, or an error (the old credentials stay). */
int cg_cred_cache_refresh_if_due(struct cg_cred_cache *c, uint64_t deadline_ms, char *err,
                                 size_t err_size);

/* Forgets the cached credentials (the service rejected them). */
void cg_cred_cache_invalidate(struct cg_cred_cache *c);

/* The provider's description ("role X assumed with ..."). */
const char *cg_cred_cache_describe(const struct cg_cred_cache *c);

/* Counters for diagnostics and tests. */
struct cg_cred_cache_stats {
    uint64_t fetches, failures;
    int64_t expiration;     /* of the cached credentials, 0: none/never */
};
void cg_cred_cache_stats(struct cg_cred_cache *c, struct cg_cred_cache_stats *out);

/* The windows, exposed for tests: seconds before expiry. */
int64_t cg_cred_cache_advisory_s(int64_t lifetime_s);
int64_t cg_cred_cache_mandatory_s(int64_t lifetime_s);

#endif
