/*
 * endpoints.h - where an AWS service is, by the SDKs' rules.
 *
 * Order (reference/aws-auth.md §3.2): AWS_ENDPOINT_URL_<SERVICE>, then
 * AWS_ENDPOINT_URL, then the regional default
 * https://<prefix>.<region>.amazonaws.com (.amazonaws.com.cn in cn-
 * regions); AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true skips the variables.
 * STS is always regional (no dependency on us-east-1, tokens valid in
 * every region).  Plain http:// is accepted only for an endpoint the user
 * set (SPEC §7); a default is always https.
 *
 * Owns: nothing; the URL returned is malloc'd and the caller's.
 * Thread safety: reentrant (reads the environment).
 * Signal safety: none.
 */
#ifndef CG_STS_ENDPOINTS_H
#define CG_STS_ENDPOINTS_H

#include <stdbool.h>

typedef const char *cg_getenv_fn(const char *name, void *ctx);

/* `env_suffix`: "STS", "CODEGURUPROFILER"; `host_prefix`: "sts",
 * "codeguru-profiler".  Returns a malloc'd URL, or NULL when no region is
 * known and no endpoint is set (or out of memory).  *user_set tells
 * whether it came from the environment. */
char *cg_aws_endpoint(const char *env_suffix, const char *host_prefix, const char *region,
                      cg_getenv_fn *getenv_fn, void *ctx, bool *user_set);

/* A region name as AWS writes them: lowercase letters, digits and '-',
 * 1-50 chars, not starting or ending with '-'. */
bool cg_aws_region_valid(const char *region);

/* getenv that treats an empty value as unset, through getenv_fn when it
 * is not NULL, else secure_getenv. */
const char *cg_env(cg_getenv_fn *getenv_fn, void *ctx, const char *name);

/* Case-insensitive "true". */
bool cg_env_true(const char *value);

#endif
