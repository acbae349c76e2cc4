/*
 * config.c - resolve settings from env, config file and defaults.
 *
 * DESIGN: one table describes every setting (env name, file key, type,
 * range).  Loading applies the sources lowest-precedence first
 * ([default], then [process NAME], then env), each through the same
 * parse-and-validate function, so an env value and a file value are
 * checked by the same rule and reported the same way.
 *
 * Privileged processes: before anything is read, cg_config_load (and the
 * preload constructor, first of all) asks cg_config_privilege_reason
 * whether the process runs with more privilege than the user who set its
 * environment: AT_SECURE (setuid/setgid, file capabilities), real and
 * effective or saved ids that differ, or a non-root real user with
 * permitted capabilities (ambient capabilities do not set AT_SECURE).
 * Then no variable and no file is read at all.  Variables are read with
 * secure_getenv.  The config file is opened without following a symbolic
 * link in its last component.
 *
 * What it won't do: read AWS shared config (sts/ does), talk to the
 * service, or guess a value that does not parse.
 */
#include "core/agent/config.h"

#include "core/base/error.h"
#include "core/base/ini_file.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum kind { K_BOOL, K_U32, K_U64, K_STR, K_LOGLEVEL, K_GROUP_ARN, K_SESSION, K_OUTPUT_MODE };

struct setting {
    const char *env;
    const char *key;    /* config-file key; NULL = env only */
    enum kind kind;
    size_t offset;      /* field in struct cg_config */
    uint64_t min, max;  /* for numbers */
    size_t user_flag;   /* offset of the "user set" bool, or 0 */
};

#define F(field) offsetof(struct cg_config, field)

static const struct setting settings[] = {
    {"AWS_CODEGURU_PROFILER_ENABLED", "enabled", K_BOOL, F(enabled), 0, 0, 0},
    {"AWS_CODEGURU_PROFILER_GROUP_NAME", "profiling_group", K_STR, F(profiling_group), 1, 255, 0},
    {"AWS_CODEGURU_PROFILER_GROUP_ARN", "profiling_group_arn", K_GROUP_ARN,
     F(profiling_group_arn), 0, 0, 0},
    {"AWS_CODEGURU_PROFILER_TARGET_REGION", "region", K_STR, F(region), 1, 64, 0},
    {"CGAGENT_ROLE_ARN", "role_arn", K_STR, F(role_arn), 20, 2048, 0},
    {"CGAGENT_ROLE_SESSION_NAME", "role_session_name", K_SESSION, F(role_session_name), 0, 0, 0},
    {"CGAGENT_EXTERNAL_ID", "external_id", K_STR, F(external_id), 2, 1224, 0},
    {"CGAGENT_CPU_HZ", "cpu_hz", K_U32, F(cpu_hz), 0, 1000, 0},
    {"AWS_CODEGURU_PROFILER_SAMPLING_INTERVAL_MS", "wall_interval_ms", K_U32,
     F(wall_interval_ms), 0, 3600000, F(user_wall_interval)},
    {"AWS_CODEGURU_PROFILER_REPORTING_INTERVAL_MS", "reporting_interval_ms", K_U64,
     F(reporting_interval_ms), 1000, 86400000, F(user_reporting_interval)},
    {"CGAGENT_MAX_STACK_DEPTH", "max_stack_depth", K_U32, F(max_stack_depth), 1, 10000,
     F(user_max_stack_depth)},
    {"CGAGENT_OUTPUT", "output_dir", K_STR, F(output_dir), 1, 4096, 0},
    {"CGAGENT_OUTPUT_MODE", "output_mode", K_OUTPUT_MODE, F(output_shared), 0, 0, 0},
    {"CGAGENT_CPU_LIMIT_PERCENT", "cpu_limit_percent", K_U32, F(cpu_limit_percent), 1, 100, 0},
    {"CGAGENT_MEMORY_LIMIT_MB", "memory_limit_mb", K_U32, F(memory_limit_mb), 4, 65536, 0},
    {"CGAGENT_LOG", "log_level", K_LOGLEVEL, F(log_level), 0, 0, 0},
    {"CGAGENT_LOG_FILE", "log_file", K_STR, F(log_file), 1, 4096, 0},
    {"CGAGENT_PROFILE_GO", "profile_go", K_BOOL, F(profile_go), 0, 0, 0},
};

#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

static void set_defaults(struct cg_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->enabled = true;
    cfg->cpu_hz = 100;
    cfg->wall_interval_ms = 1000;
    cfg->reporting_interval_ms = 300000;
    cfg->max_stack_depth = 1000;
    cfg->cpu_limit_percent = 10;
    cfg->memory_limit_mb = 32;
    cfg->log_level = CG_LOG_WARN;
}

bool cg_config_session_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n < 2 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && !strchr("_+=,.@-", c))
            return false;
    }
    return true;
}

static char *dup_range(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

int cg_config_parse_group_arn(const char *arn, char **name, char **region, char **account)
{
    /* arn:PARTITION:codeguru-profiler:REGION:ACCOUNT:profilingGroup/NAME */
    const char *p[6];
    const char *s = arn;
    for (int i = 0; i < 6; i++) {
        p[i] = s;
        if (i < 5) {
            s = strchr(s, ':');
            if (!s)
                return CG_EINVAL;
            s++;
        }
    }
    if (strncmp(p[0], "arn:", 4) != 0 || strncmp(p[2], "codeguru-profiler:", 18) != 0)
        return CG_EINVAL;
    size_t region_len = (size_t)(p[4] - p[3]) - 1;
    size_t account_len = (size_t)(p[5] - p[4]) - 1;
    if (region_len == 0 || account_len != 12 || strncmp(p[5], "profilingGroup/", 15) != 0)
        return CG_EINVAL;
    for (size_t i = 0; i < account_len; i++)
        if (!isdigit((unsigned char)p[4][i]))
            return CG_EINVAL;
    const char *gname = p[5] + 15;
    size_t glen = strlen(gname);
    if (glen == 0 || glen > 255)
        return CG_EINVAL;
    for (size_t i = 0; i < glen; i++)
        if (!isalnum((unsigned char)gname[i]) && gname[i] != '-' && gname[i] != '_')
            return CG_EINVAL;
    *name = strdup(gname);
    *region = dup_range(p[3], region_len);
    *account = dup_range(p[4], account_len);
    if (!*name || !*region || !*account) {
        free(*name);
        free(*region);
        free(*account);
        *name = *region = *account = NULL;
        return CG_ENOMEM;
    }
    return 0;
}

static int parse_u64(const char *text, uint64_t *out)
{
    if (!isdigit((unsigned char)text[0]))
        return CG_EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end != '\0')
        return CG_EINVAL;
    *out = v;
    return 0;
}

static int parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return CG_EINVAL;
}

/* Where a value came from, for the one log line a bad value gets. */
struct origin {
    const char *file; /* NULL: environment */
    int line;
    const char *section; /* file only */
};

/* Tells the source's on_value_fn where a setting's value came from. */
static void notify(const struct cg_config_source *src, const struct setting *st,
                   const char *origin)
{
    if (src && src->on_value_fn)
        src->on_value_fn((size_t)(st - settings), origin, src->on_value_ctx);
}

static void notify_applied(const struct cg_config_source *src, const struct setting *st,
                           const struct origin *o)
{
    char text[600];
    if (o->file)
        snprintf(text, sizeof(text), "[%s] %s:%d", o->section, o->file, o->line);
    else
        snprintf(text, sizeof(text), "env %s", st->env);
    notify(src, st, text);
}

static void report_bad(const struct setting *st, const struct origin *o, const char *value,
                       const char *why)
{
    if (o->file)
        CG_ERROR("%s:%d: %s = \"%s\": %s; the agent stays off", o->file, o->line, st->key,
                 value, why);
    else
        CG_ERROR("%s=\"%s\": %s; the agent stays off", st->env, value, why);
}

static int apply(struct cg_config *cfg, const struct setting *st, const char *value,
                 const struct origin *o)
{
    char *base = (char *)cfg;
    char why[128];
    switch (st->kind) {
    case K_BOOL: {
        if (parse_bool(value, (bool *)(base + st->offset)) != 0) {
            report_bad(st, o, value, "expected true or false");
            return CG_EINVAL;
        }
        break;
    }
    case K_U32:
    case K_U64: {
        uint64_t v;
        if (parse_u64(value, &v) != 0 || v < st->min || v > st->max) {
            snprintf(why, sizeof(why), "expected a whole number from %llu to %llu",
                     (unsigned long long)st->min, (unsigned long long)st->max);
            report_bad(st, o, value, why);
            return CG_EINVAL;
        }
        if (st->kind == K_U32)
            *(uint32_t *)(base + st->offset) = (uint32_t)v;
        else
            *(uint64_t *)(base + st->offset) = v;
        break;
    }
    case K_LOGLEVEL:
        if (cg_log_level_parse(value, (enum cg_log_level *)(base + st->offset)) != 0) {
            report_bad(st, o, value, "expected error, warn, info or debug");
            return CG_EINVAL;
        }
        break;
    case K_OUTPUT_MODE:
        if (strcasecmp(value, "private") == 0) {
            *(bool *)(base + st->offset) = false;
        } else if (strcasecmp(value, "shared") == 0) {
            *(bool *)(base + st->offset) = true;
        } else {
            report_bad(st, o, value, "expected private or shared");
            return CG_EINVAL;
        }
        break;
    case K_SESSION:
        if (!cg_config_session_name_valid(value)) {
            report_bad(st, o, value, "expected 2 to 64 of A-Z a-z 0-9 _+=,.@-");
            return CG_EINVAL;
        }
        goto store;
    case K_GROUP_ARN: {
        char *name = NULL, *region = NULL, *account = NULL;
        if (cg_config_parse_group_arn(value, &name, &region, &account) != 0) {
            report_bad(st, o, value,
                       "expected arn:aws:codeguru-profiler:REGION:ACCOUNT:profilingGroup/NAME");
            return CG_EINVAL;
        }
        free(cfg->account_id);
        cfg->account_id = account;
        /* The ARN names the group and its region unless given separately;
         * a conflict is checked once all sources are applied. */
        free(name);
        free(region);
        goto store;
    }
    case K_STR:
        if (strlen(value) < st->min || strlen(value) > st->max) {
            snprintf(why, sizeof(why), "expected %llu to %llu characters",
                     (unsigned long long)st->min, (unsigned long long)st->max);
            report_bad(st, o, value, why);
            return CG_EINVAL;
        }
    store: {
        char **field = (char **)(base + st->offset);
        char *copy = strdup(value);
        if (!copy)
            return CG_ENOMEM;
        free(*field);
        *field = copy;
        break;
    }
    }
    if (st->user_flag)
        *(bool *)(base + st->user_flag) = true;
    return 0;
}

static const struct setting *find_key(const char *key)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (settings[i].key && strcmp(settings[i].key, key) == 0)
            return &settings[i];
    return NULL;
}

/* The config file is applied in two passes, [default] then the matching
 * [process NAME], so a process section wins whatever the order in the file. */
struct file_pass {
    struct cg_config *cfg;
    const char *path;
    const char *want_section; /* "default" or "process NAME" */
    const char *alt_section;  /* "process ARGV0NAME" or NULL */
    bool strict;              /* first pass: report unknown keys and sections */
    const struct cg_config_source *src;
};

static bool is_process_section(const char *section)
{
    return strncmp(section, "process ", 8) == 0 && section[8] != '\0';
}

static int on_file_entry(const char *section, const char *key, const char *value, int line,
                         void *ctx)
{
    struct file_pass *fp = ctx;
    struct origin o = {fp->path, line, section};
    if (fp->strict) {
        if (strcmp(section, "default") != 0 && !is_process_section(section)) {
            CG_ERROR("%s:%d: key %s is in section [%s]; sections are [default] and "
                     "[process NAME]; the agent stays off", fp->path, line, key, section);
            return CG_EINVAL;
        }
        if (!find_key(key)) {
            CG_ERROR("%s:%d: unknown key %s; the agent stays off", fp->path, line, key);
            return CG_EINVAL;
        }
    }
    bool match = strcmp(section, fp->want_section) == 0 ||
                 (fp->alt_section && strcmp(section, fp->alt_section) == 0);
    if (!match && !fp->strict)
        return 0;
    if (!match) {
        /* Validate every value even in sections that do not apply here, so
         * a typo shows up on the first program that reads the file. */
        struct cg_config scratch;
        set_defaults(&scratch);
        int rc = apply(&scratch, find_key(key), value, &o);
        cg_config_cleanup(&scratch);
        return rc;
    }
    int rc = apply(fp->cfg, find_key(key), value, &o);
    if (rc == 0)
        notify_applied(fp->src, find_key(key), &o);
    return rc;
}

static int load_file(struct cg_config *cfg, const char *path, const struct cg_config_source *src)
{
    char want[300], alt[300];
    int line = 0;
    struct file_pass fp = {cfg, path, "default", NULL, true, src};
    int rc = cg_ini_parse_file(path, on_file_entry, &fp, &line);
    if (rc == 0 && src->exe_name) {
        snprintf(want, sizeof(want), "process %s", src->exe_name);
        fp.want_section = want;
        if (src->argv0_name && strcmp(src->argv0_name, src->exe_name) != 0) {
            snprintf(alt, sizeof(alt), "process %s", src->argv0_name);
            fp.alt_section = alt;
        }
        fp.strict = false;
        rc = cg_ini_parse_file(path, on_file_entry, &fp, &line);
    }
    switch (rc) {
    case 0:
    case CG_EINVAL: /* already reported by on_file_entry, or below */
        if (rc == CG_EINVAL && line == 0)
            CG_ERROR("%s: not a regular file; the agent stays off", path);
        return rc;
    case CG_EPARSE:
        CG_ERROR("%s:%d: syntax error (or a line too long); the agent stays off", path, line);
        return rc;
    case CG_ETOOBIG:
        CG_ERROR("%s: larger than %d bytes; the agent stays off", path, CG_INI_MAX_FILE_BYTES);
        return rc;
    case CG_ENOMEM:
    case CG_ENOTFOUND: /* the caller decides whether a missing file matters */
        return rc;
    case -ELOOP:
        CG_ERROR("%s: a symbolic link; the config file is not read through a link in its "
                 "last component (name the file itself); the agent stays off", path);
        return rc;
    default:
        CG_ERROR("%s: cannot read: %s; the agent stays off", path, cg_strerror(rc));
        return rc;
    }
}

static const char *env_get(const struct cg_config_source *src, const char *name)
{
    if (src->getenv_fn)
        return src->getenv_fn(name, src->getenv_ctx);
    return secure_getenv(name);
}

/* After all sources: derive name/region from the group ARN and check
 * that nothing contradicts it. */
static int reconcile_group(struct cg_config *cfg, const struct cg_config_source *src)
{
    if (!cfg->profiling_group_arn)
        return 0;
    char *name = NULL, *region = NULL, *account = NULL;
    int rc = cg_config_parse_group_arn(cfg->profiling_group_arn, &name, &region, &account);
    if (rc != 0)
        return rc;
    if (cfg->profiling_group && strcmp(cfg->profiling_group, name) != 0) {
        CG_ERROR("profiling group name \"%s\" contradicts the group ARN %s; the agent stays off",
                 cfg->profiling_group, cfg->profiling_group_arn);
        rc = CG_EINVAL;
    } else if (cfg->region && strcmp(cfg->region, region) != 0) {
        CG_ERROR("region \"%s\" contradicts the group ARN %s; the agent stays off", cfg->region,
                 cfg->profiling_group_arn);
        rc = CG_EINVAL;
    }
    if (rc == 0) {
        if (!cfg->profiling_group) {
            cfg->profiling_group = name;
            name = NULL;
            notify(src, find_key("profiling_group"), "profiling_group_arn");
        }
        if (!cfg->region) {
            cfg->region = region;
            region = NULL;
            notify(src, find_key("region"), "profiling_group_arn");
        }
        free(cfg->account_id);
        cfg->account_id = account;
        account = NULL;
    }
    free(name);
    free(region);
    free(account);
    return rc;
}

int cg_config_load(struct cg_config *cfg, const struct cg_config_source *src)
{
    set_defaults(cfg);
    int rc = 0;
    struct cg_process_ids ids;
    cg_config_process_ids(&ids);
    if (!src->getenv_fn && cg_config_privilege_reason(&ids))
        return CG_ESTATE; /* nothing read: see DESIGN */
    if (src->exe_name && !(cfg->program_name = strdup(src->exe_name)))
        return CG_ENOMEM;

    const char *path = env_get(src, "CGAGENT_CONFIG");
    bool explicit_path = path && *path;
    if (!explicit_path)
        path = src->default_config_path ? src->default_config_path : "/etc/cgagent.conf";
    rc = load_file(cfg, path, src);
    if (rc == CG_ENOTFOUND && !explicit_path) {
        rc = 0; /* the default file is optional */
    } else if (rc == CG_ENOTFOUND) {
        CG_ERROR("CGAGENT_CONFIG=%s: no such file; the agent stays off", path);
        goto err;
    } else if (rc != 0) {
        goto err;
    } else if (!(cfg->config_path = strdup(path))) {
        rc = CG_ENOMEM;
        goto err;
    }

    for (size_t i = 0; i < N_SETTINGS; i++) {
        const char *v = env_get(src, settings[i].env);
        if (!v)
            continue;
        struct origin o = {NULL, 0, NULL};
        if ((rc = apply(cfg, &settings[i], v, &o)) != 0)
            goto err;
        notify_applied(src, &settings[i], &o);
    }
    if ((rc = reconcile_group(cfg, src)) != 0)
        goto err;
    if (!cfg->region) {
        const char *name = "env AWS_REGION";
        const char *r = env_get(src, "AWS_REGION");
        if (!r || !*r) {
            r = env_get(src, "AWS_DEFAULT_REGION");
            name = "env AWS_DEFAULT_REGION";
        }
        if (r && *r && !(cfg->region = strdup(r))) {
            rc = CG_ENOMEM;
            goto err;
        }
        if (r && *r)
            notify(src, find_key("region"), name);
    }
    return 0;
err:
    cg_config_cleanup(cfg);
    return rc;
}

void cg_config_cleanup(struct cg_config *cfg)
{
    char **strs[] = {
        &cfg->profiling_group, &cfg->profiling_group_arn, &cfg->region, &cfg->account_id,
        &cfg->role_arn, &cfg->role_session_name, &cfg->external_id, &cfg->output_dir,
        &cfg->log_file, &cfg->config_path, &cfg->program_name,
    };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
}

static const char *level_name(enum cg_log_level level)
{
    switch (level) {
    case CG_LOG_ERROR:
        return "error";
    case CG_LOG_WARN:
        return "warn";
    case CG_LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

size_t cg_config_setting_count(void)
{
    return N_SETTINGS;
}

const char *cg_config_setting_env(size_t index)
{
    return index < N_SETTINGS ? settings[index].env : NULL;
}

const char *cg_config_setting_key(size_t index)
{
    return index < N_SETTINGS ? settings[index].key : NULL;
}

int cg_config_setting_format(const struct cg_config *cfg, size_t index, char *out, size_t size)
{
    if (index >= N_SETTINGS || size == 0)
        return CG_EINVAL;
    const struct setting *st = &settings[index];
    const char *base = (const char *)cfg;
    out[0] = '\0';
    switch (st->kind) {
    case K_BOOL:
        snprintf(out, size, "%s", *(const bool *)(base + st->offset) ? "true" : "false");
        break;
    case K_U32:
        snprintf(out, size, "%u", (unsigned)*(const uint32_t *)(base + st->offset));
        break;
    case K_U64:
        snprintf(out, size, "%llu", (unsigned long long)*(const uint64_t *)(base + st->offset));
        break;
    case K_LOGLEVEL:
        snprintf(out, size, "%s", level_name(*(const enum cg_log_level *)(base + st->offset)));
        break;
    case K_OUTPUT_MODE:
        snprintf(out, size, "%s", *(const bool *)(base + st->offset) ? "shared" : "private");
        break;
    case K_STR:
    case K_GROUP_ARN:
    case K_SESSION: {
        const char *v = *(char *const *)(base + st->offset);
        /* An ExternalId is a shared secret of sorts: say only that it is set. */
        if (v)
            snprintf(out, size, "%s", st->offset == F(external_id) ? "(set)" : v);
        break;
    }
    }
    return 0;
}
