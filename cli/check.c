/*
 * check.c - `cgagent check`, the doctor: resolve the configuration and
 * the credentials exactly as the agent would, ask CodeGuru Profiler's
 * ConfigureAgent for the group, and say what was found.
 *
 *   cgagent check [--group G] [--role-arn ARN] [--region R] [--program NAME]
 *                 [--no-identity] [--json]
 *
 * Prints each setting's effective value and where it came from (env,
 * [process NAME], [default], built-in, command line), which provider
 * supplied the base credentials (and, through STS GetCallerIdentity, whose
 * they are), the role and the assumed-role ARN, the access key id and
 * expiry, and ConfigureAgent's answer; never a secret or a token.  No
 * profile is posted.  Exit status 0 when every stage worked, 1 with an
 * "error:" line and a "cause: …; fix: …" line (check_diagnose.c)
 * otherwise.  --json prints the same as one JSON object.
 *
 * DESIGN: every result goes through field(), which prints a text line at
 * once or adds to the JSON object printed at the end, so the two outputs
 * cannot drift apart.  Every value printed is escaped (check_text.c):
 * values come from the environment, config files and endpoints, and one
 * holding "\r\nresult: OK" or a terminal escape must not forge a line or
 * drive the terminal.  The error sentence, which quotes service messages,
 * is masked again (sts/sign_log.h) before it is shown or diagnosed.
 */
#include "cli/cli.h"

#include "core/agent/config.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "core/base/uuid.h"
#include "core/upload/codeguru.h"
#include "sts/aws_request.h"
#include "sts/chain.h"
#include "sts/cred_cache.h"
#include "sts/endpoints.h"
#include "sts/sign_log.h"
#include "sts/sts_client.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SETTINGS 64
#define SKEW_WARN_S 300

struct out {
    json_t *root; /* NULL: text mode */
    const char *section; /* JSON object the next fields go to (NULL: root) */
};

static void field(struct out *o, const char *key, const char *label, const char *fmt, ...)
{
    char value[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    if (!o->root) {
        printf("%-20s ", label);
        cg_check_print(stdout, value);
        putchar('\n');
        return;
    }
    json_t *obj = o->root;
    if (o->section) {
        obj = json_object_get(o->root, o->section);
        if (!obj) {
            obj = json_object();
            json_object_set_new(o->root, o->section, obj);
        }
    }
    json_object_set_new(obj, key, cg_check_json_string(value));
}

static void check_usage(FILE *out)
{
    fputs("usage: cgagent check [--group G] [--role-arn ARN] [--region R] [--program NAME]\n"
          "                     [--no-identity] [--json]\n",
          out);
}

static int set_override(char **field_p, const char *value)
{
    free(*field_p);
    *field_p = strdup(value);
    return *field_p ? 0 : -1;
}

static void on_value(size_t index, const char *origin, void *ctx)
{
    char **origins = ctx;
    if (index >= MAX_SETTINGS)
        return;
    free(origins[index]);
    origins[index] = strdup(origin);
}

static void print_settings(struct out *o, const struct cg_config *cfg, char **origins)
{
    json_t *arr = o->root ? json_object() : NULL;
    if (!o->root)
        printf("settings (value, then where it came from):\n");
    for (size_t i = 0; i < cg_config_setting_count() && i < MAX_SETTINGS; i++) {
        char value[1024];
        cg_config_setting_format(cfg, i, value, sizeof(value));
        const char *from = origins[i] ? origins[i] : "built-in";
        if (arr) {
            json_t *s = json_object();
            json_object_set_new(s, "value", cg_check_json_string(value));
            json_object_set_new(s, "source", cg_check_json_string(from));
            json_object_set_new(s, "env", json_string(cg_config_setting_env(i)));
            json_object_set_new(arr, cg_config_setting_key(i), s);
        } else {
            char *v = cg_check_escape(value[0] ? value : "(unset)");
            char *f = cg_check_escape(from);
            printf("  %-22s = %-40s [%s]\n", cg_config_setting_key(i), v ? v : "?",
                   f ? f : "?");
            free(v);
            free(f);
        }
    }
    if (arr)
        json_object_set_new(o->root, "settings", arr);
}

static void print_expiry(struct out *o, int64_t expiration)
{
    if (!expiration) {
        field(o, "expires", "expires:", "never (long-term keys)");
        return;
    }
    char iso[32];
    cg_format_iso8601(expiration, iso, sizeof(iso));
    long long left = (long long)(expiration - (int64_t)time(NULL));
    field(o, "expires", "expires:", "%s (in %lld min %lld s)", iso, left / 60, left % 60);
}

/* GetCallerIdentity with `creds`; prints the ARN or why not. */
static void print_identity(struct out *o, const char *key, const char *label,
                           const struct cg_chain *chain, const struct cg_credentials *creds)
{
    if (!chain->sts_endpoint) {
        field(o, key, label, "(unknown: no region for STS)");
        return;
    }
    struct cg_aws_client_options opt = {
        .service = "sts", .region = chain->region ? chain->region : "us-east-1",
        .endpoint = chain->sts_endpoint, .protocol = CG_AWS_QUERY_XML,
        .ca_bundle = secure_getenv("AWS_CA_BUNDLE"),
    };
    struct cg_aws_client *c = cg_aws_client_new(&opt);
    char err[1024] = "", *arn = NULL;
    int rc = c ? cg_sts_get_caller_identity(c, creds, cg_aws_monotonic_ms() + 15000, &arn, err,
                                            sizeof(err))
               : CG_EINVAL;
    if (rc == 0) {
        field(o, key, label, "%s", arn);
    } else {
        char masked[1024];
        cg_sign_log_mask_into(err[0] ? err : "no STS client", masked, sizeof(masked));
        field(o, key, label, "(unknown: %s)", masked);
    }
    free(arn);
    cg_aws_client_free(c);
}

/* ConfigureAgent for the group, signed by the cache's credentials. */
static int configure_agent(struct out *o, const struct cg_config *cfg, const char *region,
                           struct cg_cred_cache *cache, char **endpoint_out, char *err,
                           size_t err_size)
{
    bool user_set;
    char *endpoint = cg_aws_endpoint("CODEGURUPROFILER", "codeguru-profiler", region, NULL,
                                     NULL, &user_set);
    *endpoint_out = endpoint;
    if (!endpoint) {
        snprintf(err, err_size, "CodeGuru Profiler: no region for profiling group %s",
                 cfg->profiling_group);
        return -1;
    }
    field(o, "codeguru_endpoint", "CodeGuru endpoint:", "%s", endpoint);
    struct cg_codeguru_options co = {
        .endpoint = endpoint, .region = region, .group = cfg->profiling_group,
        .creds = cache, .ca_bundle = getenv("AWS_CA_BUNDLE"),
    };
    struct cg_codeguru *cg = cg_codeguru_new(&co);
    if (!cg) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    char fleet[CG_UUID_BUF];
    cg_uuid_v4(fleet);
    struct cg_agent_configuration ac;
    enum cg_codeguru_failure f = cg_codeguru_configure_agent(
        cg, fleet, fleet, cg_aws_monotonic_ms() + 30000, &ac, err, err_size);
    if (f == CG_CG_OK) {
        if (o->root) {
            /* Scripts get typed values: a boolean and a number. */
            json_object_set_new(o->root, "configure_agent",
                                json_pack("{s:b, s:I}", "should_profile", (int)ac.should_profile,
                                          "period_s", (json_int_t)ac.period_s));
        } else {
            field(o, "should_profile", "configure agent:", "shouldProfile=%s periodInSeconds=%lld",
                  ac.should_profile ? "true" : "false", (long long)ac.period_s);
        }
    }
    cg_codeguru_free(cg);
    return f == CG_CG_OK ? 0 : -1;
}

struct opts {
    const char *group, *role, *region, *program;
    bool identity, json;
};

static int parse_args(int argc, char **argv, struct opts *a)
{
    for (int i = 0; i < argc; i++) {
        const char **slot = !strcmp(argv[i], "--group")      ? &a->group
                            : !strcmp(argv[i], "--role-arn") ? &a->role
                            : !strcmp(argv[i], "--region")   ? &a->region
                            : !strcmp(argv[i], "--program")  ? &a->program
                                                             : NULL;
        if (slot && i + 1 < argc)
            *slot = argv[++i];
        else if (!strcmp(argv[i], "--no-identity"))
            a->identity = false;
        else if (!strcmp(argv[i], "--json"))
            a->json = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return 1;
        else
            return -1;
    }
    return 0;
}

int cg_cli_check(int argc, char **argv)
{
    struct opts a = {.identity = true};
    int prc = parse_args(argc, argv, &a);
    if (prc != 0) {
        check_usage(prc > 0 ? stdout : stderr);
        return prc > 0 ? 0 : 2;
    }
    struct out o = {a.json ? json_object() : NULL, NULL};
    char *origins[MAX_SETTINGS] = {0};
    char err[1024] = "", session[80];
    struct cg_check_context ctx = {.stage = "configuration"};
    struct cg_config cfg;
    struct cg_chain chain = {0};
    struct cg_cred_cache *cache = NULL;
    char *cg_endpoint = NULL;
    int status = 1;
    const char *program = a.program ? a.program : "cgagent";
    struct cg_config_source src = {.exe_name = program, .argv0_name = program,
                                   .on_value_fn = on_value, .on_value_ctx = origins};

    if (cg_config_load(&cfg, &src) != 0) {
        snprintf(err, sizeof(err), "the configuration is invalid (see the line above)");
        memset(&cfg, 0, sizeof(cfg));
        goto out;
    }
    cg_log_set_level(cfg.log_level);
    if ((a.group && set_override(&cfg.profiling_group, a.group)) ||
        (a.role && set_override(&cfg.role_arn, a.role)) ||
        (a.region && set_override(&cfg.region, a.region))) {
        snprintf(err, sizeof(err), "out of memory");
        goto out;
    }
    static const char *const overridden[][2] = {
        {"profiling_group", NULL}, {"role_arn", NULL}, {"region", NULL}};
    const char *given[] = {a.group, a.role, a.region};
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; given[k] && i < cg_config_setting_count(); i++)
            if (!strcmp(cg_config_setting_key(i), overridden[k][0]))
                on_value(i, "command line", origins);
    field(&o, "program", "program:", "%s", program);
    field(&o, "config_file", "config file:", "%s", cfg.config_path ? cfg.config_path : "(none)");
    print_settings(&o, &cfg, origins);
    ctx.group = cfg.profiling_group;
    ctx.role_arn = cfg.role_arn;
    ctx.external_id_set = cfg.external_id != NULL;

    if (cfg.role_session_name)
        snprintf(session, sizeof(session), "%s", cfg.role_session_name);
    else
        cg_chain_default_session_name(session, sizeof(session));
    struct cg_chain_settings s = {
        .region = cfg.region, .role_arn = cfg.role_arn, .session_name = session,
        .external_id = cfg.external_id,
    };
    ctx.stage = "credentials";
    if (cg_chain_build(&s, &chain, err, sizeof(err)) != 0)
        goto out;
    ctx.region = chain.region ? chain.region : cfg.region;
    ctx.endpoint = chain.sts_endpoint;
    field(&o, "profiling_group", "profiling group:", "%s",
          cfg.profiling_group ? cfg.profiling_group : "(none: local profiles only)");
    field(&o, "region", "region:", "%s", chain.region ? chain.region : "(none)");
    if (chain.sts_endpoint)
        field(&o, "sts_endpoint", "STS endpoint:", "%s", chain.sts_endpoint);

    o.section = o.root ? "credentials" : NULL;
    /* Base credentials on their own, for their identity. */
    if (cfg.role_arn && a.identity) {
        struct cg_chain_settings bs = s;
        bs.role_arn = NULL;
        struct cg_chain base;
        if (cg_chain_build(&bs, &base, err, sizeof(err)) == 0) {
            struct cg_credentials bc;
            int rc = cg_provider_fetch(base.provider, cg_aws_monotonic_ms() + 30000, &bc, err,
                                       sizeof(err));
            if (rc == 0) {
                /* After the fetch: IMDS names its role only then. */
                field(&o, "source", "credentials from:", "%s", base.provider->description);
                print_identity(&o, "base_identity", "base identity:", &chain, &bc);
                cg_credentials_clear(&bc);
            }
            cg_chain_cleanup(&base);
            if (rc != 0)
                goto out;
        }
    }

    cache = cg_cred_cache_new(chain.provider, NULL);
    chain.provider = NULL;
    struct cg_credentials creds;
    if (!cache) {
        snprintf(err, sizeof(err), "out of memory");
        goto out;
    }
    ctx.stage = cfg.role_arn ? "AssumeRole" : "credentials";
    if (cg_cred_cache_get(cache, cg_aws_monotonic_ms() + 30000, &creds, err, sizeof(err)) != 0)
        goto out;
    if (!cfg.role_arn || !a.identity)
        field(&o, "source", "credentials from:", "%s",
              cfg.role_arn ? chain.base_description : cg_cred_cache_describe(cache));
    if (cfg.role_arn) {
        field(&o, "role", "role:", "%s", cfg.role_arn);
        field(&o, "assumed_role", "assumed role:", "%s", creds.arn ? creds.arn : "(unknown)");
        field(&o, "session_name", "session name:", "%s", session);
    } else if (a.identity) {
        print_identity(&o, "identity", "identity:", &chain, &creds);
    }
    field(&o, "access_key_id", "access key id:", "%s", creds.access_key_id);
    print_expiry(&o, creds.expiration);
    cg_credentials_clear(&creds);
    o.section = NULL;

    if (cfg.profiling_group) {
        ctx.stage = "ConfigureAgent";
        char *region = chain.region ? chain.region : cfg.region;
        if (configure_agent(&o, &cfg, region, cache, &cg_endpoint, err, sizeof(err)) != 0) {
            ctx.endpoint = cg_endpoint;
            goto out;
        }
    } else {
        field(&o, "configure_agent", "configure agent:", "(skipped: no profiling group)");
    }
    err[0] = '\0';
    status = 0;
out:;
    long long skew = (long long)cg_aws_clock_offset();
    char line[512];
    if (skew >= SKEW_WARN_S || skew <= -SKEW_WARN_S) {
        cg_check_skew_warning(skew, line, sizeof(line));
        field(&o, "warning", "warning:", "%s", line);
    }
    if (status != 0) {
        char cause[512], fix[512], shown[sizeof(err)];
        cg_sign_log_mask_into(err, shown, sizeof(shown));
        cg_check_diagnose(shown, &ctx, cause, sizeof(cause), fix, sizeof(fix));
        if (o.root) {
            json_object_set_new(o.root, "stage", json_string(ctx.stage));
            json_object_set_new(o.root, "error", cg_check_json_string(shown));
            json_object_set_new(o.root, "cause", cg_check_json_string(cause));
            json_object_set_new(o.root, "fix", cg_check_json_string(fix));
        } else {
            fputs("error: ", stdout);
            cg_check_print(stdout, shown);
            fputs("\ncause: ", stdout);
            cg_check_print(stdout, cause);
            fputs("; fix: ", stdout);
            cg_check_print(stdout, fix);
            putchar('\n');
        }
    }
    if (o.root) {
        json_object_set_new(o.root, "result", json_string(status == 0 ? "ok" : "error"));
        char *text = cg_check_json_dump(o.root);
        if (text)
            puts(text);
        free(text);
        json_decref(o.root);
    } else if (status == 0) {
        printf("result: OK\n");
    }
    free(cg_endpoint);
    cg_cred_cache_free(cache);
    cg_chain_cleanup(&chain);
    cg_config_cleanup(&cfg);
    for (size_t i = 0; i < MAX_SETTINGS; i++)
        free(origins[i]);
    return status;
}
