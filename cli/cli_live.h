/* Helpers shared by the live-operation commands (snapshot, mmds, balloon,
 * drive, net limit, metrics): argument shapes they all use. */
#ifndef SMARTVM_CLI_LIVE_H
#define SMARTVM_CLI_LIVE_H

#include "cli.h"

/* Parses the command's options with no options of its own beyond longopts
 * (may be NULL); on CLI_OPTS_DONE returns -1 and the positional arguments
 * are p->argv[p->optind..]. Else the exit code. */
int cli_live_parse(cli_opts *p, cli_ctx *cli, int argc, char **argv, const struct option *longopts,
		   int (*on_opt)(cli_ctx *cli, int opt, const char *arg, void *ctx), void *ctx);

/* Exactly n positional arguments, named in `names` ("ID DIR") for the error. */
int cli_live_args(cli_opts *p, int n, const char *names);

/* Parses a token bucket "SIZE:REFILL_MS[:BURST]" for flag into tb. */
int cli_live_bucket(cli_ctx *cli, const char *flag, const char *text, sv_token_bucket *tb);

/* Reads a whole file named by a flag (malloc'd text): a regular file of at
 * most max_bytes (what its consumer accepts), else a usage error naming the
 * flag and the file. */
int cli_live_read_file(const char *flag, const char *path, size_t max_bytes, char **out);

#endif
