/* `smartvm net limit ID IFACE [--rx-bandwidth ...] [--tx-bandwidth ...]
 * [--rx-ops ...] [--tx-ops ...]`: new rate limiters for a running VM's
 * interface (PATCH /network-interfaces/IFACE). The `net` command group
 * (cli/cmd_net.c) hands its `limit` subcommand here. */
#include "cli_live.h"
#include "cmd_net.h"

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

int cli_net_limit(cli_ctx *cli, int argc, char **argv)
{
	limit_flags f = {0};
	cli_opts p;
	int rc = cli_live_parse(&p, cli, argc, argv, limit_opts, on_opt, &f);
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
