/*
 * cred_cache.c - caching and refresh of credentials (see cred_cache.h).
 */
#include "sts/cred_cache.h"

#include "core/base/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_MIN_S 1
#define BACKOFF_MAX_S 60

struct cg_cred_cache {
    pthread_mutex_t lock;
    struct cg_provider *provider;
    struct cg_aws_hooks hooks;
    struct cg_credentials creds;  /* valid when cached */
    bool cached;
    int64_t fetched_at;
    int64_t retry_at;             /* no fetch before (after a failure) */
    int64_t backoff_s;
    uint64_t fetches, failures;
};

static int64_t real_now(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

int64_t cg_cred_cache_advisory_s(int64_t lifetime_s)
{
    int64_t w = lifetime_s / 4;
    return w < 900 ? w : 900;
}

int64_t cg_cred_cache_mandatory_s(int64_t lifetime_s)
{
    int64_t w = lifetime_s / 12;
    return w < 300 ? w : 300;
}

struct cg_cred_cache *cg_cred_cache_new(struct cg_provider *provider,
                                        const struct cg_aws_hooks *hooks)
{
    struct cg_cred_cache *c = calloc(1, sizeof(*c));
    if (!c) {
        cg_provider_free(provider);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->provider = provider;
    if (hooks)
        c->hooks = *hooks;
    if (!c->hooks.now)
        c->hooks.now = real_now;
    return c;
}

void cg_cred_cache_free(struct cg_cred_cache *c)
{
    if (!c)
        return;
    cg_credentials_clear(&c->creds);
    cg_provider_free(c->provider);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

const char *cg_cred_cache_describe(const struct cg_cred_cache *c)
{
    return c->provider->description;
}

/* Seconds before expiry at which a window opens; expiry 0 never does. */
static bool in_window(const struct cg_cred_cache *c, int64_t now, bool mandatory)
{
    if (!c->cached)
        return true;
    if (c->creds.expiration == 0)
        return false;
    int64_t lifetime = c->creds.expiration - c->fetched_at;
    if (lifetime < 0)
        lifetime = 0;
    int64_t w = mandatory ? cg_cred_cache_mandatory_s(lifetime)
                          : cg_cred_cache_advisory_s(lifetime);
    return now >= c->creds.expiration - w;
}

/* Fetches under the lock. */
static int fetch_locked(struct cg_cred_cache *c, int64_t now, uint64_t deadline_ms, char *err,
                        size_t err_size)
{
    struct cg_credentials fresh = {0};
    c->fetches++;
    int rc = cg_provider_fetch(c->provider, deadline_ms, &fresh, err, err_size);
    int64_t after = c->hooks.now(c->hooks.ctx);
    if (rc != 0) {
        c->failures++;
        c->backoff_s = c->backoff_s ? c->backoff_s * 2 : BACKOFF_MIN_S;
        if (c->backoff_s > BACKOFF_MAX_S)
            c->backoff_s = BACKOFF_MAX_S;
        c->retry_at = after + c->backoff_s;
        return rc;
    }
    (void)now;
    cg_credentials_clear(&c->creds);
    c->creds = fresh;
    c->cached = true;
    c->fetched_at = after;
    c->backoff_s = 0;
    c->retry_at = 0;
    return 0;
}

int cg_cred_cache_get(struct cg_cred_cache *c, uint64_t deadline_ms, struct cg_credentials *out,
                      char *err, size_t err_size)
{
    memset(out, 0, sizeof(*out));
    if (err_size)
        err[0] = '\0';
    pthread_mutex_lock(&c->lock);
    int64_t now = c->hooks.now(c->hooks.ctx);
    int rc = 0;
    if (in_window(c, now, true)) {
        bool still_valid = c->cached && (c->creds.expiration == 0 || now < c->creds.expiration);
        if (now < c->retry_at && c->failures) {
            rc = still_valid ? 0 : CG_EAUTH;
            if (rc)
                snprintf(err, err_size, "credentials from %s: the last fetch failed; next try "
                         "in %lld s", c->provider->description,
                         (long long)(c->retry_at - now));
        } else {
            rc = fetch_locked(c, now, deadline_ms, err, err_size);
            if (rc != 0 && still_valid)
                rc = 0; /* refresh failed but the old ones still work: use them */
        }
    }
    if (rc == 0)
        rc = cg_credentials_copy(out, &c->creds);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int cg_cred_cache_refresh_if_due(struct cg_cred_cache *c, uint64_t deadline_ms, char *err,
                                 size_t err_size)
{
    if (err_size)
        err[0] = '\0';
    pthread_mutex_lock(&c->lock);
    int64_t now = c->hooks.now(c->hooks.ctx);
    int rc = 0;
    if (c->cached && in_window(c, now, false) && !(c->failures && now < c->retry_at)) {
        rc = fetch_locked(c, now, deadline_ms, err, err_size);
        if (rc == 0)
            rc = 1;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void cg_cred_cache_invalidate(struct cg_cred_cache *c)
{
    pthread_mutex_lock(&c->lock);
    cg_credentials_clear(&c->creds);
    c->cached = false;
    c->retry_at = 0;
    pthread_mutex_unlock(&c->lock);
}

void cg_cred_cache_stats(struct cg_cred_cache *c, struct cg_cred_cache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    out->fetches = c->fetches;
    out->failures = c->failures;
    out->expiration = c->cached ? c->creds.expiration : 0;
    pthread_mutex_unlock(&c->lock);
}
