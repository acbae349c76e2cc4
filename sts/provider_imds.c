/*
 * provider_imds.c - EC2 instance profile credentials from the instance
 * metadata service (reference/aws-auth.md §3.4): IMDSv2 session token,
 * role name, credentials; the IMDSv1 fallback only when the token PUT is
 * refused with 403/404/405 or times out, and never with
 * AWS_EC2_METADATA_V1_DISABLED.  Short timeouts: an instance without IMDS
 * (or a laptop) must fall through in about a second.
 */
#include "sts/provider.h"

#include "core/base/error.h"
#include "core/base/http.h"
#include "core/base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TIMEOUT_MS 1000
#define TOKEN_TTL_S 21600
#define CREDS_PATH "/latest/meta-data/iam/security-credentials/"

struct imds_provider {
    struct cg_provider base;
    char *endpoint;
    bool v1_disabled;
    struct cg_http *http;
    char *token;            /* IMDSv2 session token, NULL when none */
    uint64_t token_until_ms;
};

static int get(struct imds_provider *p, const char *method, const char *path,
               const struct cg_http_header *h, size_t nh, struct cg_http_response *r)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", p->endpoint, path);
    struct cg_http_request req = {
        .method = method, .url = url, .headers = h, .header_count = nh,
        .connect_timeout_ms = TIMEOUT_MS, .timeout_ms = TIMEOUT_MS, .direct = true,
        .max_response_bytes = 64 * 1024,
    };
    return cg_http_perform(p->http, &req, r);
}

static void drop_token(struct imds_provider *p)
{
    if (p->token) {
        explicit_bzero(p->token, strlen(p->token));
        free(p->token);
    }
    p->token = NULL;
}

/* Gets an IMDSv2 token.  Returns 0 with p->token set, 1 when v1 may be
 * used instead, or an error. */
static int session_token(struct imds_provider *p, bool *put_timed_out, char *err,
                         size_t err_size)
{
    if (p->token && cg_aws_monotonic_ms() < p->token_until_ms)
        return 0;
    drop_token(p);
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%d", TOKEN_TTL_S);
    struct cg_http_header h = {"X-aws-ec2-metadata-token-ttl-seconds", ttl};
    struct cg_http_response r;
    int rc = get(p, "PUT", "/latest/api/token", &h, 1, &r);
    if (rc == 0 && r.status == 200 && r.body_len > 0 && !strpbrk(r.body, "\r\n")) {
        p->token = r.body;
        r.body = NULL;
        r.body_len = 0;
        p->token_until_ms = cg_aws_monotonic_ms() + (uint64_t)(TOKEN_TTL_S - 60) * 1000u;
        cg_http_response_cleanup(&r);
        return 0;
    }
    if (rc == 0 && (r.status == 403 || r.status == 404 || r.status == 405)) {
        cg_http_response_cleanup(&r);
        return 1;
    }
    if (rc == CG_ENET && r.timed_out) {
        /* The PUT answer may have been dropped by the hop limit (a
         * container behind a bridge): the SDKs try IMDSv1 then. */
        *put_timed_out = true;
        cg_http_response_cleanup(&r);
        return 1;
    }
    if (rc == CG_ENET)
        snprintf(err, err_size, "IMDS at %s is unreachable (%s)", p->endpoint, r.error);
    else
        snprintf(err, err_size, "IMDS at %s refused a session token: HTTP %ld", p->endpoint,
                 r.status);
    cg_http_response_cleanup(&r);
    return rc == CG_ENET ? CG_ENET : CG_EHTTP;
}

static int imds_fetch(struct cg_provider *base, uint64_t deadline_ms, struct cg_credentials *out,
                      char *err, size_t err_size)
{
    (void)deadline_ms; /* each request is bounded by TIMEOUT_MS */
    struct imds_provider *p = (struct imds_provider *)base;
    if (!p->http && !(p->http = cg_http_new(NULL))) {
        snprintf(err, err_size, "IMDS: no HTTP client (libcurl)");
        return CG_EINVAL;
    }
    bool put_timed_out = false;
    int rc = session_token(p, &put_timed_out, err, err_size);
    if (rc < 0)
        return rc;
    if (rc == 1 && p->v1_disabled) {
        snprintf(err, err_size,
                 "IMDS at %s: no IMDSv2 session token (%s) and IMDSv1 is disabled "
                 "(AWS_EC2_METADATA_V1_DISABLED)%s",
                 p->endpoint, put_timed_out ? "the PUT timed out" : "the PUT was refused",
                 put_timed_out ? "; in a container, raise the instance's "
                                 "HttpPutResponseHopLimit to 2"
                               : "");
        return CG_EAUTH;
    }
    struct cg_http_header h = {"X-aws-ec2-metadata-token", p->token};
    size_t nh = p->token ? 1 : 0;

    struct cg_http_response r;
    rc = get(p, "GET", CREDS_PATH, &h, nh, &r);
    if (rc != 0 || r.status != 200 || !r.body) {
        if (rc == 0 && r.status == 401 && put_timed_out)
            snprintf(err, err_size,
                     "IMDS at %s: the IMDSv2 token request timed out and IMDSv1 is refused "
                     "(401). In a container this is the hop limit: set the instance's "
                     "HttpPutResponseHopLimit to 2, use host networking, or use a task/pod role",
                     p->endpoint);
        else if (rc == 0 && r.status == 404)
            snprintf(err, err_size, "IMDS at %s: this instance has no IAM role (instance "
                     "profile) attached", p->endpoint);
        else if (rc == 0 && r.status == 401)
            drop_token(p), snprintf(err, err_size, "IMDS at %s: token refused (401)",
                                    p->endpoint);
        else if (rc == 0)
            snprintf(err, err_size, "IMDS at %s: HTTP %ld for the role name", p->endpoint,
                     r.status);
        else
            snprintf(err, err_size, "IMDS at %s is unreachable (%s)", p->endpoint, r.error);
        cg_http_response_cleanup(&r);
        return rc == 0 ? CG_EAUTH : rc;
    }
    char role[256];
    size_t rl = strcspn(r.body, "\r\n");
    if (rl == 0 || rl >= sizeof(role) || strpbrk(r.body, "/?#%")) {
        snprintf(err, err_size, "IMDS at %s: unexpected role name answer", p->endpoint);
        cg_http_response_cleanup(&r);
        return CG_EPARSE;
    }
    memcpy(role, r.body, rl);
    role[rl] = '\0';
    cg_http_response_cleanup(&r);

    char path[512];
    snprintf(path, sizeof(path), CREDS_PATH "%s", role);
    rc = get(p, "GET", path, &h, nh, &r);
    if (rc != 0 || r.status != 200) {
        if (rc == 0)
            snprintf(err, err_size, "IMDS at %s: HTTP %ld for the credentials of role %s",
                     p->endpoint, r.status, role);
        else
            snprintf(err, err_size, "IMDS at %s: %s", p->endpoint, r.error);
        if (rc == 0 && r.status == 401)
            drop_token(p);
        cg_http_response_cleanup(&r);
        return rc == 0 ? CG_EAUTH : rc;
    }
    char what[320];
    snprintf(what, sizeof(what), "IMDS role %s", role);
    rc = cg_parse_credentials_json(r.body, r.body_len, "Token", true, what, out, err, err_size);
    cg_http_response_cleanup(&r);
    if (rc == 0 && !out->session_token) {
        snprintf(err, err_size, "IMDS role %s: the answer has no Token", role);
        cg_credentials_clear(out);
        return CG_EPARSE;
    }
    /* Name the role in the description from now on. */
    char *desc;
    if (rc == 0 && asprintf(&desc, "EC2 instance metadata (IMDS%s, role %s)",
                            p->token ? "v2" : "v1", role) >= 0) {
        free(base->description);
        base->description = desc;
    }
    return rc;
}

static void imds_destroy(struct cg_provider *base)
{
    struct imds_provider *p = (struct imds_provider *)base;
    drop_token(p);
    cg_http_free(p->http);
    free(p->endpoint);
    free(p);
}

static const struct cg_provider_ops imds_ops = {imds_fetch, imds_destroy};

struct cg_provider *cg_provider_imds_new(const char *endpoint, bool v1_disabled)
{
    struct imds_provider *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->base.ops = &imds_ops;
    p->base.role_session = true;
    size_t n = strlen(endpoint);
    while (n && endpoint[n - 1] == '/')
        n--;
    p->endpoint = strndup(endpoint, n);
    p->v1_disabled = v1_disabled;
    if (asprintf(&p->base.description, "EC2 instance metadata (%s)", endpoint) < 0)
        p->base.description = NULL;
    if (!p->endpoint || !p->base.description) {
        free(p->base.description);
        imds_destroy(&p->base);
        return NULL;
    }
    return &p->base;
}
