/* `smartvm balloon set ID MIB` and `smartvm balloon stats ID [--json]`:
 * the balloon device of a running VM. */
#include "cli_live.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_INTERVAL = CLI_OPT_LONG_BASE };

static const struct option set_opts[] = {
	{"stats-interval", required_argument, NULL, OPT_INTERVAL},
	{0},
};

typedef struct {
	bool has_interval;
	uint32_t interval;
} balloon_flags;

static int on_opt(cli_ctx *cli, int opt, const char *arg, void *ctx)
{
	balloon_flags *f = ctx;
	if (opt == OPT_INTERVAL) {
		f->has_interval = true;
		return cli_parse_u32(cli, "--stats-interval", arg, 0, 65535, &f->interval);
	}
	return 0;
}

static int do_set(cli_ctx *cli, int argc, char **argv)
{
	balloon_flags f = {0};
	cli_opts p;
	int rc = cli_live_parse(&p, cli, argc, argv, set_opts, on_opt, &f);
	if (rc >= 0 || (rc = cli_live_args(&p, 2, "ID MIB")))
		return rc;
	uint32_t mib;
	if ((rc = cli_parse_u32(cli, "MIB", p.argv[p.optind + 1], 0, UINT32_MAX, &mib)))
		return rc;
	sv_vm *vm;
	if ((rc = cli_attach(cli, p.argv[p.optind], &vm)))
		return rc;
	if ((rc = sv_vm_balloon_set(vm, mib)) < 0)
		return cli_fail(rc);
	if (f.has_interval && (rc = sv_vm_balloon_set_stats_interval(vm, f.interval)) < 0)
		return cli_fail(rc);
	return CLI_EXIT_OK;
}

static int do_stats(cli_ctx *cli, int argc, char **argv)
{
	cli_opts p;
	int rc = cli_live_parse(&p, cli, argc, argv, NULL, NULL, NULL);
	if (rc >= 0 || (rc = cli_live_args(&p, 1, "ID")))
		return rc;
	sv_vm *vm;
	if ((rc = cli_attach(cli, p.argv[p.optind], &vm)))
		return rc;
	char *out = NULL;
	if ((rc = sv_vm_balloon_stats(vm, &out)) < 0)
		return cli_fail(rc);
	int code = CLI_EXIT_OK;
	if (cli->json) {
		code = cli_print_json_text(out);
	} else {
		json_t *s = json_loads(out, 0, NULL);
		const char *key;
		json_t *v;
		json_object_foreach(s, key, v)
			printf("%-20s %lld\n", key, (long long)json_integer_value(v));
		json_decref(s);
	}
	free(out);
	return code;
}

static int cmd_balloon(cli_ctx *cli, int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		cli_print_help(cli->cmd, stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error(cli, "missing subcommand: set or stats");
	if (!strcmp(argv[1], "set"))
		return do_set(cli, argc - 1, argv + 1);
	if (!strcmp(argv[1], "stats"))
		return do_stats(cli, argc - 1, argv + 1);
	return cli_usage_error(cli, "unknown subcommand \"%s\" (expected set or stats)", argv[1]);
}

const cli_command cli_balloon_commands[] = {
	{
		.name = "balloon",
		.summary = "Change a VM's balloon target or read its statistics",
		.usage = "set ID MIB [--stats-interval S]\nstats ID [--json]",
		.help = "set changes the balloon's target size (MiB) and optionally the statistics\n"
			"interval (statistics can't be switched on or off after boot).\n"
			"stats prints the latest statistics; --json prints Firecracker's object.\n"
			"The VM needs a balloon section at boot; stats need a non-zero\n"
			"stats_polling_interval_s at boot.\n",
		.handler = cmd_balloon,
	},
	{0},
};
