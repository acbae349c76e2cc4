/*
 * config.h - the agent's settings and where they come from (SPEC §3).
 *
 * Precedence, highest first: environment, the config file's
 * [process NAME] section, its [default] section, values from
 * ConfigureAgent (applied later with cg_config_apply_service), built-in
 * defaults.  Every setting remembers whether the user set it, so the
 * service never overrides a user's value.
 *
 * Bad input (a malformed file, an out-of-range value) gets one log line
 * naming the file, line and key (or the variable) and makes
 * cg_config_load fail: the agent stays off rather than guess.
 *
 * Owns: struct cg_config owns its strings; cg_config_cleanup frees them.
 * Thread safety: load once (the constructor, or `cgagent check`), then
 * read-only; the agent copies what it needs.
 * Signal safety: none (it allocates, reads files and the environment).
 */
#ifndef CG_CONFIG_H
#define CG_CONFIG_H

#include "core/base/log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cg_config {
    bool enabled;
    char *profiling_group;      /* name; from the ARN when only that is set */
    char *profiling_group_arn;
    char *region;               /* group region; NULL: resolved from AWS config later */
    char *account_id;           /* from the group ARN, for error messages */
    char *role_arn;             /* central-account role; NULL: base credentials */
    char *role_session_name;    /* NULL: cgagent-<host>-<pid> */
    char *external_id;
    uint32_t cpu_hz;            /* samples per CPU-second per thread; 0 = off */
    uint32_t wall_interval_ms;  /* 0 = wall sampling off */
    uint64_t reporting_interval_ms;
    uint32_t max_stack_depth;
    char *output_dir;           /* local sink; NULL = none */
    bool output_shared;         /* output_mode=shared: files 0644, directories 0755 */
    uint32_t cpu_limit_percent;
    uint32_t memory_limit_mb;
    enum cg_log_level log_level;
    char *log_file;
    char *config_path;          /* file actually read, NULL if none */
    char *program_name;         /* basename of the executable */
    bool profile_go;            /* profile Go programs anyway (their runtime owns signals) */

    /* Which fields the user set (env or file): the service must not
     * override them. */
    bool user_wall_interval, user_reporting_interval, user_max_stack_depth;
};

/* Where cg_config_load reads from; injectable for tests. */
struct cg_config_source {
    /* getenv replacement; NULL means the process environment. */
    const char *(*getenv_fn)(const char *name, void *ctx);
    void *getenv_ctx;
    const char *exe_name;   /* basename of /proc/self/exe */
    const char *argv0_name; /* basename of argv[0], may be NULL */
    const char *default_config_path; /* NULL: "/etc/cgagent.conf" */
    /* Called for each value applied (a later call for the same setting
     * overrides): `index` is the setting's (cg_config_setting_*), `origin`
     * says where it came from ("env NAME", "[default] FILE:LINE",
     * "[process NAME] FILE:LINE", "env AWS_REGION", "profiling_group_arn").
     * Only `cgagent check` asks; NULL for the agent. */
    void (*on_value_fn)(size_t index, const char *origin, void *ctx);
    void *on_value_ctx;
};

/* The settings table, for `cgagent check`: how many settings, each one's
 * variable and file key (never NULL), and its effective value in *cfg as
 * text ("" when unset; the ExternalId as "(set)").  Index out of range:
 * NULL / CG_EINVAL. */
size_t cg_config_setting_count(void);
const char *cg_config_setting_env(size_t index);
const char *cg_config_setting_key(size_t index);
int cg_config_setting_format(const struct cg_config *cfg, size_t index, char *out, size_t size);

/* Who the process runs as, for cg_config_privilege_reason. */
struct cg_process_ids {
    unsigned long at_secure;      /* getauxval(AT_SECURE) */
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    uint64_t cap_permitted;       /* permitted capability set */
};

/* Reads the process's ids and capabilities without touching the
 * environment or any file (getauxval, getresuid, getresgid, capget).
 * What cannot be read is taken as privileged. */
void cg_config_process_ids(struct cg_process_ids *ids);

/* Why a process with these ids must not read its environment or config
 * for the agent (it runs with privilege its environment's author may not
 * have), or NULL: AT_SECURE; real, effective and saved uids (or gids)
 * that differ; a non-root real uid with a non-empty permitted capability
 * set.  Pure function. */
const char *cg_config_privilege_reason(const struct cg_process_ids *ids);

/* Fills *cfg.  In a privileged process (cg_config_privilege_reason, when
 * no getenv_fn is injected) it reads nothing and returns CG_ESTATE
 * without logging.  Otherwise returns 0; CG_EINVAL or CG_EPARSE after logging one line
 * when some input is bad; CG_ENOMEM.  On error *cfg is cleaned up. */
int cg_config_load(struct cg_config *cfg, const struct cg_config_source *src);

/* Frees the strings.  Safe on a zeroed or half-loaded struct. */
void cg_config_cleanup(struct cg_config *cfg);

/* Parses a profiling-group ARN
 * arn:PARTITION:codeguru-profiler:REGION:ACCOUNT:profilingGroup/NAME.
 * Outputs are malloc'd.  Returns 0 or CG_EINVAL. */
int cg_config_parse_group_arn(const char *arn, char **name, char **region, char **account);

/* True when `name` is a valid RoleSessionName: 2-64 of [A-Za-z0-9_+=,.@-]. */
bool cg_config_session_name_valid(const char *name);

#endif
