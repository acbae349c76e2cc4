/*
 * chain.c - which credential source to use, and the role on top (see
 * chain.h for the order and the rules).
 */
#include "sts/chain.h"

#include "core/base/error.h"
#include "core/base/http.h"
#include "sts/aws_config.h"

#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PROFILE_DEPTH 8

struct build {
    const struct cg_chain_settings *s;
    struct cg_aws_config files;
    bool files_loaded;
    struct cg_sts_settings sts;
    char *region;
    char *sts_endpoint;
    char *err;
    size_t err_size;
};

static int failf(struct build *b, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int failf(struct build *b, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err, b->err_size, fmt, ap);
    va_end(ap);
    return rc;
}

static const char *env(const struct build *b, const char *name)
{
    return cg_env(b->s->getenv_fn, b->s->getenv_ctx, name);
}

static char *home_dir(cg_getenv_fn *getenv_fn, void *ctx, const char *home)
{
    if (home)
        return strdup(home);
    const char *h = cg_env(getenv_fn, ctx, "HOME");
    if (h)
        return strdup(h);
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) == 0 && res && res->pw_dir)
        return strdup(res->pw_dir);
    return NULL;
}

static int load_files(cg_getenv_fn *getenv_fn, void *ctx, const char *home,
                      struct cg_aws_config *files, char *err, size_t err_size)
{
    const char *cfg = cg_env(getenv_fn, ctx, "AWS_CONFIG_FILE");
    const char *cred = cg_env(getenv_fn, ctx, "AWS_SHARED_CREDENTIALS_FILE");
    char *h = (!cfg || !cred) ? home_dir(getenv_fn, ctx, home) : NULL;
    char *cfg_path = NULL, *cred_path = NULL;
    if (cfg)
        cfg_path = strdup(cfg);
    else if (h && asprintf(&cfg_path, "%s/.aws/config", h) < 0)
        cfg_path = NULL;
    if (cred)
        cred_path = strdup(cred);
    else if (h && asprintf(&cred_path, "%s/.aws/credentials", h) < 0)
        cred_path = NULL;
    int rc = cg_aws_config_load(files, cfg_path, cred_path, err, err_size);
    free(h);
    free(cfg_path);
    free(cred_path);
    return rc;
}

static const char *profile_name(cg_getenv_fn *getenv_fn, void *ctx, bool *explicit_name)
{
    const char *p = cg_env(getenv_fn, ctx, "AWS_PROFILE");
    if (!p)
        p = cg_env(getenv_fn, ctx, "AWS_DEFAULT_PROFILE");
    *explicit_name = p != NULL;
    return p ? p : "default";
}

char *cg_chain_default_region(cg_getenv_fn *getenv_fn, void *ctx, const char *home)
{
    const char *r = cg_env(getenv_fn, ctx, "AWS_REGION");
    if (!r)
        r = cg_env(getenv_fn, ctx, "AWS_DEFAULT_REGION");
    if (r)
        return strdup(r);
    struct cg_aws_config files;
    char err[256];
    if (load_files(getenv_fn, ctx, home, &files, err, sizeof(err)) != 0)
        return NULL;
    bool explicit_name;
    const struct cg_aws_profile *p =
        cg_aws_config_profile(&files, profile_name(getenv_fn, ctx, &explicit_name));
    const char *v = cg_aws_profile_get(p, "region");
    char *out = v && *v ? strdup(v) : NULL;
    cg_aws_config_cleanup(&files);
    return out;
}

/* The STS settings, resolved on first need (a chain without roles never
 * needs a region). */
static int need_sts(struct build *b, const char *why)
{
    if (b->sts_endpoint)
        return 0;
    bool user_set;
    b->sts_endpoint = cg_aws_endpoint("STS", "sts", b->region, b->s->getenv_fn,
                                      b->s->getenv_ctx, &user_set);
    if (!b->sts_endpoint)
        return failf(b, CG_EINVAL,
                     "%s needs STS, but no region is known: set "
                     "AWS_CODEGURU_PROFILER_TARGET_REGION, AWS_REGION or the profile's region",
                     why);
    b->sts.region = b->region ? b->region : "us-east-1";
    b->sts.endpoint = b->sts_endpoint;
    b->sts.ca_bundle = env(b, "AWS_CA_BUNDLE");
    const char *ma = env(b, "AWS_MAX_ATTEMPTS");
    if (ma) {
        char *end;
        unsigned long v = strtoul(ma, &end, 10);
        if (*end || v < 1 || v > 10)
            return failf(b, CG_EINVAL, "AWS_MAX_ATTEMPTS='%s' is not a number from 1 to 10", ma);
        b->sts.max_attempts = (uint32_t)v;
    }
    b->sts.hooks = b->s->hooks;
    return 0;
}

static int env_credentials(struct build *b, struct cg_provider **out)
{
    const char *akid = env(b, "AWS_ACCESS_KEY_ID");
    const char *secret = env(b, "AWS_SECRET_ACCESS_KEY");
    if (!akid && !secret)
        return CG_ENOTFOUND;
    if (!akid || !secret)
        return failf(b, CG_EINVAL,
                     "environment credentials are incomplete: %s is set but %s is not",
                     akid ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                     akid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    const char *token = env(b, "AWS_SESSION_TOKEN");
    if (!token)
        token = env(b, "AWS_SECURITY_TOKEN");
    int64_t expiration = 0;
    const char *exp = env(b, "AWS_CREDENTIAL_EXPIRATION");
    if (exp && cg_parse_iso8601(exp, &expiration) != 0)
        return failf(b, CG_EINVAL,
                     "AWS_CREDENTIAL_EXPIRATION='%s' is not an ISO 8601 UTC time", exp);
    if (!cg_credentials_header_safe(akid) || !cg_credentials_header_safe(secret) ||
        !cg_credentials_header_safe(token))
        return failf(b, CG_EINVAL,
                     "environment credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or "
                     "AWS_SESSION_TOKEN holds a space, control or non-ASCII byte");
    struct cg_credentials c = {0};
    if (cg_credentials_set(&c, akid, secret, token, expiration) != 0)
        return CG_ENOMEM;
    *out = cg_provider_static_new("environment variables (AWS_ACCESS_KEY_ID)", &c);
    cg_credentials_clear(&c);
    return *out ? 0 : CG_ENOMEM;
}

#define UNSAFE_KEYS \
    "aws_access_key_id, aws_secret_access_key or aws_session_token holds a space, control or " \
    "non-ASCII byte"

/* A profile's static keys can go into request headers as they are. */
static bool static_keys_safe(const struct cg_aws_profile *p)
{
    return cg_credentials_header_safe(cg_aws_profile_get(p, "aws_access_key_id")) &&
           cg_credentials_header_safe(cg_aws_profile_get(p, "aws_secret_access_key")) &&
           cg_credentials_header_safe(cg_aws_profile_get(p, "aws_session_token"));
}

static int web_identity(struct build *b, const char *role_arn, const char *token_file,
                        const char *session_name, const char *where, struct cg_provider **out)
{
    int rc = need_sts(b, where);
    if (rc)
        return rc;
    *out = cg_provider_web_identity_new(&b->sts, role_arn, token_file,
                                        session_name ? session_name : b->s->session_name);
    return *out ? 0 : CG_ENOMEM;
}

/* Checks AWS_CONTAINER_CREDENTIALS_FULL_URI's host against the allow-list,
 * resolving names the way aws-c-auth does. */
static bool container_host_allowed(const struct cg_url *u)
{
    if (u->https || cg_url_host_is_container_allowed(u->hostname))
        return true;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(u->hostname, NULL, &hints, &res) != 0)
        return false;
    bool ok = res != NULL;
    for (struct addrinfo *a = res; a && ok; a = a->ai_next) {
        char host[NI_MAXHOST];
        if (getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof(host), NULL, 0,
                        NI_NUMERICHOST) != 0 ||
            !cg_url_host_is_container_allowed(host))
            ok = false;
    }
    freeaddrinfo(res);
    return ok;
}

static int container(struct build *b, bool required, struct cg_provider **out)
{
    const char *rel = env(b, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env(b, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    char *url = NULL;
    if (rel) {
        if (rel[0] != '/')
            return failf(b, CG_EINVAL,
                         "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI='%s' must start with '/'", rel);
        if (asprintf(&url, "http://169.254.170.2%s", rel) < 0)
            return CG_ENOMEM;
    } else if (full) {
        struct cg_url u;
        if (cg_url_parse(full, &u) != 0)
            return failf(b, CG_EINVAL,
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI='%s' is not an http(s) URL", full);
        bool ok = container_host_allowed(&u);
        cg_url_cleanup(&u);
        if (!ok)
            return failf(b, CG_EINVAL,
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI='%s': plain http is allowed only to "
                         "loopback, 169.254.170.2, 169.254.170.23 or fd00:ec2::23",
                         full);
        if (!(url = strdup(full)))
            return CG_ENOMEM;
    } else {
        if (required)
            return failf(b, CG_EINVAL,
                         "credential_source = EcsContainer, but neither "
                         "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor _FULL_URI is set");
        return CG_ENOTFOUND;
    }
    const char *token_file = env(b, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *token = token_file ? NULL : env(b, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    *out = cg_provider_container_new(url, token, token_file);
    free(url);
    return *out ? 0 : CG_ENOMEM;
}

static int imds(struct build *b, bool required, struct cg_provider **out)
{
    if (cg_env_true(env(b, "AWS_EC2_METADATA_DISABLED"))) {
        if (required)
            return failf(b, CG_EINVAL, "credential_source = Ec2InstanceMetadata, but "
                                       "AWS_EC2_METADATA_DISABLED=true");
        return CG_ENOTFOUND;
    }
    const char *endpoint = env(b, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = env(b, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    if (!endpoint)
        endpoint = mode && strcasecmp(mode, "IPv6") == 0 ? "http://[fd00:ec2::254]"
                                                         : "http://169.254.169.254";
    struct cg_url u;
    if (cg_url_parse(endpoint, &u) != 0)
        return failf(b, CG_EINVAL, "AWS_EC2_METADATA_SERVICE_ENDPOINT='%s' is not an http(s) URL",
                     endpoint);
    cg_url_cleanup(&u);
    *out = cg_provider_imds_new(endpoint, cg_env_true(env(b, "AWS_EC2_METADATA_V1_DISABLED")));
    return *out ? 0 : CG_ENOMEM;
}

static int profile_provider(struct build *b, const char *name, int depth,
                            const char **visited, struct cg_provider **out);

/* A profile's role_arn: its source, then AssumeRole. */
static int profile_role(struct build *b, const struct cg_aws_profile *p, const char *role_arn,
                        bool has_static, int depth, const char **visited,
                        struct cg_provider **out)
{
    const char *path = b->files.config_path ? b->files.config_path : "config";
    const char *source_profile = cg_aws_profile_get(p, "source_profile");
    const char *credential_source = cg_aws_profile_get(p, "credential_source");
    const char *token_file = cg_aws_profile_get(p, "web_identity_token_file");
    const char *session = cg_aws_profile_get(p, "role_session_name");
    const char *external_id = cg_aws_profile_get(p, "external_id");
    const char *duration = cg_aws_profile_get(p, "duration_seconds");
    uint32_t duration_s = 0;
    if (duration) {
        char *end;
        unsigned long v = strtoul(duration, &end, 10);
        if (*end || v < 900 || v > 43200)
            return failf(b, CG_EINVAL,
                         "%s: profile %s: duration_seconds='%s' must be 900 to 43200", path,
                         p->name, duration);
        duration_s = (uint32_t)v;
    }
    if (session && !*session)
        session = NULL;
    if (source_profile && credential_source)
        return failf(b, CG_EINVAL,
                     "%s: profile %s has both source_profile and credential_source; keep one",
                     path, p->name);
    struct cg_provider *source = NULL;
    int rc;
    char where[300];
    snprintf(where, sizeof(where), "profile %s (role_arn)", p->name);
    if (source_profile) {
        if (strcmp(source_profile, p->name) == 0) {
            if (!has_static)
                return failf(b, CG_EINVAL,
                             "%s: profile %s names itself as source_profile but has no "
                             "aws_access_key_id/aws_secret_access_key",
                             path, p->name);
            struct cg_credentials c = {0};
            if (!static_keys_safe(p))
                return failf(b, CG_EINVAL, "%s: profile %s: %s", path, p->name, UNSAFE_KEYS);
            if (cg_credentials_set(&c, cg_aws_profile_get(p, "aws_access_key_id"),
                                   cg_aws_profile_get(p, "aws_secret_access_key"),
                                   cg_aws_profile_get(p, "aws_session_token"), 0) != 0)
                return CG_ENOMEM;
            char desc[300];
            snprintf(desc, sizeof(desc), "shared profile %s (static keys)", p->name);
            source = cg_provider_static_new(desc, &c);
            cg_credentials_clear(&c);
            rc = source ? 0 : CG_ENOMEM;
        } else {
            rc = profile_provider(b, source_profile, depth + 1, visited, &source);
        }
    } else if (credential_source) {
        if (!strcmp(credential_source, "Environment")) {
            rc = env_credentials(b, &source);
            if (rc == CG_ENOTFOUND)
                rc = failf(b, CG_EINVAL,
                           "%s: profile %s: credential_source = Environment, but "
                           "AWS_ACCESS_KEY_ID is not set",
                           path, p->name);
        } else if (!strcmp(credential_source, "Ec2InstanceMetadata")) {
            rc = imds(b, true, &source);
        } else if (!strcmp(credential_source, "EcsContainer")) {
            rc = container(b, true, &source);
        } else {
            return failf(b, CG_EINVAL,
                         "%s: profile %s: credential_source = '%s'; expected Environment, "
                         "Ec2InstanceMetadata or EcsContainer",
                         path, p->name, credential_source);
        }
    } else if (token_file && *token_file) {
        return web_identity(b, role_arn, token_file, session, where, out);
    } else {
        return failf(b, CG_EINVAL,
                     "%s: profile %s has role_arn but no source_profile, credential_source or "
                     "web_identity_token_file",
                     path, p->name);
    }
    if (rc != 0)
        return rc;
    rc = need_sts(b, where);
    if (rc) {
        cg_provider_free(source);
        return rc;
    }
    *out = cg_provider_assume_role_new(source, &b->sts, role_arn,
                                       session ? session : b->s->session_name, external_id,
                                       duration_s);
    return *out ? 0 : CG_ENOMEM;
}

static int profile_provider(struct build *b, const char *name, int depth,
                            const char **visited, struct cg_provider **out)
{
    const char *path = b->files.config_path ? b->files.config_path : "config";
    for (int i = 0; i < depth; i++)
        if (strcmp(visited[i], name) == 0)
            return failf(b, CG_EINVAL, "%s: profile %s: source_profile loop through %s", path,
                         visited[0], name);
    if (depth >= MAX_PROFILE_DEPTH)
        return failf(b, CG_EINVAL, "%s: profile %s: source_profile chain deeper than %d", path,
                     visited[0], MAX_PROFILE_DEPTH);
    visited[depth] = name;
    const struct cg_aws_profile *p = cg_aws_config_profile(&b->files, name);
    if (!p) {
        if (depth == 0)
            return CG_ENOTFOUND;
        return failf(b, CG_EINVAL, "%s: profile %s: source_profile %s does not exist", path,
                     visited[depth - 1], name);
    }
    const char *akid = cg_aws_profile_get(p, "aws_access_key_id");
    const char *secret = cg_aws_profile_get(p, "aws_secret_access_key");
    bool has_static = akid && *akid && secret && *secret;
    const char *role_arn = cg_aws_profile_get(p, "role_arn");
    /* The first profile: role_arn beats keys.  A source profile: keys win. */
    if (role_arn && *role_arn && (depth == 0 || !has_static))
        return profile_role(b, p, role_arn, has_static, depth, visited, out);
    const char *process = cg_aws_profile_get(p, "credential_process");
    if (process && *process) {
        char desc[300];
        snprintf(desc, sizeof(desc), "shared profile %s (credential_process)", p->name);
        *out = cg_provider_process_new(desc, process);
        return *out ? 0 : CG_ENOMEM;
    }
    if (has_static) {
        struct cg_credentials c = {0};
        if (!static_keys_safe(p))
            return failf(b, CG_EINVAL, "shared profile %s: %s", p->name, UNSAFE_KEYS);
        if (cg_credentials_set(&c, akid, secret, cg_aws_profile_get(p, "aws_session_token"),
                               0) != 0)
            return CG_ENOMEM;
        char desc[300];
        snprintf(desc, sizeof(desc), "shared profile %s (static keys)", p->name);
        *out = cg_provider_static_new(desc, &c);
        cg_credentials_clear(&c);
        return *out ? 0 : CG_ENOMEM;
    }
    if ((akid && *akid) || (secret && *secret))
        return failf(b, CG_EINVAL, "profile %s has only one of aws_access_key_id and "
                                   "aws_secret_access_key",
                     p->name);
    if (depth == 0)
        return CG_ENOTFOUND; /* e.g. a profile with only a region */
    return failf(b, CG_EINVAL, "%s: source_profile %s has no credentials", path, p->name);
}

static int base_provider(struct build *b, struct cg_provider **out)
{
    int rc = env_credentials(b, out);
    if (rc != CG_ENOTFOUND)
        return rc;

    bool explicit_name;
    const char *name = profile_name(b->s->getenv_fn, b->s->getenv_ctx, &explicit_name);
    rc = load_files(b->s->getenv_fn, b->s->getenv_ctx, b->s->home, &b->files, b->err,
                    b->err_size);
    if (rc != 0)
        return rc == CG_ENOMEM ? rc : CG_EPARSE;
    b->files_loaded = true;
    const char *visited[MAX_PROFILE_DEPTH];
    rc = profile_provider(b, name, 0, visited, out);
    if (rc != CG_ENOTFOUND)
        return rc;
    if (explicit_name && !cg_aws_config_profile(&b->files, name))
        return failf(b, CG_EINVAL, "AWS_PROFILE=%s, but no such profile in %s or %s", name,
                     b->files.config_path ? b->files.config_path : "(no config file)",
                     b->files.credentials_path ? b->files.credentials_path
                                               : "(no credentials file)");

    const char *role = env(b, "AWS_ROLE_ARN");
    const char *token_file = env(b, "AWS_WEB_IDENTITY_TOKEN_FILE");
    if (role && token_file)
        return web_identity(b, role, token_file, env(b, "AWS_ROLE_SESSION_NAME"),
                            "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)", out);
    if (token_file && !role)
        return failf(b, CG_EINVAL, "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");

    rc = container(b, false, out);
    if (rc != CG_ENOTFOUND)
        return rc;
    rc = imds(b, false, out);
    if (rc == CG_ENOTFOUND)
        return failf(b, CG_ENOTFOUND,
                     "no AWS credentials: none in the environment, no usable profile '%s' in "
                     "the shared files, no web identity or container credentials, and "
                     "AWS_EC2_METADATA_DISABLED=true",
                     name);
    return rc;
}

void cg_chain_cleanup(struct cg_chain *chain)
{
    if (!chain)
        return;
    cg_provider_free(chain->provider);
    free(chain->region);
    free(chain->sts_endpoint);
    free(chain->base_description);
    memset(chain, 0, sizeof(*chain));
}

int cg_chain_build(const struct cg_chain_settings *s, struct cg_chain *out, char *err,
                   size_t err_size)
{
    memset(out, 0, sizeof(*out));
    if (err_size)
        err[0] = '\0';
    struct build b = {.s = s, .err = err, .err_size = err_size};
    b.region = s->region ? strdup(s->region)
                         : cg_chain_default_region(s->getenv_fn, s->getenv_ctx, s->home);
    struct cg_provider *base = NULL;
    int rc = base_provider(&b, &base);
    if (rc == 0) {
        out->base_description = strdup(base->description);
        if (s->role_arn) {
            rc = need_sts(&b, "the role in CGAGENT_ROLE_ARN");
            if (rc == 0) {
                base = cg_provider_assume_role_new(base, &b.sts, s->role_arn, s->session_name,
                                                   s->external_id, 3600);
                rc = base ? 0 : CG_ENOMEM;
            } else {
                cg_provider_free(base);
                base = NULL;
            }
        }
    }
    if (b.files_loaded)
        cg_aws_config_cleanup(&b.files);
    if (rc != 0) {
        cg_provider_free(base);
        free(b.region);
        free(b.sts_endpoint);
        free(out->base_description);
        out->base_description = NULL;
        if (err_size && !err[0])
            snprintf(err, err_size, "cannot build the credential chain (error %d)", rc);
        return rc;
    }
    out->provider = base;
    out->region = b.region;
    out->sts_endpoint = b.sts_endpoint;
    return 0;
}

void cg_chain_default_session_name(char *buf, size_t size)
{
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
        strcpy(host, "host");
    host[sizeof(host) - 1] = '\0';
    char pid[24];
    int plen = snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    /* Keep the pid whole: cut the host name instead. */
    int room = 64 - (int)strlen("cgagent--") - plen;
    char name[80];
    snprintf(name, sizeof(name), "cgagent-%.*s-%s", room, host, pid);
    for (char *p = name; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              strchr("_+=,.@-", *p)))
            *p = '-';
    snprintf(buf, size, "%s", name);
}
