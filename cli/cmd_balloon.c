/* A running VM's memory: `smartvm balloon set|stats|hint-start|hint-stop|
 * hint-status` (the balloon device, its free page hinting runs) and
 * `smartvm memory set|status` (hotpluggable memory). */
#include "cli_live.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_INTERVAL = CLI_OPT_LONG_BASE, OPT_ACK };

static const struct option set_opts[] = {
	{"stats-interval", required_argument, NULL, OPT_INTERVAL},
	{0},
};

static const struct option hint_opts[] = {
	{"ack-on-stop", no_argument, NULL, OPT_ACK},
	{0},
};

typedef struct {
	bool has_interval;
	uint32_t interval;
	bool ack_on_stop;
} balloon_flags;

static int on_opt(cli_ctx *cli, int opt, const char *arg, void *ctx)
{
	balloon_flags *f = ctx;
	if (opt == OPT_INTERVAL) {
		f->has_interval = true;
		return cli_parse_u32(cli, "--stats-interval", arg, 0, 65535, &f->interval);
	}
	if (opt == OPT_ACK)
		f->ack_on_stop = true;
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

/* A JSON status: as is with --json, else one "key value" line per member. */
static int print_status(cli_ctx *cli, char *out)
{
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
	return print_status(cli, out);
}

/* hint-start [--ack-on-stop] / hint-stop / hint-status: one VM id each. */
static int do_hint(cli_ctx *cli, int argc, char **argv)
{
	bool start = !strcmp(argv[0], "hint-start"), status = !strcmp(argv[0], "hint-status");
	balloon_flags f = {0};
	cli_opts p;
	int rc = cli_live_parse(&p, cli, argc, argv, start ? hint_opts : NULL, on_opt, &f);
	if (rc >= 0 || (rc = cli_live_args(&p, 1, "ID")))
		return rc;
	sv_vm *vm;
	if ((rc = cli_attach(cli, p.argv[p.optind], &vm)))
		return rc;
	char *out = NULL;
	rc = start ? sv_vm_balloon_hinting_start(vm, f.ack_on_stop)
		   : status ? sv_vm_balloon_hinting_status(vm, &out) : sv_vm_balloon_hinting_stop(vm);
	if (rc < 0)
		return cli_fail(rc);
	return status ? print_status(cli, out) : CLI_EXIT_OK;
}

static int cmd_balloon(cli_ctx *cli, int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		cli_print_help(cli->cmd, stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error(cli, "missing subcommand: set, stats, hint-start, hint-stop or hint-status");
	if (!strcmp(argv[1], "set"))
		return do_set(cli, argc - 1, argv + 1);
	if (!strcmp(argv[1], "stats"))
		return do_stats(cli, argc - 1, argv + 1);
	if (!strcmp(argv[1], "hint-start") || !strcmp(argv[1], "hint-stop") || !strcmp(argv[1], "hint-status"))
		return do_hint(cli, argc - 1, argv + 1);
	return cli_usage_error(
	    cli, "unknown subcommand \"%s\" (expected set, stats, hint-start, hint-stop or hint-status)", argv[1]);
}

static int cmd_memory(cli_ctx *cli, int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		cli_print_help(cli->cmd, stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error(cli, "missing subcommand: set or status");
	bool set = !strcmp(argv[1], "set");
	if (!set && strcmp(argv[1], "status"))
		return cli_usage_error(cli, "unknown subcommand \"%s\" (expected set or status)", argv[1]);
	cli_opts p;
	int rc = cli_live_parse(&p, cli, argc - 1, argv + 1, NULL, NULL, NULL);
	if (rc >= 0 || (rc = cli_live_args(&p, set ? 2 : 1, set ? "ID MIB" : "ID")))
		return rc;
	uint32_t mib = 0;
	if (set && (rc = cli_parse_u32(cli, "MIB", p.argv[p.optind + 1], 0, UINT32_MAX, &mib)))
		return rc;
	sv_vm *vm;
	if ((rc = cli_attach(cli, p.argv[p.optind], &vm)))
		return rc;
	char *out = NULL;
	if ((rc = set ? sv_vm_memory_hotplug_set(vm, mib) : sv_vm_memory_hotplug_status(vm, &out)) < 0)
		return cli_fail(rc);
	return set ? CLI_EXIT_OK : print_status(cli, out);
}

const cli_command cli_balloon_commands[] = {
	{
		.name = "balloon",
		.summary = "Change a VM's balloon target, read its statistics, run free page hinting",
		.usage = "set ID MIB [--stats-interval S]\nstats ID [--json]\n"
			 "hint-start ID [--ack-on-stop]\nhint-stop ID\nhint-status ID [--json]",
		.help = "set changes the balloon's target size (MiB) and optionally the statistics\n"
			"interval (statistics can't be switched on or off after boot).\n"
			"stats prints the latest statistics; --json prints Firecracker's object.\n"
			"hint-start starts a free page hinting run (the guest reports the pages it\n"
			"does not use; --ack-on-stop: Firecracker acknowledges the guest's \"done\"\n"
			"itself), hint-stop ends it, hint-status prints Firecracker's\n"
			"BalloonHintingStatus (Firecracker only; free_page_hinting at boot).\n"
			"The VM needs a balloon section at boot; stats need a non-zero\n"
			"stats_polling_interval_s at boot.\n",
		.handler = cmd_balloon,
	},
	{
		.name = "memory",
		.summary = "Plug or unplug a VM's hotpluggable memory, or read its status",
		.usage = "set ID MIB\nstatus ID [--json]",
		.help = "set asks the guest to plug (or unplug) hotpluggable memory until MIB of it\n"
			"is plugged: a multiple of the block size, at most the total size (PATCH\n"
			"/hotplug/memory). The guest follows at its own pace. status prints the\n"
			"total, slot, block, plugged and requested sizes in MiB; --json prints\n"
			"Firecracker's object. Firecracker only; the VM needs a memory-hotplug\n"
			"section at boot.\n",
		.handler = cmd_memory,
	},
	{0},
};
