/*
 * cli.h - the subcommands of the `cgagent` launcher, one file each.
 *
 * Each takes the arguments after its name and returns the process exit
 * status (0 ok, 1 failure, 2 usage).
 */
#ifndef CG_CLI_H
#define CG_CLI_H

int cg_cli_check(int argc, char **argv);

#endif
