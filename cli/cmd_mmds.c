/* `smartvm mmds set|patch ID (--file F | JSON)` and `smartvm mmds get ID`:
 * the MMDS data store of a running VM (sv_vm_mmds_put/patch/get). */
#include "cli_live.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_FILE = CLI_OPT_LONG_BASE };

/* Firecracker's MMDS data store limit (--mmds-size-limit, which defaults to
 * --http-api-max-payload-size, 51200 bytes): a bigger file could never be put. */
#define MAX_MMDS_FILE_BYTES 51200

static const struct option mmds_opts[] = {
    {"file", required_argument, NULL, OPT_FILE},
    {0},
};

static int on_opt(cli_ctx *cli, int opt, const char *arg, void *ctx)
{
	(void)cli;
	if (opt == OPT_FILE)
		*(const char **)ctx = arg;
	return 0;
}

static int do_write(cli_ctx *cli, int argc, char **argv, bool patch)
{
	const char *file = NULL;
	cli_opts p;
	int rc = cli_live_parse(&p, cli, argc, argv, mmds_opts, on_opt, &file);
	if (rc >= 0)
		return rc;
	if ((rc = cli_live_args(&p, file ? 1 : 2, file ? "ID" : "ID JSON (or --file F)")))
		return rc;
	char *text = NULL;
	if (file && (rc = cli_live_read_file("--file", file, MAX_MMDS_FILE_BYTES, &text)))
		return rc;
	sv_vm *vm;
	if ((rc = cli_attach(cli, p.argv[p.optind], &vm))) {
		free(text);
		return rc;
	}
	const char *json = file ? text : p.argv[p.optind + 1];
	rc = patch ? sv_vm_mmds_patch(vm, json) : sv_vm_mmds_put(vm, json);
	free(text);
	return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

static int do_get(cli_ctx *cli, int argc, char **argv)
{
	cli_opts p;
	int rc = cli_live_parse(&p, cli, argc, argv, NULL, NULL, NULL);
	if (rc >= 0 || (rc = cli_live_args(&p, 1, "ID")))
		return rc;
	sv_vm *vm;
	if ((rc = cli_attach(cli, p.argv[p.optind], &vm)))
		return rc;
	char *out = NULL;
	if ((rc = sv_vm_mmds_get(vm, &out)) < 0)
		return cli_fail(rc);
	int code = cli_print_json_text(out);
	free(out);
	return code;
}

static int cmd_mmds(cli_ctx *cli, int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		cli_print_help(cli->cmd, stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error(cli, "missing subcommand: set, patch or get");
	if (!strcmp(argv[1], "set"))
		return do_write(cli, argc - 1, argv + 1, false);
	if (!strcmp(argv[1], "patch"))
		return do_write(cli, argc - 1, argv + 1, true);
	if (!strcmp(argv[1], "get"))
		return do_get(cli, argc - 1, argv + 1);
	return cli_usage_error(cli, "unknown subcommand \"%s\" (expected set, patch or get)", argv[1]);
}

const cli_command cli_mmds_commands[] = {
    {
	.name = "mmds",
	.summary = "Set, patch or read a VM's metadata (MMDS) data store",
	.usage = "set ID (--file F | JSON)\npatch ID (--file F | JSON)\nget ID",
	.help = "set replaces the data store with the JSON given; patch merges it in\n"
		"(RFC 7396 JSON merge patch: null deletes a key); get prints the store.\n"
		"The VM needs an mmds-config section at boot.\n"
		"  --file F   read the JSON from F instead of the command line (a\n"
		"             regular file of at most 51200 bytes, Firecracker's\n"
		"             default MMDS data store limit)\n"
		"\n"
		"get exits 1 before anything was set; patch exits 1 before a set.\n",
	.handler = cmd_mmds,
    },
    {0},
};
