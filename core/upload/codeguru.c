/*
 * codeguru.c - ConfigureAgent and PostAgentProfile (see codeguru.h).
 */
#include "core/upload/codeguru.h"

#include "core/base/error.h"
#include "core/base/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cg_codeguru {
    struct cg_aws_client *aws;
    struct cg_cred_cache *creds;
    char *group, *group_path, *region;
    char account[16];
};

struct cg_codeguru *cg_codeguru_new(const struct cg_codeguru_options *o)
{
    struct cg_codeguru *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    struct cg_aws_client_options ao = {
        .service = "codeguru-profiler", .region = o->region, .endpoint = o->endpoint,
        .protocol = CG_AWS_REST_JSON, .max_attempts = o->max_attempts,
        .ca_bundle = o->ca_bundle, .hooks = o->hooks,
    };
    c->aws = cg_aws_client_new(&ao);
    c->creds = o->creds;
    c->group = strdup(o->group);
    c->region = strdup(o->region);
    char *enc = cg_aws_uri_encode(o->group);
    if (enc && asprintf(&c->group_path, "/profilingGroups/%s", enc) < 0)
        c->group_path = NULL;
    free(enc);
    if (!c->aws || !c->group || !c->region || !c->group_path) {
        cg_codeguru_free(c);
        return NULL;
    }
    return c;
}

void cg_codeguru_free(struct cg_codeguru *c)
{
    if (!c)
        return;
    cg_aws_client_free(c->aws);
    free(c->group);
    free(c->group_path);
    free(c->region);
    free(c);
}

const char *cg_codeguru_account(const struct cg_codeguru *c)
{
    return c->account;
}

/* arn:aws:sts::ACCOUNT:assumed-role/... -> ACCOUNT */
static void note_account(struct cg_codeguru *c, const struct cg_credentials *cr)
{
    if (!cr->arn)
        return;
    const char *p = cr->arn;
    for (int i = 0; i < 4 && p; i++) {
        p = strchr(p, ':');
        if (p)
            p++;
    }
    if (!p)
        return;
    size_t n = strcspn(p, ":");
    if (n > 0 && n < sizeof(c->account)) {
        memcpy(c->account, p, n);
        c->account[n] = '\0';
    }
}

static bool credentials_rejected(const struct cg_aws_result *r)
{
    const char *code = r->error_code;
    return !strcmp(code, "ExpiredTokenException") || !strcmp(code, "ExpiredToken") ||
           !strcmp(code, "UnrecognizedClientException") ||
           (!strcmp(code, "InvalidSignatureException") &&
            !cg_aws_is_skew_error(code, r->error_message));
}

static enum cg_codeguru_failure call(struct cg_codeguru *c, const char *operation,
                                     const char *path, const char *query, const char *body,
                                     size_t len, uint64_t deadline_ms, struct cg_aws_result *r,
                                     char *err, size_t err_size)
{
    memset(r, 0, sizeof(*r));
    for (int round = 0; round < 2; round++) {
        struct cg_credentials cr;
        char cerr[768];
        if (cg_cred_cache_get(c->creds, deadline_ms, &cr, cerr, sizeof(cerr)) != 0) {
            snprintf(err, err_size, "no credentials for CodeGuru Profiler %s: %s", operation,
                     cerr);
            return CG_CG_CREDENTIALS;
        }
        note_account(c, &cr);
        struct cg_aws_call ac = {
            .operation = operation, .method = "POST", .path = path, .query = query,
            .content_type = "application/json", .body = body, .body_len = len,
            .credentials = &cr, .deadline_ms = deadline_ms,
        };
        cg_aws_result_cleanup(r);
        int rc = cg_aws_client_call(c->aws, &ac, r);
        cg_credentials_clear(&cr);
        if (rc == 0)
            return CG_CG_OK;
        if (rc == CG_EHTTP && round == 0 && credentials_rejected(r)) {
            CG_INFO("CodeGuru Profiler %s: credentials rejected (%s); fetching new ones",
                    operation, r->error_code);
            cg_cred_cache_invalidate(c->creds);
            continue;
        }
        const char *account = c->account[0] ? c->account : "unknown";
        if (rc == CG_ENET || rc == CG_ESTATE) {
            snprintf(err, err_size,
                     "CodeGuru Profiler %s for group %s (region %s): no answer after %d "
                     "attempt%s: %s",
                     operation, c->group, c->region, r->attempts, r->attempts == 1 ? "" : "s",
                     r->error_message);
            return CG_CG_UNCERTAIN;
        }
        const char *code = r->error_code;
        if (!strcmp(code, "ResourceNotFoundException")) {
            snprintf(err, err_size,
                     "CodeGuru Profiler: profiling group %s does not exist in region %s of "
                     "account %s (%s); create it there or fix the group name/region",
                     c->group, c->region, account, r->error_message);
            return CG_CG_SETUP;
        }
        if (!strcmp(code, "AccessDeniedException") || !strcmp(code, "AccessDenied")) {
            snprintf(err, err_size,
                     "CodeGuru Profiler: access denied to profiling group %s in region %s of "
                     "account %s: the role needs codeguru-profiler:%s on "
                     "arn:aws:codeguru-profiler:%s:%s:profilingGroup/%s (%s)",
                     c->group, c->region, account, operation, c->region, account, c->group,
                     r->error_message);
            return CG_CG_SETUP;
        }
        if (!strcmp(code, "ValidationException")) {
            snprintf(err, err_size,
                     "CodeGuru Profiler %s for group %s (region %s, account %s) was refused as "
                     "invalid: %s",
                     operation, c->group, c->region, account, r->error_message);
            return CG_CG_SETUP;
        }
        snprintf(err, err_size,
                 "CodeGuru Profiler %s for group %s (region %s, account %s) failed after %d "
                 "attempt%s: HTTP %ld %s%s%s",
                 operation, c->group, c->region, account, r->attempts,
                 r->attempts == 1 ? "" : "s", r->status, code, r->error_message[0] ? ": " : "",
                 r->error_message);
        return credentials_rejected(r) ? CG_CG_CREDENTIALS : CG_CG_RETRY_LATER;
    }
    return CG_CG_CREDENTIALS;
}

static int64_t param_int(json_t *params, const char *key)
{
    const char *v = json_string_value(json_object_get(params, key));
    if (!v)
        return -1;
    char *end;
    long long n = strtoll(v, &end, 10);
    return (*end || n < 0) ? -1 : (int64_t)n;
}

enum cg_codeguru_failure cg_codeguru_configure_agent(struct cg_codeguru *c, const char *fleet_id,
                                                     const char *agent_id, uint64_t deadline_ms,
                                                     struct cg_agent_configuration *out,
                                                     char *err, size_t err_size)
{
    *out = (struct cg_agent_configuration){true, -1, -1, -1, -1};
    json_t *body = json_pack("{s:s, s:{s:s}}", "fleetInstanceId", fleet_id, "metadata", "AgentId",
                             agent_id);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return CG_CG_RETRY_LATER;
    char path[600];
    snprintf(path, sizeof(path), "%s/configureAgent", c->group_path);
    struct cg_aws_result r;
    enum cg_codeguru_failure f = call(c, "ConfigureAgent", path, NULL, text, strlen(text),
                                      deadline_ms, &r, err, err_size);
    free(text);
    if (f == CG_CG_OK) {
        json_t *doc = r.body ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
        /* Older answers wrap it as {"configuration": {...}}. */
        json_t *conf = json_is_object(json_object_get(doc, "configuration"))
                           ? json_object_get(doc, "configuration")
                           : doc;
        json_t *sp = json_object_get(conf, "shouldProfile");
        if (!json_is_object(conf) || !json_is_boolean(sp)) {
            snprintf(err, err_size,
                     "CodeGuru Profiler ConfigureAgent for group %s: the answer is not an "
                     "AgentConfiguration",
                     c->group);
            f = CG_CG_RETRY_LATER;
        } else {
            out->should_profile = json_is_true(sp);
            json_t *period = json_object_get(conf, "periodInSeconds");
            if (json_is_integer(period) && json_integer_value(period) > 0)
                out->period_s = json_integer_value(period);
            json_t *params = json_object_get(conf, "agentParameters");
            out->sampling_interval_ms = param_int(params, "SamplingIntervalInMilliseconds");
            out->min_reporting_ms = param_int(params, "MinimumTimeForReportingInMilliseconds");
            out->max_stack_depth = param_int(params, "MaxStackDepth");
        }
        json_decref(doc);
    }
    cg_aws_result_cleanup(&r);
    return f;
}

enum cg_codeguru_failure cg_codeguru_post_profile(struct cg_codeguru *c, const char *token,
                                                  const char *doc, size_t len,
                                                  uint64_t deadline_ms, char *err,
                                                  size_t err_size)
{
    char path[600], query[128];
    snprintf(path, sizeof(path), "%s/agentProfile", c->group_path);
    snprintf(query, sizeof(query), "profileToken=%s", token);
    struct cg_aws_result r;
    enum cg_codeguru_failure f = call(c, "PostAgentProfile", path, query, doc, len, deadline_ms,
                                      &r, err, err_size);
    cg_aws_result_cleanup(&r);
    return f;
}
