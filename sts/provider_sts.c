/*
 * provider_sts.c - the providers that call STS: web identity (EKS IRSA,
 * profiles with web_identity_token_file) and assume-role (profile role_arn
 * chains and the central-account role).
 */
#include "sts/provider.h"

#include "core/base/error.h"
#include "sts/sts_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A web identity token is at most 20,000 characters (STS model). */
#define MAX_WEB_TOKEN 20000

struct sts_target {
    char *region, *endpoint, *ca_bundle;
    uint32_t max_attempts;
    struct cg_aws_hooks hooks;
    struct cg_aws_client *client; /* made on first use */
};

static int target_init(struct sts_target *t, const struct cg_sts_settings *s)
{
    t->region = strdup(s->region ? s->region : "");
    t->endpoint = strdup(s->endpoint ? s->endpoint : "");
    t->ca_bundle = s->ca_bundle ? strdup(s->ca_bundle) : NULL;
    t->max_attempts = s->max_attempts;
    t->hooks = s->hooks;
    return t->region && t->endpoint && (!s->ca_bundle || t->ca_bundle) ? 0 : CG_ENOMEM;
}

static void target_cleanup(struct sts_target *t)
{
    cg_aws_client_free(t->client);
    free(t->region);
    free(t->endpoint);
    free(t->ca_bundle);
}

static struct cg_aws_client *target_client(struct sts_target *t, char *err, size_t err_size)
{
    if (!t->client) {
        struct cg_aws_client_options o = {
            .service = "sts", .region = t->region, .endpoint = t->endpoint,
            .protocol = CG_AWS_QUERY_XML, .max_attempts = t->max_attempts,
            .ca_bundle = t->ca_bundle, .hooks = t->hooks,
        };
        t->client = cg_aws_client_new(&o);
        if (!t->client)
            snprintf(err, err_size, "cannot reach STS at %s (bad endpoint or no libcurl)",
                     t->endpoint);
    }
    return t->client;
}

/* ---- web identity ---- */

struct web_identity_provider {
    struct cg_provider base;
    struct sts_target sts;
    char *role_arn, *token_file, *session_name;
};

static int web_identity_fetch(struct cg_provider *base, uint64_t deadline_ms,
                              struct cg_credentials *out, char *err, size_t err_size)
{
    struct web_identity_provider *p = (struct web_identity_provider *)base;
    char *token = NULL;
    int rc = cg_read_token_file(p->token_file, MAX_WEB_TOKEN, "web identity token file",
                                &token, err, err_size);
    if (rc != 0)
        return rc;
    struct cg_aws_client *c = target_client(&p->sts, err, err_size);
    if (!c) {
        rc = CG_EINVAL;
    } else {
        rc = cg_sts_assume_role_with_web_identity(c, p->role_arn, p->session_name, token,
                                                  deadline_ms, out, err, err_size);
    }
    explicit_bzero(token, strlen(token));
    free(token);
    return rc;
}

static void web_identity_destroy(struct cg_provider *base)
{
    struct web_identity_provider *p = (struct web_identity_provider *)base;
    target_cleanup(&p->sts);
    free(p->role_arn);
    free(p->token_file);
    free(p->session_name);
    free(p);
}

static const struct cg_provider_ops web_identity_ops = {web_identity_fetch,
                                                        web_identity_destroy};

struct cg_provider *cg_provider_web_identity_new(const struct cg_sts_settings *sts,
                                                 const char *role_arn, const char *token_file,
                                                 const char *session_name)
{
    struct web_identity_provider *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->base.ops = &web_identity_ops;
    p->base.role_session = true;
    int n = asprintf(&p->base.description, "web identity (role %s, token file %s)", role_arn,
                     token_file);
    p->role_arn = strdup(role_arn);
    p->token_file = strdup(token_file);
    p->session_name = strdup(session_name);
    if (n < 0 || target_init(&p->sts, sts) != 0 || !p->role_arn || !p->token_file ||
        !p->session_name) {
        if (n < 0)
            p->base.description = NULL;
        free(p->base.description);
        web_identity_destroy(&p->base);
        return NULL;
    }
    return &p->base;
}

/* ---- assume role ---- */

struct assume_role_provider {
    struct cg_provider base;
    struct sts_target sts;
    struct cg_provider *source;
    char *role_arn, *session_name, *external_id;
    uint32_t duration_s;
};

static int assume_role_fetch(struct cg_provider *base, uint64_t deadline_ms,
                             struct cg_credentials *out, char *err, size_t err_size)
{
    struct assume_role_provider *p = (struct assume_role_provider *)base;
    struct cg_credentials src = {0};
    int rc = cg_provider_fetch(p->source, deadline_ms, &src, err, err_size);
    if (rc != 0)
        return rc;
    struct cg_aws_client *c = target_client(&p->sts, err, err_size);
    if (!c) {
        cg_credentials_clear(&src);
        return CG_EINVAL;
    }
    char caller[512];
    snprintf(caller, sizeof(caller), "access key %s from %s", src.access_key_id,
             p->source->description);
    struct cg_sts_assume_role ar = {
        .role_arn = p->role_arn, .session_name = p->session_name,
        .external_id = p->external_id, .duration_s = p->duration_s, .caller = caller,
    };
    rc = cg_sts_assume_role(c, &src, &ar, deadline_ms, out, err, err_size);
    cg_credentials_clear(&src);
    return rc;
}

static void assume_role_destroy(struct cg_provider *base)
{
    struct assume_role_provider *p = (struct assume_role_provider *)base;
    cg_provider_free(p->source);
    target_cleanup(&p->sts);
    free(p->role_arn);
    free(p->session_name);
    free(p->external_id);
    free(p);
}

static const struct cg_provider_ops assume_role_ops = {assume_role_fetch, assume_role_destroy};

struct cg_provider *cg_provider_assume_role_new(struct cg_provider *source,
                                                const struct cg_sts_settings *sts,
                                                const char *role_arn, const char *session_name,
                                                const char *external_id, uint32_t duration_s)
{
    struct assume_role_provider *p = calloc(1, sizeof(*p));
    if (!p) {
        cg_provider_free(source);
        return NULL;
    }
    p->base.ops = &assume_role_ops;
    p->base.role_session = true;
    p->source = source;
    /* Role chaining (the source is itself a role session) is capped at
     * one hour by STS: asking for more fails with ValidationError. */
    p->duration_s = duration_s;
    if (source && source->role_session && (duration_s == 0 || duration_s > 3600))
        p->duration_s = 3600;
    int n = asprintf(&p->base.description, "role %s assumed with %s", role_arn,
                     source ? source->description : "?");
    p->role_arn = strdup(role_arn);
    p->session_name = strdup(session_name);
    p->external_id = external_id ? strdup(external_id) : NULL;
    if (!source || n < 0 || target_init(&p->sts, sts) != 0 || !p->role_arn ||
        !p->session_name || (external_id && !p->external_id)) {
        if (n < 0)
            p->base.description = NULL;
        free(p->base.description);
        assume_role_destroy(&p->base);
        return NULL;
    }
    return &p->base;
}
