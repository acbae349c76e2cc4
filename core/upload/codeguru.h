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

/* The AgentConfiguration answer; -1 where the service said nothing (or
 * sent something that is not a whole number).  Values are clamped to
 * these ranges (docs/usage.md, "Settings from the service"). */
#define CG_SVC_PERIOD_S_MIN 1
#define CG_SVC_PERIOD_S_MAX 86400             /* as reporting_interval_ms */
#define CG_SVC_SAMPLING_MS_MIN 10
#define CG_SVC_SAMPLING_MS_MAX 60000
#define CG_SVC_MIN_REPORTING_MS_MAX 3600000   /* minimum 0 */
#define CG_SVC_MAX_STACK_DEPTH_MIN 1
#define CG_SVC_MAX_STACK_DEPTH_MAX 10000      /* as max_stack_depth */
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

/* Parses an AgentConfiguration answer (bare or wrapped in
 * "configuration") into *out: whole numbers (JSON integers or decimal
 * strings) clamped to the ranges above with one log line each (WARN the
 * first time a setting is clamped for `*warned`, DEBUG after; NULL: WARN
 * always); fractions and text are ignored with one line.  Returns 0, or -1
 * when the answer is not an AgentConfiguration. */
int cg_codeguru_parse_configuration(const char *body, size_t len,
                                    struct cg_agent_configuration *out, unsigned *warned);

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
