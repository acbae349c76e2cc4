/*
 * sts_client.c - AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity.
 */
#include "sts/sts_client.h"

#include "core/base/error.h"
#include "sts/xml_fields.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STS_VERSION "2011-06-15"
#define FORM_TYPE "application/x-www-form-urlencoded; charset=utf-8"

/* Appends "&key=encoded(value)" to a growing form. */
static int form_add(char **form, const char *key, const char *value)
{
    char *enc = cg_aws_uri_encode(value);
    if (!enc)
        return CG_ENOMEM;
    char *next;
    int n = asprintf(&next, "%s%s%s=%s", *form ? *form : "", *form ? "&" : "", key, enc);
    explicit_bzero(enc, strlen(enc));
    free(enc);
    if (n < 0)
        return CG_ENOMEM;
    if (*form) {
        explicit_bzero(*form, strlen(*form));
        free(*form);
    }
    *form = next;
    return 0;
}

static void set_err(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
}

/* Turns a failed call into a code and a sentence. */
static int explain(const struct cg_aws_result *r, int rc, const char *action,
                   const char *role_arn, const char *caller, char *err, size_t size)
{
    const char *code = r->error_code, *msg = r->error_message;
    const char *who = caller ? caller : "the base credentials";
    if (rc == CG_ENET || rc == CG_ESTATE) {
        set_err(err, size, "STS %s: no answer after %d attempt%s: %s", action, r->attempts,
                r->attempts == 1 ? "" : "s", msg[0] ? msg : "connection failed");
        return CG_ENET;
    }
    if (rc != CG_EHTTP)
        return rc;
    if (!strcmp(code, "AccessDenied")) {
        set_err(err, size,
                "STS %s denied for role %s (caller: %s): %s. The role's trust policy must "
                "allow the caller's account or role (and the ExternalId, if it requires one), "
                "and the caller needs sts:AssumeRole on the role",
                action, role_arn ? role_arn : "?", who, msg);
        return CG_EAUTH;
    }
    if (!strcmp(code, "ExpiredToken") || !strcmp(code, "ExpiredTokenException")) {
        set_err(err, size, "STS %s: the session token of %s has expired (%s): %s", action, who,
                code, msg);
        return CG_EEXPIRED;
    }
    if (!strcmp(code, "SignatureDoesNotMatch")) {
        set_err(err, size,
                "STS %s: the signature made with %s was refused (SignatureDoesNotMatch): the "
                "secret access key does not belong to that access key id, or the clock is "
                "wrong: %s",
                action, who, msg);
        return CG_EAUTH;
    }
    if (!strcmp(code, "InvalidClientTokenId")) {
        set_err(err, size,
                "STS %s: AWS does not recognise %s (InvalidClientTokenId): the access key id is "
                "unknown or its session token is invalid: %s",
                action, who, msg);
        return CG_EAUTH;
    }
    if (!strcmp(code, "RegionDisabledException")) {
        set_err(err, size,
                "STS %s: STS is not activated in this region (RegionDisabledException): %s. "
                "Activate the region in IAM account settings or choose another region",
                action, msg);
        return CG_EAUTH;
    }
    if (!strcmp(code, "InvalidIdentityToken") || !strcmp(code, "IDPRejectedClaim")) {
        set_err(err, size, "STS %s: the web identity token was rejected (%s): %s", action, code,
                msg);
        return CG_EAUTH;
    }
    if (!strcmp(code, "ValidationError")) {
        set_err(err, size,
                "STS %s for role %s: invalid request (ValidationError): %s (check role_arn, "
                "role_session_name, external_id and duration_seconds)",
                action, role_arn ? role_arn : "?", msg);
        return CG_EINVAL;
    }
    set_err(err, size, "STS %s failed after %d attempt%s: HTTP %ld %s: %s", action, r->attempts,
            r->attempts == 1 ? "" : "s", r->status, code, msg);
    return CG_EHTTP;
}

/* Reads the credentials out of an Assume* answer. */
static int read_credentials(const struct cg_aws_result *r, const char *action,
                            struct cg_credentials *out, char *err, size_t size)
{
    struct cg_xml_field f[] = {
        {"AccessKeyId", NULL}, {"SecretAccessKey", NULL}, {"SessionToken", NULL},
        {"Expiration", NULL},  {"Arn", NULL},
    };
    enum { N = sizeof(f) / sizeof(f[0]) };
    int rc = cg_xml_fields(r->body, r->body_len, f, N);
    if (rc == CG_ENOMEM)
        return rc;
    int64_t expiration = 0;
    if (rc != 0 || !f[0].value || !f[1].value || !f[2].value || !f[3].value ||
        cg_parse_iso8601(f[3].value, &expiration) != 0) {
        set_err(err, size, "STS %s: the answer is not an STS %sResponse with credentials "
                "(HTTP %ld, %zu bytes)", action, action, r->status, r->body_len);
        cg_xml_fields_cleanup(f, N);
        return CG_EPARSE;
    }
    rc = cg_credentials_set(out, f[0].value, f[1].value, f[2].value, expiration);
    if (rc == 0 && f[4].value && !(out->arn = strdup(f[4].value)))
        rc = CG_ENOMEM;
    if (rc == CG_EINVAL)
        set_err(err, size, "STS %s: empty credentials in the answer, or a space, control or "
                "non-ASCII byte in them", action);
    cg_xml_fields_cleanup(f, N);
    if (rc != 0)
        cg_credentials_clear(out);
    return rc;
}

static int post(struct cg_aws_client *sts, const char *action, const char *form,
                const struct cg_credentials *caller, uint64_t deadline_ms,
                struct cg_aws_result *r)
{
    struct cg_aws_call call = {
        .operation = action, .method = "POST", .path = "/",
        .content_type = FORM_TYPE, .body = form, .body_len = strlen(form),
        .credentials = caller, .deadline_ms = deadline_ms,
    };
    return cg_aws_client_call(sts, &call, r);
}

int cg_sts_assume_role(struct cg_aws_client *sts, const struct cg_credentials *caller,
                       const struct cg_sts_assume_role *p, uint64_t deadline_ms,
                       struct cg_credentials *out, char *err, size_t err_size)
{
    char *form = NULL;
    char duration[16];
    snprintf(duration, sizeof(duration), "%u", p->duration_s);
    int rc = form_add(&form, "Action", "AssumeRole");
    if (!rc) rc = form_add(&form, "Version", STS_VERSION);
    if (!rc) rc = form_add(&form, "RoleArn", p->role_arn);
    if (!rc) rc = form_add(&form, "RoleSessionName", p->session_name);
    if (!rc && p->external_id) rc = form_add(&form, "ExternalId", p->external_id);
    if (!rc && p->duration_s) rc = form_add(&form, "DurationSeconds", duration);
    if (rc) {
        free(form);
        return rc;
    }
    struct cg_aws_result r;
    rc = post(sts, "AssumeRole", form, caller, deadline_ms, &r);
    explicit_bzero(form, strlen(form));
    free(form);
    if (rc == 0)
        rc = read_credentials(&r, "AssumeRole", out, err, err_size);
    else
        rc = explain(&r, rc, "AssumeRole", p->role_arn, p->caller, err, err_size);
    cg_aws_result_cleanup(&r);
    return rc;
}

int cg_sts_assume_role_with_web_identity(struct cg_aws_client *sts, const char *role_arn,
                                         const char *session_name, const char *token,
                                         uint64_t deadline_ms, struct cg_credentials *out,
                                         char *err, size_t err_size)
{
    char *form = NULL;
    int rc = form_add(&form, "Action", "AssumeRoleWithWebIdentity");
    if (!rc) rc = form_add(&form, "Version", STS_VERSION);
    if (!rc) rc = form_add(&form, "RoleArn", role_arn);
    if (!rc) rc = form_add(&form, "RoleSessionName", session_name);
    if (!rc) rc = form_add(&form, "WebIdentityToken", token);
    if (rc) {
        if (form) {
            explicit_bzero(form, strlen(form));
            free(form);
        }
        return rc;
    }
    struct cg_aws_result r;
    rc = post(sts, "AssumeRoleWithWebIdentity", form, NULL, deadline_ms, &r);
    explicit_bzero(form, strlen(form));
    free(form);
    if (rc == 0)
        rc = read_credentials(&r, "AssumeRoleWithWebIdentity", out, err, err_size);
    else
        rc = explain(&r, rc, "AssumeRoleWithWebIdentity", role_arn, "the web identity token",
                     err, err_size);
    cg_aws_result_cleanup(&r);
    return rc;
}

int cg_sts_get_caller_identity(struct cg_aws_client *sts, const struct cg_credentials *caller,
                               uint64_t deadline_ms, char **arn, char *err, size_t err_size)
{
    *arn = NULL;
    struct cg_aws_result r;
    int rc = post(sts, "GetCallerIdentity", "Action=GetCallerIdentity&Version=" STS_VERSION,
                  caller, deadline_ms, &r);
    if (rc == 0) {
        struct cg_xml_field f[] = {{"Arn", NULL}};
        rc = cg_xml_fields(r.body, r.body_len, f, 1);
        if (rc == 0 && f[0].value) {
            *arn = f[0].value;
            f[0].value = NULL;
        } else if (rc != CG_ENOMEM) {
            set_err(err, err_size, "STS GetCallerIdentity: unexpected answer");
            rc = CG_EPARSE;
        }
        cg_xml_fields_cleanup(f, 1);
    } else {
        rc = explain(&r, rc, "GetCallerIdentity", NULL, NULL, err, err_size);
    }
    cg_aws_result_cleanup(&r);
    return rc;
}
