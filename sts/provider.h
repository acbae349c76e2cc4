/*
 * provider.h - credential providers: where base credentials come from,
 * and the AssumeRole step on top of them.
 *
 * One provider per source the AWS SDKs know (reference/aws-auth.md §3):
 * static keys (environment or a shared-file profile), credential_process,
 * web identity (EKS IRSA), container credentials (ECS task role, EKS Pod
 * Identity), EC2 instance metadata (IMDSv2 with the v1 fallback), and
 * assume-role, which wraps another provider (profile role_arn chains and
 * the central-account role).  sts/chain.h picks and builds them from the
 * environment and the shared files; sts/cred_cache.h caches and refreshes.
 *
 * Every fetch is a fresh fetch (no caching here) and is bounded by
 * `deadline_ms` (CLOCK_MONOTONIC ms, 0: only the per-request timeouts).
 * On failure `err` holds one sentence that names the source; the caller
 * logs it once.  Secrets never enter `err`.
 *
 * Owns: a provider owns its settings; an assume-role provider owns its
 * source.
 * Thread safety: one thread at a time per provider (the cache
 * serialises).
 * Signal safety: none (network, files, child processes).
 */
#ifndef CG_STS_PROVIDER_H
#define CG_STS_PROVIDER_H

#include "sts/aws_request.h"
#include "sts/credentials.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cg_provider;

struct cg_provider_ops {
    int (*fetch)(struct cg_provider *p, uint64_t deadline_ms, struct cg_credentials *out,
                 char *err, size_t err_size);
    void (*destroy)(struct cg_provider *p);
};

struct cg_provider {
    const struct cg_provider_ops *ops;
    char *description;  /* "environment variables", "IMDS (role cgagent-instance)", ... */
    bool role_session;  /* its credentials are a role session: AssumeRole on top of
                           them is role chaining, capped at 1 hour */
};

/* How providers reach STS. */
struct cg_sts_settings {
    const char *region;     /* signing region of the endpoint */
    const char *endpoint;   /* full URL */
    const char *ca_bundle;  /* NULL: system store */
    uint32_t max_attempts;  /* 0: 3 */
    struct cg_aws_hooks hooks;
};

int cg_provider_fetch(struct cg_provider *p, uint64_t deadline_ms, struct cg_credentials *out,
                      char *err, size_t err_size);
void cg_provider_free(struct cg_provider *p);

/* Long-term or session keys held in memory (from the environment or a
 * profile).  `c` is copied. */
struct cg_provider *cg_provider_static_new(const char *description,
                                           const struct cg_credentials *c);

/* credential_process: `command` split like a POSIX shell would split words
 * (quotes, backslashes; no expansion) and run without a shell, stdin from
 * /dev/null, in a process group of its own, with 64 KiB of output.  One
 * limit of 30 s (or the fetch's deadline, if sooner) covers reading its
 * output and waiting for it to exit; past it the whole process group is
 * killed (SIGKILL) and the helper reaped.  The child's environment has
 * AWS_CODEGURU_PROFILER_ENABLED=false so the agent never profiles (or
 * recursively runs) its own credential helper. */
struct cg_provider *cg_provider_process_new(const char *description, const char *command);

/* AssumeRoleWithWebIdentity with the token read from `token_file` on each
 * fetch. */
struct cg_provider *cg_provider_web_identity_new(const struct cg_sts_settings *sts,
                                                 const char *role_arn, const char *token_file,
                                                 const char *session_name);

/* Container credentials from `url` (already checked by the chain), with an
 * Authorization header from `token_file` (re-read on each fetch) or
 * `token`. */
struct cg_provider *cg_provider_container_new(const char *url, const char *token,
                                              const char *token_file);

/* EC2 instance metadata at `endpoint` ("http://169.254.169.254"). */
struct cg_provider *cg_provider_imds_new(const char *endpoint, bool v1_disabled);

/* AssumeRole of `role_arn` with credentials from `source` (taken over,
 * freed with this provider even on failure). */
struct cg_provider *cg_provider_assume_role_new(struct cg_provider *source,
                                                const struct cg_sts_settings *sts,
                                                const char *role_arn, const char *session_name,
                                                const char *external_id, uint32_t duration_s);

/* Splits a credential_process command line; exposed for tests.  Returns a
 * NULL-terminated malloc'd argv (free each element and the array), or NULL
 * for unbalanced quotes, an empty line or no memory. */
char **cg_split_command(const char *command);

/* Reads a small text file we do not own (token files): regular file, at
 * most max_bytes, surrounding white space trimmed.  Returns 0 and a
 * malloc'd *out, or an error with a sentence in err. */
int cg_read_token_file(const char *path, size_t max_bytes, const char *what, char **out,
                       char *err, size_t err_size);

/* Parses the JSON credential documents of IMDS, container endpoints and
 * credential_process (AccessKeyId, SecretAccessKey, Token or SessionToken,
 * Expiration).  `token_key` is "Token" or "SessionToken".  Returns 0,
 * CG_EPARSE, CG_EAUTH (a "Code" other than "Success") or CG_ENOMEM; err
 * names `what`.  err never quotes the document: malformed JSON is told by
 * a fixed phrase and its line, column and byte offset ("not valid JSON
 * (invalid syntax at line 1, column 67, byte 67)"), because the parser's
 * excerpt of the input may be part of the secret.  The copies jansson made
 * of the secret and the token are wiped before the document is freed. */
int cg_parse_credentials_json(const char *json, size_t len, const char *token_key,
                              bool expiration_required, const char *what,
                              struct cg_credentials *out, char *err, size_t err_size);

#endif
