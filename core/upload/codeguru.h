/*
 * codeguru.h - the CodeGuru Profiler client: ConfigureAgent and
 * PostAgentProfile (SPEC §5), signed with credentials from the caching
 * provider, retried in standard mode by sts/aws_request.
 *
 * Credentials the service rejects as expired or unknown
 * (ExpiredTokenException, UnrecognizedClientException, a non-skew
 * InvalidSignatureException) are dropped from the cache, fetched again and
 * the call is made once more.
 *
 * Owns: the client owns its HTTP connection; the credential cache is
 * borrowed.
 * Thread safety: one thread (the upload thread).
 * Signal safety: none (network, allocation).
 */
#ifndef CG_CODEGURU_H
#define CG_CODEGURU_H

#include "sts/aws_request.h"
#include "sts/cred_cache.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cg_codeguru;

struct cg_codeguru_options {
    const char *endpoint;        /* full URL */
    const char *region;
    const char *group;           /* profiling group name */
    struct cg_cred_cache *creds; /* borrowed */
    const char *ca_bundle;
    uint32_t max_attempts;       /* 0: 3 */
    struct cg_aws_hooks hooks;
};

/* The AgentConfiguration answer; -1 / false where the service said nothing. */
struct cg_agent_configuration {
    bool should_profile;
    int64_t period_s;
    int64_t sampling_interval_ms;   /* agentParameters.SamplingIntervalInMilliseconds */
    int64_t min_reporting_ms;       /* MinimumTimeForReportingInMilliseconds */
    int64_t max_stack_depth;        /* MaxStackDepth */
};

/* What a failed call means for the uploader. */
enum cg_codeguru_failure {
    CG_CG_OK = 0,
    CG_CG_RETRY_LATER,   /* 5xx/429/throttling: the service did not take it */
    CG_CG_UNCERTAIN,     /* no answer: the service may have taken it */
    CG_CG_SETUP,         /* ResourceNotFound, AccessDenied, Validation: needs a person */
    CG_CG_CREDENTIALS,   /* no credentials could be had */
};

struct cg_codeguru *cg_codeguru_new(const struct cg_codeguru_options *opts);
void cg_codeguru_free(struct cg_codeguru *c);

/* Fills *out.  Returns 0 or a failure kind, with one sentence in err
 * (naming group, region, account and the IAM action for SETUP). */
enum cg_codeguru_failure cg_codeguru_configure_agent(struct cg_codeguru *c, const char *fleet_id,
                                                     const char *agent_id, uint64_t deadline_ms,
                                                     struct cg_agent_configuration *out,
                                                     char *err, size_t err_size);

/* Posts one document with its profileToken (the same token on every
 * retry of the same profile). */
enum cg_codeguru_failure cg_codeguru_post_profile(struct cg_codeguru *c, const char *token,
                                                  const char *doc, size_t len,
                                                  uint64_t deadline_ms, char *err,
                                                  size_t err_size);

/* The account of the credentials last used (from the assumed-role ARN),
 * for messages; "" when unknown. */
const char *cg_codeguru_account(const struct cg_codeguru *c);

#endif
