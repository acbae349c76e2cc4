/*
 * check_diagnose.c - `cgagent check`'s doctor: from the one sentence a
 * failed stage produced, name the cause in plain words and the fix.
 *
 * DESIGN: the agent's error sentences are stable (docs/errors.md lists
 * them), so a table of what each one contains maps it to a cause and a
 * fix; the stage that failed and the settings in play fill in the names.
 * Order matters: the specific entries come before the generic network
 * ones.  An error no entry knows still gets a line pointing at
 * docs/errors.md.
 *
 * What it won't do: call anything, or quote a value that could be a
 * secret (it sees only the error sentence and the settings' names).
 */
#include "cli/cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool has(const char *text, const char *needle)
{
    return strcasestr(text, needle) != NULL;
}

/* The quoted region after "Expected '" in a SigV4 scope error, or "". */
static void expected_region(const char *error, char *out, size_t size)
{
    out[0] = '\0';
    const char *p = strstr(error, "Expected '");
    if (!p)
        return;
    p += strlen("Expected '");
    size_t n = strcspn(p, "'");
    if (n < size)
        snprintf(out, size, "%.*s", (int)n, p);
}

void cg_check_diagnose(const char *error, const struct cg_check_context *c, char *cause,
                       size_t cause_size, char *fix, size_t fix_size)
{
    const char *group = c->group ? c->group : "(none)";
    const char *region = c->region ? c->region : "(none)";
    const char *role = c->role_arn ? c->role_arn : "the central role";
    const char *endpoint = c->endpoint ? c->endpoint : "the endpoint";
    char want[64];

    if (has(error, "no AWS credentials")) {
        snprintf(cause, cause_size, "no credentials: no source of the chain is configured "
                 "(environment keys, shared profile, web identity, container, IMDS)");
        snprintf(fix, fix_size, "give the process an identity: an instance profile, task or "
                 "pod role (IRSA, Pod Identity), or AWS_ACCESS_KEY_ID and "
                 "AWS_SECRET_ACCESS_KEY (docs/credentials.md)");
    } else if (has(error, "WebIdentity") && has(error, "expired")) {
        snprintf(cause, cause_size, "expired web identity token: the token in "
                 "AWS_WEB_IDENTITY_TOKEN_FILE is past its expiry");
        snprintf(fix, fix_size, "mount the projected service-account token (IRSA) so the "
                 "kubelet keeps refreshing it, and check the node's clock");
    } else if (has(error, "WebIdentity") && has(error, "InvalidIdentityToken")) {
        snprintf(cause, cause_size, "STS does not accept the web identity token");
        snprintf(fix, fix_size, "check the cluster's OIDC provider in IAM and the role's "
                 "trust policy for this service account");
    } else if (has(error, "hop limit")) {
        snprintf(cause, cause_size, "IMDS hop limit: the IMDSv2 token answer is dropped on the "
                 "way into this container (HttpPutResponseHopLimit is 1)");
        snprintf(fix, fix_size, "aws ec2 modify-instance-metadata-options "
                 "--http-put-response-hop-limit 2 --instance-id ID, or host networking, or a "
                 "task/pod role");
    } else if (has(error, "AssumeRole denied") && c->external_id_set) {
        snprintf(cause, cause_size, "wrong ExternalId: AssumeRole on %s was denied while "
                 "sending CGAGENT_EXTERNAL_ID (or the trust policy does not name the caller)",
                 role);
        snprintf(fix, fix_size, "set CGAGENT_EXTERNAL_ID to the sts:ExternalId of %s's trust "
                 "policy (examples/iam/central-account.json, ExternalId parameter)", role);
    } else if (has(error, "AssumeRole denied")) {
        snprintf(cause, cause_size, "AssumeRole denied: %s does not trust the caller, the "
                 "caller lacks sts:AssumeRole on it, or it requires an ExternalId", role);
        snprintf(fix, fix_size, "name the caller's account or role in %s's trust policy and "
                 "allow sts:AssumeRole on it to the caller "
                 "(examples/iam/central-account.json, examples/iam/app-account.json)", role);
    } else if (has(error, "scoped to a valid region")) {
        expected_region(error, want, sizeof(want));
        snprintf(cause, cause_size, "group in another region: the agent signs for %s but %s "
                 "serves %s", region, endpoint, want[0] ? want : "another region");
        snprintf(fix, fix_size, "set AWS_CODEGURU_PROFILER_TARGET_REGION=%s, or give the group "
                 "as AWS_CODEGURU_PROFILER_GROUP_ARN", want[0] ? want : "(the group's region)");
    } else if (has(error, "does not exist in region")) {
        snprintf(cause, cause_size, "no such profiling group: %s is not in region %s of the "
                 "account the role belongs to", group, region);
        snprintf(fix, fix_size, "create it (aws codeguruprofiler create-profiling-group "
                 "--profiling-group-name %s --region %s) or fix the group name and region",
                 group, region);
    } else if (has(error, "access denied to profiling group")) {
        snprintf(cause, cause_size, "ConfigureAgent denied: the role may not call "
                 "codeguru-profiler on group %s (its policy, or the group's policy)", group);
        snprintf(fix, fix_size, "allow codeguru-profiler:ConfigureAgent and "
                 "codeguru-profiler:PostAgentProfile on the group's ARN to %s "
                 "(examples/iam/central-account.json)", role);
    } else if (has(error, "clock") || has(error, "Signature expired") ||
               has(error, "RequestTimeTooSkewed")) {
        snprintf(cause, cause_size, "clock skew: this host's clock is too far from AWS's");
        snprintf(fix, fix_size, "fix time sync (chrony or systemd-timesyncd; on EC2 the "
                 "Amazon Time Sync Service at 169.254.169.123)");
    } else if (has(error, "SSL") || has(error, "TLS") || has(error, "certificate")) {
        snprintf(cause, cause_size, "TLS failure talking to %s: no TLS handshake, or a "
                 "certificate this host does not trust", endpoint);
        snprintf(fix, fix_size, "check the endpoint URL (https to a plain-http port?), "
                 "AWS_CA_BUNDLE, and any proxy that intercepts TLS");
    } else if (has(error, "Couldn't connect") || has(error, "Could not resolve") ||
               has(error, "unreachable") || has(error, "no answer after") ||
               has(error, "timed out")) {
        snprintf(cause, cause_size, "endpoint unreachable: %s did not answer", endpoint);
        snprintf(fix, fix_size, "check the network path, DNS, HTTPS_PROXY/NO_PROXY and any "
                 "AWS_ENDPOINT_URL_* setting; in a private subnet add VPC endpoints for sts "
                 "and codeguru-profiler");
    } else {
        snprintf(cause, cause_size, "%s failed (see the error line)", c->stage);
        snprintf(fix, fix_size, "look the error up in docs/errors.md");
    }
}

void cg_check_skew_warning(long long offset_s, char *out, size_t size)
{
    snprintf(out, size, "clock skew: this host's clock is %+lld s off AWS's; the agent signs "
             "with the offset, but fix time sync (chrony, systemd-timesyncd)", -offset_s);
}
