/* The networking flags of `smartvm run` (--net, --no-net, --bridge, --subnet,
 * --egress-rule, --egress-default), kept in cmd_net.c beside `smartvm net`
 * so that cmd_run.c only forwards them. */
#ifndef SMARTVM_CLI_CMD_NET_H
#define SMARTVM_CLI_CMD_NET_H

#include "cli.h"

#include <smartvm/netadmin.h>

/* Option values, clear of cmd_run.c's own enum. */
enum {
	CLI_OPT_RUN_NET = CLI_OPT_LONG_BASE + 0x80,
	CLI_OPT_RUN_NO_NET,
	CLI_OPT_RUN_BRIDGE,
	CLI_OPT_RUN_SUBNET,
	CLI_OPT_RUN_EGRESS_RULE,
	CLI_OPT_RUN_EGRESS_DEFAULT,
};

#define CLI_RUN_NET_LONGOPTS                                                                                 \
	{"net", no_argument, NULL, CLI_OPT_RUN_NET}, {"no-net", no_argument, NULL, CLI_OPT_RUN_NO_NET},      \
	    {"bridge", required_argument, NULL, CLI_OPT_RUN_BRIDGE},                                         \
	    {"subnet", required_argument, NULL, CLI_OPT_RUN_SUBNET},                                         \
	    {"egress-rule", required_argument, NULL, CLI_OPT_RUN_EGRESS_RULE},                               \
	    {"egress-default", required_argument, NULL, CLI_OPT_RUN_EGRESS_DEFAULT}

#define CLI_RUN_NET_USAGE " [--net | --no-net] [--bridge NAME] [--subnet CIDR]\n" \
			  " [--egress-rule allow|deny:CIDR[:PROTO[:PORTS]]]...\n"   \
			  " [--egress-default allow|deny]"

#define CLI_RUN_NET_HELP                                                                                   \
	"  --net              add a network interface \"eth0\" (a TAP smartvm creates,\n"                      \
	"                     on the bridge, with a leased address and NAT)\n"                                 \
	"  --no-net           drop every network interface of the config file\n"                               \
	"  --bridge NAME      host bridge (default svbr0; created if absent)\n"                                \
	"  --subnet CIDR      guest subnet, IPv4, prefix 1-30 (default 172.30.0.0/24);\n"                      \
	"                     the gateway is its first address; not in 0.0.0.0/8,\n"                           \
	"                     loopback, link-local, multicast or 240.0.0.0/4\n"                                \
	"  --egress-rule allow|deny:CIDR[:PROTO[:PORTS]]\n"                                                    \
	"                     egress rule for traffic from the subnet (repeatable,\n"                          \
	"                     first match wins); PROTO tcp|udp|icmp|all, PORTS N or\n"                         \
	"                     N-M (tcp/udp), e.g. deny:10.0.0.0/8:tcp:22\n"                                    \
	"  --egress-default allow|deny\n"                                                                      \
	"                     what happens to traffic no rule matches (default allow)\n"

typedef struct {
	bool add_eth0, drop_all;
	sv_egress_rule *rules;
	char (*dests)[SV_EGRESS_DEST_MAX];
	size_t n_rules;
	sv_net_iface_config *ifaces; /* the array cfg points to after --net */
} cli_run_net;

/* Handles one option value c of `run` if it is a networking one: 0 (handled),
 * CLI_EXIT_USAGE (message printed), or -1 when c is not one of them. */
int cli_run_net_option(cli_ctx *cli, cli_run_net *n, int c, const char *arg);

/* Applies --net / --no-net to cfg (whose interfaces may come from a config
 * file) and hands the egress rules to cli->opts. Before cli_manager(). */
int cli_run_net_apply(cli_ctx *cli, cli_run_net *n, sv_vm_config *cfg);

void cli_run_net_free(cli_run_net *n);

/* `smartvm net limit ID IFACE ...` (cmd_net_limit.c); argv[0] is "limit". */
int cli_net_limit(cli_ctx *cli, int argc, char **argv);

#endif
