/*
 * check.c - `cgagent check`: resolve the configuration and the
 * credentials exactly as the agent would, and say what was found.
 *
 *   cgagent check [--group G] [--role-arn ARN] [--region R] [--no-identity]
 *
 * Prints the profiling group and region, which provider supplied the base
 * credentials (and, through STS GetCallerIdentity, whose they are), the
 * role and the assumed-role ARN, the access key id and expiry; never a
 * secret or a token.  Exit status 0 when credentials were obtained (and
 * the role assumed, if one is set), 1 with one "error:" line otherwise.
 */
#include "cli/cli.h"

#include "core/agent/config.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "sts/aws_request.h"
#include "sts/chain.h"
#include "sts/cred_cache.h"
#include "sts/sts_client.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void check_usage(FILE *out)
{
    fputs("usage: cgagent check [--group G] [--role-arn ARN] [--region R] [--no-identity]\n",
          out);
}

static int set_override(char **field, const char *value)
{
    free(*field);
    *field = strdup(value);
    return *field ? 0 : -1;
}

static void print_expiry(const char *label, int64_t expiration)
{
    if (!expiration) {
        printf("%-20s never (long-term keys)\n", label);
        return;
    }
    char iso[32];
    cg_format_iso8601(expiration, iso, sizeof(iso));
    long long left = (long long)(expiration - (int64_t)time(NULL));
    printf("%-20s %s (in %lld min %lld s)\n", label, iso, left / 60, left % 60);
}

/* GetCallerIdentity with `creds` on `endpoint`; prints the ARN or why not. */
static void print_identity(const char *label, const struct cg_chain *chain,
                           const struct cg_credentials *creds)
{
    if (!chain->sts_endpoint) {
        printf("%-20s (unknown: no region for STS)\n", label);
        return;
    }
    struct cg_aws_client_options o = {
        .service = "sts", .region = chain->region ? chain->region : "us-east-1",
        .endpoint = chain->sts_endpoint, .protocol = CG_AWS_QUERY_XML,
        .ca_bundle = secure_getenv("AWS_CA_BUNDLE"),
    };
    struct cg_aws_client *c = cg_aws_client_new(&o);
    char err[1024] = "", *arn = NULL;
    int rc = c ? cg_sts_get_caller_identity(c, creds, cg_aws_monotonic_ms() + 15000, &arn, err,
                                            sizeof(err))
               : CG_EINVAL;
    if (rc == 0)
        printf("%-20s %s\n", label, arn);
    else
        printf("%-20s (unknown: %s)\n", label, err[0] ? err : "no STS client");
    free(arn);
    cg_aws_client_free(c);
}

int cg_cli_check(int argc, char **argv)
{
    const char *group = NULL, *role = NULL, *region = NULL;
    bool identity = true;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--group") && i + 1 < argc)
            group = argv[++i];
        else if (!strcmp(argv[i], "--role-arn") && i + 1 < argc)
            role = argv[++i];
        else if (!strcmp(argv[i], "--region") && i + 1 < argc)
            region = argv[++i];
        else if (!strcmp(argv[i], "--no-identity"))
            identity = false;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            check_usage(stdout);
            return 0;
        } else {
            check_usage(stderr);
            return 2;
        }
    }
    /* Problems are printed as the result; the log shows only warnings. */
    struct cg_config cfg;
    struct cg_config_source src = {.exe_name = "cgagent", .argv0_name = "cgagent"};
    if (cg_config_load(&cfg, &src) != 0) {
        printf("error: the configuration is invalid (see the line above)\n");
        return 1;
    }
    cg_log_set_level(cfg.log_level);
    if ((group && set_override(&cfg.profiling_group, group)) ||
        (role && set_override(&cfg.role_arn, role)) ||
        (region && set_override(&cfg.region, region))) {
        cg_config_cleanup(&cfg);
        return 1;
    }
    char session[80];
    if (cfg.role_session_name)
        snprintf(session, sizeof(session), "%s", cfg.role_session_name);
    else
        cg_chain_default_session_name(session, sizeof(session));

    struct cg_chain_settings s = {
        .region = cfg.region, .role_arn = cfg.role_arn, .session_name = session,
        .external_id = cfg.external_id,
    };
    struct cg_chain chain;
    char err[1024];
    int status = 1;
    if (cg_chain_build(&s, &chain, err, sizeof(err)) != 0) {
        printf("error: %s\n", err);
        cg_config_cleanup(&cfg);
        return 1;
    }
    printf("%-20s %s\n", "profiling group:",
           cfg.profiling_group ? cfg.profiling_group : "(none: local profiles only)");
    printf("%-20s %s\n", "region:", chain.region ? chain.region : "(none)");
    if (chain.sts_endpoint)
        printf("%-20s %s\n", "STS endpoint:", chain.sts_endpoint);

    /* Base credentials on their own, for their identity. */
    if (cfg.role_arn && identity) {
        struct cg_chain_settings bs = s;
        bs.role_arn = NULL;
        struct cg_chain base;
        if (cg_chain_build(&bs, &base, err, sizeof(err)) == 0) {
            struct cg_credentials bc;
            if (cg_provider_fetch(base.provider, cg_aws_monotonic_ms() + 30000, &bc, err,
                                  sizeof(err)) == 0) {
                /* After the fetch: IMDS names its role only then. */
                printf("%-20s %s\n", "credentials from:", base.provider->description);
                print_identity("base identity:", &chain, &bc);
                cg_credentials_clear(&bc);
            } else {
                printf("error: %s\n", err);
                cg_chain_cleanup(&base);
                goto out;
            }
            cg_chain_cleanup(&base);
        }
    }

    struct cg_cred_cache *cache = cg_cred_cache_new(chain.provider, NULL);
    chain.provider = NULL;
    struct cg_credentials creds;
    if (!cache) {
        printf("error: out of memory\n");
        goto out;
    }
    if (cg_cred_cache_get(cache, cg_aws_monotonic_ms() + 30000, &creds, err, sizeof(err)) != 0) {
        printf("error: %s\n", err);
        cg_cred_cache_free(cache);
        goto out;
    }
    if (!cfg.role_arn || !identity)
        printf("%-20s %s\n", "credentials from:",
               cfg.role_arn ? chain.base_description : cg_cred_cache_describe(cache));
    if (cfg.role_arn) {
        printf("%-20s %s\n", "role:", cfg.role_arn);
        printf("%-20s %s\n", "assumed role:", creds.arn ? creds.arn : "(unknown)");
        printf("%-20s %s\n", "session name:", session);
    } else if (identity) {
        print_identity("identity:", &chain, &creds);
    }
    printf("%-20s %s\n", "access key id:", creds.access_key_id);
    print_expiry("expires:", creds.expiration);
    cg_credentials_clear(&creds);
    cg_cred_cache_free(cache);
    printf("result: OK\n");
    status = 0;
out:
    cg_chain_cleanup(&chain);
    cg_config_cleanup(&cfg);
    return status;
}
