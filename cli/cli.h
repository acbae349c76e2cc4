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
#include <stdio.h>

struct json_t;

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

/* Text for `cgagent check`'s output (check_text.c), which quotes the
 * environment, config files and endpoints.  Text mode: C0 controls and DEL
 * become \n, \r, \t or \xNN as in the log, and so do C1 controls
 * (U+0080-U+009F) and bytes that are not UTF-8, byte by byte; valid UTF-8
 * passes.  A malloc'd copy, or NULL when out of memory. */
char *cg_check_escape(const char *text);

/* Writes cg_check_escape(text) to f ("(out of memory)" without memory). */
void cg_check_print(FILE *f, const char *text);

/* A new JSON string of `text`, bytes that are not UTF-8 written as the
 * text \xNN (jansson takes only UTF-8); the encoder escapes controls.
 * NULL when out of memory. */
struct json_t *cg_check_json_string(const char *text);

/* json_dumps(root) indented in key order, with DEL and C1 controls
 * written \u007F and \u0080-\u009F as well (jansson escapes only C0): no
 * raw control byte is left.  Malloc'd; NULL when out of memory. */
char *cg_check_json_dump(const struct json_t *root);

#endif
