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

int cg_cli_check(int argc, char **argv);

#endif
