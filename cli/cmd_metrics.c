/* `smartvm metrics ID [--json] [--no-flush]`: flushes the VMM's metrics and
 * prints the latest flush (every non-zero counter as "group.name value", or
 * the whole object with --json). */
#include "cli_live.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_NO_FLUSH = CLI_OPT_LONG_BASE };

static const struct option metrics_opts[] = {
	{"no-flush", no_argument, NULL, OPT_NO_FLUSH},
	{0},
};

static int on_opt(cli_ctx *cli, int opt, const char *arg, void *ctx)
{
	(void)cli;
	(void)arg;
	if (opt == OPT_NO_FLUSH)
		*(bool *)ctx = false;
	return 0;
}

static void print_flat(const char *prefix, json_t *v)
{
	if (json_is_object(v)) {
		const char *key;
		json_t *child;
		json_object_foreach(v, key, child) {
			char *p = NULL;
			if (asprintf(&p, "%s%s%s", prefix, *prefix ? "." : "", key) < 0)
				return;
			print_flat(p, child);
			free(p);
		}
	} else if (json_is_integer(v) && json_integer_value(v) != 0) {
		printf("%s %lld\n", prefix, (long long)json_integer_value(v));
	} else if (json_is_string(v)) {
		printf("%s %s\n", prefix, json_string_value(v));
	}
}

static int cmd_metrics(cli_ctx *cli, int argc, char **argv)
{
	bool flush = true;
	cli_opts p;
	int rc = cli_live_parse(&p, cli, argc, argv, metrics_opts, on_opt, &flush);
	if (rc >= 0 || (rc = cli_live_args(&p, 1, "ID")))
		return rc;
	sv_vm *vm;
	if ((rc = cli_attach(cli, p.argv[p.optind], &vm)))
		return rc;
	char *out = NULL;
	if ((rc = sv_vm_metrics(vm, flush, &out, NULL)) < 0)
		return cli_fail(rc);
	int code = CLI_EXIT_OK;
	if (cli->json) {
		code = cli_print_json_text(out);
	} else {
		json_t *m = json_loads(out, 0, NULL);
		print_flat("", m);
		json_decref(m);
	}
	free(out);
	return code;
}

const cli_command cli_metrics_commands[] = {
    {
	.name = "metrics",
	.summary = "Flush and print a VM's VMM metrics",
	.usage = "ID [--json] [--no-flush]",
	.help = "Asks the VMM to flush its metrics (FlushMetrics), reads the end of the\n"
		"metrics file (one JSON object per flush; never the whole file) and prints\n"
		"the latest flush: every non-zero counter as \"group.name value\", or the\n"
		"whole object with --json. A metrics file smartvm owns (a jailed or restored\n"
		"VM's) is emptied once it passes 4 MiB; your own file is only read.\n"
		"  --no-flush  print the latest flush without asking for a new one\n"
		"The VM needs a metrics section at boot.\n",
	.handler = cmd_metrics,
    },
    {0},
};
