/*
 * sts_client.h - the two STS actions the agent needs: AssumeRole (signed
 * with the caller's credentials) and AssumeRoleWithWebIdentity (unsigned:
 * the web identity token is the proof).  Query protocol: form-encoded
 * POST to "/", XML answers read with expat (xml_fields.h).
 *
 * Errors become one sentence a person can act on, in `err`: AccessDenied
 * names the role and the caller (the service's own message says who the
 * caller is) and what to fix; ExpiredToken says the base credentials'
 * session expired; RegionDisabledException names the region;
 * ValidationError repeats the service's reason.  The secret and the
 * tokens never appear.
 *
 * Owns: nothing beyond one call; results go into the caller's
 * credentials.
 * Thread safety: as the aws_request client passed in (one thread at a time).
 * Signal safety: none (network).
 */
#ifndef CG_STS_STS_CLIENT_H
#define CG_STS_STS_CLIENT_H

#include "sts/aws_request.h"
#include "sts/credentials.h"

#include <stddef.h>
#include <stdint.h>

struct cg_sts_assume_role {
    const char *role_arn;
    const char *session_name;
    const char *external_id;   /* NULL: none */
    uint32_t duration_s;       /* 0: let STS choose (3600) */
    const char *caller;        /* describes the caller's credentials, for errors */
};

/* Returns 0 and *out (with out->arn, the assumed-role ARN); CG_EAUTH
 * (denied, bad signature, unknown key), CG_EEXPIRED (the caller's session
 * expired), CG_EHTTP (other service errors), CG_ENET, CG_EPARSE (an answer
 * that is not STS's), with a message in err. */
int cg_sts_assume_role(struct cg_aws_client *sts, const struct cg_credentials *caller,
                       const struct cg_sts_assume_role *p, uint64_t deadline_ms,
                       struct cg_credentials *out, char *err, size_t err_size);

int cg_sts_assume_role_with_web_identity(struct cg_aws_client *sts, const char *role_arn,
                                         const char *session_name, const char *token,
                                         uint64_t deadline_ms, struct cg_credentials *out,
                                         char *err, size_t err_size);

/* GetCallerIdentity: the ARN of whoever `caller` belongs to (diagnostics:
 * `cgagent check`).  Returns 0 and a malloc'd *arn, or an error as above. */
int cg_sts_get_caller_identity(struct cg_aws_client *sts, const struct cg_credentials *caller,
                               uint64_t deadline_ms, char **arn, char *err, size_t err_size);

#endif
