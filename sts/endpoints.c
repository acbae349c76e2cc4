/*
 * endpoints.c - service endpoint resolution (see endpoints.h).
 */
#include "sts/endpoints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *cg_env(cg_getenv_fn *getenv_fn, void *ctx, const char *name)
{
    const char *v = getenv_fn ? getenv_fn(name, ctx) : secure_getenv(name);
    return v && *v ? v : NULL;
}

bool cg_env_true(const char *value)
{
    return value && strcasecmp(value, "true") == 0;
}

bool cg_aws_region_valid(const char *region)
{
    size_t n = region ? strlen(region) : 0;
    if (n == 0 || n > 50 || region[0] == '-' || region[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = region[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

char *cg_aws_endpoint(const char *env_suffix, const char *host_prefix, const char *region,
                      cg_getenv_fn *getenv_fn, void *ctx, bool *user_set)
{
    *user_set = false;
    if (!cg_env_true(cg_env(getenv_fn, ctx, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))) {
        char name[64];
        snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_%s", env_suffix);
        const char *v = cg_env(getenv_fn, ctx, name);
        if (!v)
            v = cg_env(getenv_fn, ctx, "AWS_ENDPOINT_URL");
        if (v) {
            *user_set = true;
            return strdup(v);
        }
    }
    if (!cg_aws_region_valid(region))
        return NULL;
    char *url;
    const char *suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
    if (asprintf(&url, "https://%s.%s.%s", host_prefix, region, suffix) < 0)
        return NULL;
    return url;
}
