/* `smartvm net limit ID IFACE [--rx-bandwidth ...] [--tx-bandwidth ...]
 * [--rx-ops ...] [--tx-ops ...]`: new rate limiters for a running VM's
 * interface. Lives here until the networking commands (cli/cmd_net.c, branch
 * net) take the `net` group over; then this becomes its `limit` row. */
#include "cli_live.h"

#include <string.h>

enum { OPT_RX_BW = CLI_OPT_LONG_BASE, OPT_TX_BW, OPT_RX_OPS, OPT_TX_OPS };

static const struct option limit_opts[] = {
	{"rx-bandwidth", required_argument, NULL, OPT_RX_BW},
	{"tx-bandwidth", required_argument, NULL, OPT_TX_BW},
	{"rx-ops", required_argument, NULL, OPT_RX_OPS},
	{"tx-ops", required_argument, NULL, OPT_TX_OPS},
	{0},
};

typedef struct {
	sv_rate_limiter rx, tx;
} limit_flags;

static int on_opt(cli_ctx *cli, int opt, const char *arg, void *ctx)
{
	limit_flags *f = ctx;
	switch (opt) {
	case OPT_RX_BW: f->rx.has_bandwidth = true; return cli_live_bucket(cli, "--rx-bandwidth", arg, &f->rx.bandwidth);
	case OPT_TX_BW: f->tx.has_bandwidth = true; return cli_live_bucket(cli, "--tx-bandwidth", arg, &f->tx.bandwidth);
	case OPT_RX_OPS: f->rx.has_ops = true; return cli_live_bucket(cli, "--rx-ops", arg, &f->rx.ops);
	case OPT_TX_OPS: f->tx.has_ops = true; return cli_live_bucket(cli, "--tx-ops", arg, &f->tx.ops);
	}
	return 0;
}

static int cmd_net(cli_ctx *cli, int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		cli_print_help(cli->cmd, stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "limit"))
		return cli_usage_error(cli, argc < 2 ? "missing subcommand: limit" : "unknown subcommand \"%s\" (expected limit)",
				       argc < 2 ? "" : argv[1]);
	limit_flags f = {0};
	cli_opts p;
	int rc = cli_live_parse(&p, cli, argc - 1, argv + 1, limit_opts, on_opt, &f);
	if (rc >= 0 || (rc = cli_live_args(&p, 2, "ID IFACE")))
		return rc;
	bool rx = f.rx.has_bandwidth || f.rx.has_ops, tx = f.tx.has_bandwidth || f.tx.has_ops;
	if (!rx && !tx)
		return cli_usage_error(cli, "give at least one of --rx-bandwidth, --tx-bandwidth, --rx-ops, --tx-ops");
	sv_vm *vm;
	if ((rc = cli_attach(cli, p.argv[p.optind], &vm)))
		return rc;
	rc = sv_vm_net_iface_update(vm, p.argv[p.optind + 1], rx ? &f.rx : NULL, tx ? &f.tx : NULL);
	return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

const cli_command cli_net_limit_commands[] = {
	{
		.name = "net",
		.summary = "Change a running VM's network rate limits",
		.usage = "limit ID IFACE [--rx-bandwidth S:R[:B]] [--tx-bandwidth S:R[:B]]\n"
			 " [--rx-ops S:R[:B]] [--tx-ops S:R[:B]]",
		.help = "Sets new rate limiters on interface IFACE of a running VM\n"
			"(PATCH /network-interfaces/IFACE). Each bucket is SIZE:REFILL_MS[:BURST];\n"
			"bandwidth in bytes, ops in operations.\n",
		.handler = cmd_net,
	},
	{0},
};
