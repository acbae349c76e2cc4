/*
 * cred_cache_refresh_test.c - the caching provider's windows, with a fake
 * provider and a fake clock: advisory refresh keeps old credentials on
 * failure, mandatory refresh fetches before answering, failures back off,
 * invalidate forces a fetch.
 */
#include "core/base/error.h"
#include "sts/cred_cache.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

struct fake {
    struct cg_provider base;
    int64_t *clock;
    int64_t lifetime;  /* 0: credentials never expire */
    int fail;          /* fail the next N fetches */
    int fetches;
};

static int fake_fetch(struct cg_provider *p, uint64_t deadline_ms, struct cg_credentials *out,
                      char *err, size_t err_size)
{
    (void)deadline_ms;
    struct fake *f = (struct fake *)p;
    f->fetches++;
    if (f->fail > 0) {
        f->fail--;
        snprintf(err, err_size, "fake: refused");
        return CG_ENET;
    }
    char key[32];
    snprintf(key, sizeof(key), "ASIA%d", f->fetches);
    return cg_credentials_set(out, key, "secret", "token",
                              f->lifetime ? *f->clock + f->lifetime : 0);
}

static void fake_destroy(struct cg_provider *p)
{
    free(p);
}

static const struct cg_provider_ops fake_ops = {fake_fetch, fake_destroy};

static int64_t fake_now(void *ctx)
{
    return *(int64_t *)ctx;
}

static struct fake *new_fake(int64_t *clock, int64_t lifetime)
{
    struct fake *f = calloc(1, sizeof(*f));
    f->base.ops = &fake_ops;
    f->base.description = strdup("fake");
    f->clock = clock;
    f->lifetime = lifetime;
    return f;
}

static void windows(void **state)
{
    (void)state;
    assert_int_equal(cg_cred_cache_advisory_s(3600), 900);
    assert_int_equal(cg_cred_cache_mandatory_s(3600), 300);
    assert_int_equal(cg_cred_cache_advisory_s(21600), 900);
    assert_int_equal(cg_cred_cache_advisory_s(60), 15);
    assert_int_equal(cg_cred_cache_mandatory_s(60), 5);
}

static void get_key(struct cg_cred_cache *c, const char *expect)
{
    struct cg_credentials cr;
    char err[128];
    assert_int_equal(cg_cred_cache_get(c, 0, &cr, err, sizeof(err)), 0);
    assert_string_equal(cr.access_key_id, expect);
    cg_credentials_clear(&cr);
}

static void refresh_schedule(void **state)
{
    (void)state;
    int64_t now = 1000;
    struct fake *f = new_fake(&now, 3600);
    struct cg_aws_hooks hooks = {.now = fake_now, .ctx = &now};
    struct cg_cred_cache *c = cg_cred_cache_new(&f->base, &hooks);
    char err[128];
    get_key(c, "ASIA1");
    get_key(c, "ASIA1"); /* cached */
    assert_int_equal(f->fetches, 1);
    /* Before the advisory window: nothing due. */
    now = 1000 + 3600 - 901;
    assert_int_equal(cg_cred_cache_refresh_if_due(c, 0, err, sizeof(err)), 0);
    /* In it: a failed refresh keeps the old, still-valid credentials... */
    now = 1000 + 3600 - 899;
    f->fail = 1;
    assert_int_equal(cg_cred_cache_refresh_if_due(c, 0, err, sizeof(err)), CG_ENET);
    assert_non_null(strstr(err, "refused"));
    get_key(c, "ASIA1");
    /* ...and is not retried before its backoff. */
    assert_int_equal(cg_cred_cache_refresh_if_due(c, 0, err, sizeof(err)), 0);
    assert_int_equal(f->fetches, 2);
    now += 2;
    assert_int_equal(cg_cred_cache_refresh_if_due(c, 0, err, sizeof(err)), 1);
    get_key(c, "ASIA3");
    int64_t issued = now;
    /* The mandatory window: get() fetches first. */
    now = issued + 3600 - 299;
    get_key(c, "ASIA4");
    /* Expired and the source is down: get() fails, with the reason. */
    now += 3600 + 10;
    f->fail = 100;
    struct cg_credentials cr;
    assert_int_equal(cg_cred_cache_get(c, 0, &cr, err, sizeof(err)), CG_ENET);
    assert_non_null(strstr(err, "refused"));
    int before = f->fetches;
    assert_int_not_equal(cg_cred_cache_get(c, 0, &cr, err, sizeof(err)), 0);
    assert_int_equal(f->fetches, before); /* backing off, not hammering */
    assert_non_null(strstr(err, "next try"));
    cg_cred_cache_free(c);
}

static void mandatory_failure_keeps_still_valid(void **state)
{
    (void)state;
    int64_t now = 0;
    struct fake *f = new_fake(&now, 3600);
    struct cg_aws_hooks hooks = {.now = fake_now, .ctx = &now};
    struct cg_cred_cache *c = cg_cred_cache_new(&f->base, &hooks);
    get_key(c, "ASIA1");
    now = 3600 - 100; /* inside the mandatory window, not expired */
    f->fail = 1;
    get_key(c, "ASIA1");
    cg_cred_cache_free(c);
}

static void long_term_keys_fetched_once(void **state)
{
    (void)state;
    int64_t now = 0;
    struct fake *f = new_fake(&now, 0);
    struct cg_aws_hooks hooks = {.now = fake_now, .ctx = &now};
    struct cg_cred_cache *c = cg_cred_cache_new(&f->base, &hooks);
    char err[128];
    get_key(c, "ASIA1");
    now = 1000000;
    get_key(c, "ASIA1");
    assert_int_equal(cg_cred_cache_refresh_if_due(c, 0, err, sizeof(err)), 0);
    /* The service said the credentials are bad: fetch again. */
    cg_cred_cache_invalidate(c);
    get_key(c, "ASIA2");
    struct cg_cred_cache_stats st;
    cg_cred_cache_stats(c, &st);
    assert_int_equal(st.fetches, 2);
    cg_cred_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(windows),
        cmocka_unit_test(refresh_schedule),
        cmocka_unit_test(mandatory_failure_keeps_still_valid),
        cmocka_unit_test(long_term_keys_fetched_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
