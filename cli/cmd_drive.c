/* `smartvm drive update ID DRIVE [--path P] [--bandwidth S:R[:B]] [--ops S:R[:B]]`:
 * a new backing file and/or rate limiter for a running VM's drive;
 * `smartvm pmem update ID PMEM --bandwidth ... --ops ...`: a new rate limiter
 * for its pmem device. */
#include "cli_live.h"

#include <string.h>

enum { OPT_PATH = CLI_OPT_LONG_BASE, OPT_BW, OPT_OPS };

static const struct option drive_opts[] = {
	{"path", required_argument, NULL, OPT_PATH},
	{"bandwidth", required_argument, NULL, OPT_BW},
	{"ops", required_argument, NULL, OPT_OPS},
	{0},
};

typedef struct {
	const char *path;
	sv_rate_limiter rl;
} drive_flags;

static int on_opt(cli_ctx *cli, int opt, const char *arg, void *ctx)
{
	drive_flags *f = ctx;
	switch (opt) {
	case OPT_PATH: f->path = arg; return 0;
	case OPT_BW: f->rl.has_bandwidth = true; return cli_live_bucket(cli, "--bandwidth", arg, &f->rl.bandwidth);
	case OPT_OPS: f->rl.has_ops = true; return cli_live_bucket(cli, "--ops", arg, &f->rl.ops);
	}
	return 0;
}

/* `drive|pmem update ID NAME [flags]`: --help, the one subcommand, the flags
 * and both operands. -1 when the command goes on, else its exit code. */
static int parse_update(cli_ctx *cli, int argc, char **argv, const struct option *opts, const char *operands,
			drive_flags *f, cli_opts *p)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		cli_print_help(cli->cmd, stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "update"))
		return cli_usage_error(cli, argc < 2 ? "missing subcommand: update" : "unknown subcommand \"%s\" (expected update)",
				       argc < 2 ? "" : argv[1]);
	int rc = cli_live_parse(p, cli, argc - 1, argv + 1, opts, on_opt, f);
	if (rc >= 0 || (rc = cli_live_args(p, 2, operands)))
		return rc;
	return -1;
}

static int cmd_drive(cli_ctx *cli, int argc, char **argv)
{
	drive_flags f = {0};
	cli_opts p;
	int rc = parse_update(cli, argc, argv, drive_opts, "ID DRIVE", &f, &p);
	if (rc >= 0)
		return rc;
	bool limit = f.rl.has_bandwidth || f.rl.has_ops;
	if (!f.path && !limit)
		return cli_usage_error(cli, "give --path, --bandwidth or --ops");
	sv_vm *vm;
	if ((rc = cli_attach(cli, p.argv[p.optind], &vm)))
		return rc;
	rc = sv_vm_drive_update(vm, p.argv[p.optind + 1], f.path, limit ? &f.rl : NULL);
	return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

static int cmd_pmem(cli_ctx *cli, int argc, char **argv)
{
	drive_flags f = {0};
	cli_opts p;
	int rc = parse_update(cli, argc, argv, drive_opts + 1 /* not --path */, "ID PMEM", &f, &p);
	if (rc >= 0)
		return rc;
	if (!f.rl.has_bandwidth && !f.rl.has_ops)
		return cli_usage_error(cli, "give --bandwidth, --ops or both");
	sv_vm *vm;
	if ((rc = cli_attach(cli, p.argv[p.optind], &vm)))
		return rc;
	rc = sv_vm_pmem_update(vm, p.argv[p.optind + 1], &f.rl);
	return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

const cli_command cli_drive_commands[] = {
    {
	.name = "drive",
	.summary = "Hot-update a running VM's drive (backing file, rate limiter)",
	.usage = "update ID DRIVE [--path P] [--bandwidth SIZE:REFILL_MS[:BURST]]\n"
		 " [--ops SIZE:REFILL_MS[:BURST]]",
	.help = "Points drive DRIVE of a running VM at a new backing file and/or sets a\n"
		"new rate limiter (PATCH /drives/DRIVE). The new file follows the rules of a\n"
		"boot: a writable drive gets a private copy (P is only read), a read-only one\n"
		"uses P in place; `inspect` shows the new path. Waits for another live\n"
		"operation on the VM (snapshot, pause, ...) to finish.\n"
		"  --path P           the new backing file: a regular file or block device\n"
		"  --bandwidth S:R[:B]  bytes: bucket size, refill time in ms, one-time burst\n"
		"  --ops S:R[:B]      operations, same shape\n",
	.handler = cmd_drive,
    },
    {
	.name = "pmem",
	.summary = "Set a running VM's pmem device rate limiter",
	.usage = "update ID PMEM [--bandwidth SIZE:REFILL_MS[:BURST]] [--ops SIZE:REFILL_MS[:BURST]]",
	.help = "Sets a new rate limiter for pmem device PMEM of a running VM (PATCH\n"
		"/pmem/PMEM); it replaces the one in force, and `inspect` shows it.\n"
		"Firecracker only. Waits for another live operation on the VM to finish.\n"
		"  --bandwidth S:R[:B]  bytes: bucket size, refill time in ms, one-time burst\n"
		"  --ops S:R[:B]      operations, same shape\n",
	.handler = cmd_pmem,
    },
    {0},
};
