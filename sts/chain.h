/*
 * chain.h - the default credential chain, in aws-c-auth's order, and the
 * central-account role on top of it.
 *
 * Base credentials, first configured source wins:
 *   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 *      (+ AWS_SESSION_TOKEN);
 *   2. the shared files' profile (AWS_PROFILE, else "default"): role_arn
 *      with source_profile / credential_source / web_identity_token_file,
 *      then credential_process, then static keys;
 *   3. web identity from AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE;
 *   4. container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, else
 *      _FULL_URI with the SDKs' host allow-list);
 *   5. EC2 instance metadata, unless AWS_EC2_METADATA_DISABLED=true.
 * A source that is configured but broken (half a key pair, a profile
 * naming a missing source) is an error, not a reason to try the next one:
 * falling through would silently pick another identity.  Which source was
 * chosen is decided once, without network; the network happens at fetch.
 *
 * With a role ARN (CGAGENT_ROLE_ARN / role_arn) the result is an
 * assume-role provider over the base: AssumeRole on the regional STS
 * endpoint of the profiling group's region (AWS_ENDPOINT_URL_STS
 * overrides), ExternalId when set, DurationSeconds 3600.
 *
 * Owns: the chain it builds owns its provider until the caller takes it
 * (cg_chain_cleanup frees what is left).
 * Thread safety: reentrant (reads the environment through getenv_fn).
 * Signal safety: none.
 */
#ifndef CG_STS_CHAIN_H
#define CG_STS_CHAIN_H

#include "sts/aws_request.h"
#include "sts/endpoints.h"
#include "sts/provider.h"

#include <stddef.h>

struct cg_chain_settings {
    cg_getenv_fn *getenv_fn;      /* NULL: the process environment */
    void *getenv_ctx;
    const char *region;           /* the group's region; NULL: resolve (see below) */
    const char *role_arn;         /* central role; NULL: base credentials only */
    const char *session_name;     /* RoleSessionName for it (and for profile roles) */
    const char *external_id;      /* NULL: none */
    struct cg_aws_hooks hooks;
    const char *home;             /* NULL: $HOME, else the passwd entry */
};

struct cg_chain {
    struct cg_provider *provider; /* what to fetch from (owned) */
    char *region;                 /* region used for STS (may be NULL w/o a role) */
    char *sts_endpoint;           /* NULL when no STS is needed */
    char *base_description;       /* where the base credentials come from */
};

/* Builds the chain.  Returns 0; CG_ENOTFOUND when no source is configured
 * and IMDS is disabled; CG_EINVAL/CG_EPARSE for a broken configuration;
 * with one sentence in err. */
int cg_chain_build(const struct cg_chain_settings *s, struct cg_chain *out, char *err,
                   size_t err_size);

void cg_chain_cleanup(struct cg_chain *chain);

/* The region the SDKs would use when the user gave none for the group:
 * AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region`.  Returns a
 * malloc'd name or NULL. */
char *cg_chain_default_region(cg_getenv_fn *getenv_fn, void *ctx, const char *home);

/* The default RoleSessionName (SPEC §3): "cgagent-<host>-<pid>" with
 * characters outside [A-Za-z0-9_+=,.@-] turned into '-', cut to 64. */
void cg_chain_default_session_name(char *buf, size_t size);

#endif
