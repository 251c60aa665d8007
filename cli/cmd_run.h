/* The parser of `smartvm run --drive` (in cmd_run.c), declared here so that
 * its fuzz harness (fuzz/run_flags.c) calls the very code `run` does. */
#ifndef SMARTVM_CLI_CMD_RUN_H
#define SMARTVM_CLI_CMD_RUN_H

#include "cli.h"

/* Parses "id=ID,path=P[,ro]" (arg; spec is a copy of it that this cuts up)
 * into a drive whose strings point into spec. Returns 0 or CLI_EXIT_USAGE
 * (message printed). */
int cli_run_parse_drive(cli_ctx *cli, const char *arg, char *spec, sv_drive_config *d);

#endif
