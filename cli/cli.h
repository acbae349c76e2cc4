/*
 * cli.h - the subcommands of the `cgagent` launcher, one file each.
 *
 * Each takes the arguments after its name and returns the process exit
 * status (0 ok, 1 failure, 2 usage).  The `cgagent` command is its own
 * program: it links the same archive as the injected library but runs
 * none of the sampling machinery.
 *
 * Owns: nothing beyond the command's own run.
 * Thread safety: called from main(), single-threaded.
 * Signal safety: none.
 */
#ifndef CG_CLI_H
#define CG_CLI_H

#include <stdbool.h>
#include <stddef.h>

int cg_cli_check(int argc, char **argv);

/* What `cgagent check` knows when a stage fails, for the diagnosis.
 * Strings are borrowed; any may be NULL. */
struct cg_check_context {
    const char *stage;    /* "configuration", "credentials", "AssumeRole", "ConfigureAgent" */
    const char *endpoint; /* the URL that stage talks to */
    const char *group, *region, *role_arn;
    bool external_id_set;
};

/* One cause and one fix, in plain words, for the error sentence of a
 * failed stage (check_diagnose.c).  Never quotes a secret: it is given
 * none. */
void cg_check_diagnose(const char *error, const struct cg_check_context *c, char *cause,
                       size_t cause_size, char *fix, size_t fix_size);

/* The warning for a clock `offset_s` (server minus host) the agent works
 * around. */
void cg_check_skew_warning(long long offset_s, char *out, size_t size);

#endif
