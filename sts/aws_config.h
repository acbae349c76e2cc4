/*
 * aws_config.h - the AWS shared config and credentials files
 * (~/.aws/config, ~/.aws/credentials), read the way the AWS SDKs read them.
 *
 * Format: INI-like.  Whole-line comments start with '#' or ';'.  In the
 * config file a profile is "[default]" or "[profile NAME]"; other sections
 * ("[sso-session ...]", "[services ...]", a bare "[NAME]") are skipped.  In
 * the credentials file a profile is "[NAME]".  An indented line continues
 * the previous property (sub-properties such as `s3 =` blocks).  For the
 * same profile and key, the credentials file wins.
 *
 * Why not inih (used for our own config file): Debian's inih is built with
 * 200-byte lines, and an aws_session_token line is often over 1,000 bytes.
 * This reader takes lines of any length within the file-size limit.
 *
 * Files are read, not trusted: regular files only, at most 1 MiB, and a
 * malformed line is an error that names file and line (the caller logs it
 * once and the agent does not guess).
 *
 * Owns: cg_aws_config owns everything; values are wiped on cleanup
 * (they include secrets).
 * Thread safety: load once, then read-only.
 * Signal safety: none (files, allocation).
 */
#ifndef CG_STS_AWS_CONFIG_H
#define CG_STS_AWS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct cg_aws_property {
    char *key;
    char *value;
    bool from_credentials_file;
    int line;
};

struct cg_aws_profile {
    char *name;
    struct cg_aws_property *props;
    size_t count;
    bool in_config_file, in_credentials_file;
};

struct cg_aws_config {
    struct cg_aws_profile *profiles;
    size_t count;
    char *config_path;      /* the paths used (whether or not they exist) */
    char *credentials_path;
};

#define CG_AWS_CONFIG_MAX_FILE_BYTES (1024 * 1024)

/* Reads both files; a missing file is not an error (it just has no
 * profiles).  Returns 0; CG_EPARSE, CG_EINVAL (not a regular file),
 * CG_ETOOBIG or -errno with a one-line description in err; CG_ENOMEM. */
int cg_aws_config_load(struct cg_aws_config *cfg, const char *config_path,
                       const char *credentials_path, char *err, size_t err_size);

/* The same from text (tests).  Either text may be NULL. */
int cg_aws_config_load_text(struct cg_aws_config *cfg, const char *config_text,
                            const char *credentials_text, char *err, size_t err_size);

void cg_aws_config_cleanup(struct cg_aws_config *cfg);

/* The profile called `name`, or NULL. */
const struct cg_aws_profile *cg_aws_config_profile(const struct cg_aws_config *cfg,
                                                   const char *name);

/* The value of `key` in the profile (credentials file first), or NULL.
 * An empty value is returned as "" (present but empty). */
const char *cg_aws_profile_get(const struct cg_aws_profile *p, const char *key);

#endif
