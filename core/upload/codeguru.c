/*
 * codeguru.c - ConfigureAgent and PostAgentProfile (see codeguru.h).
 */
#include "core/upload/codeguru.h"

#include "core/base/error.h"
#include "core/base/log.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cg_codeguru {
    struct cg_aws_client *aws;
    struct cg_cred_cache *creds;
    char *group, *group_path, *region;
    char account[16];
    unsigned clamp_warned; /* settings already clamped once (logged at WARN) */
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

/* The ranges the agent accepts from ConfigureAgent (docs/usage.md,
 * "Settings from the service"); a value outside is clamped to the nearest
 * end, with one log line. */
static const struct setting_range {
    const char *name;
    int64_t lo, hi;
} g_ranges[] = {
    {"periodInSeconds", CG_SVC_PERIOD_S_MIN, CG_SVC_PERIOD_S_MAX},
    {"SamplingIntervalInMilliseconds", CG_SVC_SAMPLING_MS_MIN, CG_SVC_SAMPLING_MS_MAX},
    {"MinimumTimeForReportingInMilliseconds", 0, CG_SVC_MIN_REPORTING_MS_MAX},
    {"MaxStackDepth", CG_SVC_MAX_STACK_DEPTH_MIN, CG_SVC_MAX_STACK_DEPTH_MAX},
};

/* One log line per setting and client: WARN the first time, DEBUG after
 * (ConfigureAgent is asked again after every report). */
static void note_bad(unsigned *warned, size_t which, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note_bad(unsigned *warned, size_t which, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    bool first = !warned || !(*warned & (1u << which));
    if (warned)
        *warned |= 1u << which;
    if (first)
        CG_WARN("CodeGuru Profiler ConfigureAgent: %s", msg);
    else
        CG_DEBUG("CodeGuru Profiler ConfigureAgent: %s", msg);
}

/* A whole number from a JSON integer or a decimal string (agentParameters
 * are strings); beyond int64 saturates.  -1: absent; -2: present but not
 * a whole number. */
static int read_whole(json_t *v, int64_t *out)
{
    if (!v || json_is_null(v))
        return -1;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    const char *text = json_string_value(v);
    if (!text || !*text || strlen(text) > 64)
        return -2;
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (end == text || *end)
        return -2;
    *out = n; /* ERANGE saturates at LLONG_MIN / LLONG_MAX: clamped below */
    return 0;
}

/* Reads setting `which` from `v` into *out, clamped to its range; leaves
 * *out at -1 when absent or not a whole number. */
static void read_setting(json_t *v, size_t which, unsigned *warned, int64_t *out)
{
    const struct setting_range *r = &g_ranges[which];
    int64_t n;
    int rc = read_whole(v, &n);
    if (rc == -2) {
        note_bad(warned, which, "%s is not a whole number; ignored", r->name);
        return;
    }
    if (rc != 0)
        return;
    int64_t c = n < r->lo ? r->lo : n > r->hi ? r->hi : n;
    if (c != n)
        note_bad(warned, which, "%s %lld is outside %lld-%lld; using %lld", r->name,
                 (long long)n, (long long)r->lo, (long long)r->hi, (long long)c);
    *out = c;
}

int cg_codeguru_parse_configuration(const char *body, size_t len,
                                    struct cg_agent_configuration *out, unsigned *warned)
{
    *out = (struct cg_agent_configuration){true, -1, -1, -1, -1};
    json_t *doc = body ? json_loadb(body, len, 0, NULL) : NULL;
    /* Older answers wrap it as {"configuration": {...}}. */
    json_t *conf = json_is_object(json_object_get(doc, "configuration"))
                       ? json_object_get(doc, "configuration")
                       : doc;
    json_t *sp = json_object_get(conf, "shouldProfile");
    if (!json_is_object(conf) || !json_is_boolean(sp)) {
        json_decref(doc);
        return -1;
    }
    out->should_profile = json_is_true(sp);
    read_setting(json_object_get(conf, "periodInSeconds"), 0, warned, &out->period_s);
    json_t *params = json_object_get(conf, "agentParameters");
    if (!json_is_object(params))
        params = NULL;
    read_setting(json_object_get(params, "SamplingIntervalInMilliseconds"), 1, warned,
                 &out->sampling_interval_ms);
    read_setting(json_object_get(params, "MinimumTimeForReportingInMilliseconds"), 2, warned,
                 &out->min_reporting_ms);
    read_setting(json_object_get(params, "MaxStackDepth"), 3, warned, &out->max_stack_depth);
    json_decref(doc);
    return 0;
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
    if (f == CG_CG_OK &&
        cg_codeguru_parse_configuration(r.body, r.body_len, out, &c->clamp_warned) != 0) {
        snprintf(err, err_size,
                 "CodeGuru Profiler ConfigureAgent for group %s: the answer is not an "
                 "AgentConfiguration",
                 c->group);
        f = CG_CG_RETRY_LATER;
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
    /* The service answers 204 No Content.  A 2xx with a body came from
     * something else on the way (a proxy, a captive portal): whether the
     * profile arrived is unknown, so the same bytes go again with the same
     * token, which the service counts once. */
    if (f == CG_CG_OK && r.status != 204 && r.body_len > 0) {
        snprintf(err, err_size,
                 "CodeGuru Profiler PostAgentProfile for group %s (region %s): HTTP %ld with a "
                 "%zu-byte body is not the service's answer (204, empty); the profile is "
                 "posted again",
                 c->group, c->region, r.status, r.body_len);
        f = CG_CG_UNCERTAIN;
    }
    cg_aws_result_cleanup(&r);
    return f;
}
