/*
 * provider_container.c - ECS task roles and EKS Pod Identity: GET the
 * credentials document from the container agent (reference/aws-auth.md
 * §3.5).  The chain has already checked the URL against the SDKs' host
 * allow-list.
 */
#include "sts/provider.h"

#include "core/base/error.h"
#include "core/base/http.h"
#include "sts/sign_log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ATTEMPTS 3
#define TIMEOUT_MS 2000
#define MAX_TOKEN 16384

struct container_provider {
    struct cg_provider base;
    char *url, *token, *token_file;
    struct cg_http *http;
};

static int container_fetch(struct cg_provider *base, uint64_t deadline_ms,
                           struct cg_credentials *out, char *err, size_t err_size)
{
    struct container_provider *p = (struct container_provider *)base;
    char *token = NULL;
    int rc;
    if (p->token_file) {
        /* EKS rotates the file: read it on every fetch. */
        rc = cg_read_token_file(p->token_file, MAX_TOKEN,
                                "container authorization token file "
                                "(AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)",
                                &token, err, err_size);
        if (rc != 0)
            return rc;
    } else if (p->token && !(token = strdup(p->token))) {
        return CG_ENOMEM;
    }
    if (token && strpbrk(token, "\r\n")) {
        snprintf(err, err_size, "%s: the authorization token contains a line break; refused",
                 base->description);
        rc = CG_EINVAL;
        goto out;
    }
    if (!p->http && !(p->http = cg_http_new(NULL))) {
        snprintf(err, err_size, "%s: no HTTP client (libcurl)", base->description);
        rc = CG_EINVAL;
        goto out;
    }
    struct cg_http_header h[2] = {{"Accept", "application/json"}, {"Authorization", token}};
    struct cg_http_request req = {
        .method = "GET", .url = p->url, .headers = h, .header_count = token ? 2 : 1,
        .connect_timeout_ms = TIMEOUT_MS, .timeout_ms = TIMEOUT_MS, .direct = true,
        .max_response_bytes = 64 * 1024,
    };
    rc = CG_ENET;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
        if (deadline_ms && cg_aws_monotonic_ms() >= deadline_ms)
            break;
        struct cg_http_response r;
        int hrc = cg_http_perform(p->http, &req, &r);
        if (hrc == 0 && r.status == 200) {
            rc = cg_parse_credentials_json(r.body, r.body_len, "Token", false,
                                           base->description, out, err, err_size);
            cg_http_response_cleanup(&r);
            break;
        }
        if (hrc == 0 && r.status >= 400 && r.status < 500) {
            /* Wrong token, unknown path: retrying will not help. */
            const char *msg = NULL;
            json_t *doc = r.body ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
            if (json_is_object(doc))
                msg = json_string_value(json_object_get(doc, "message"));
            char masked[201];
            cg_sign_log_mask_into(msg ? msg : "", masked, sizeof(masked));
            snprintf(err, err_size, "%s: HTTP %ld%s%s%s", base->description, r.status,
                     msg ? ": " : "", masked,
                     r.status == 401 || r.status == 403
                         ? " (check AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE])"
                         : "");
            json_decref(doc);
            cg_http_response_cleanup(&r);
            rc = CG_EAUTH;
            break;
        }
        if (hrc == 0)
            snprintf(err, err_size, "%s: HTTP %ld after %d attempt%s", base->description,
                     r.status, attempt, attempt == 1 ? "" : "s");
        else
            snprintf(err, err_size, "%s: %s after %d attempt%s", base->description, r.error,
                     attempt, attempt == 1 ? "" : "s");
        cg_http_response_cleanup(&r);
        if (hrc == CG_ENOMEM) {
            rc = hrc;
            break;
        }
        if (attempt < ATTEMPTS) {
            struct timespec ts = {1, 0}; /* botocore: 1 s between attempts */
            nanosleep(&ts, NULL);
        }
    }
out:
    if (token) {
        explicit_bzero(token, strlen(token));
        free(token);
    }
    return rc;
}

static void container_destroy(struct cg_provider *base)
{
    struct container_provider *p = (struct container_provider *)base;
    cg_http_free(p->http);
    free(p->url);
    if (p->token) {
        explicit_bzero(p->token, strlen(p->token));
        free(p->token);
    }
    free(p->token_file);
    free(p);
}

static const struct cg_provider_ops container_ops = {container_fetch, container_destroy};

struct cg_provider *cg_provider_container_new(const char *url, const char *token,
                                              const char *token_file)
{
    struct container_provider *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->base.ops = &container_ops;
    p->base.role_session = true;
    int n = asprintf(&p->base.description, "container credentials (%s)", url);
    p->url = strdup(url);
    p->token = token ? strdup(token) : NULL;
    p->token_file = token_file ? strdup(token_file) : NULL;
    if (n < 0 || !p->url || (token && !p->token) || (token_file && !p->token_file)) {
        if (n < 0)
            p->base.description = NULL;
        free(p->base.description);
        container_destroy(&p->base);
        return NULL;
    }
    return &p->base;
}
