/* The networking flags of `smartvm run` (--net, --no-net, --bridge, --subnet,
 * --egress-rule, --egress-default, --wireguard, -p/--publish, --netns, --tap,
 * --allow-vm-to-vm, --allow-host-dns), kept in cmd_net.c beside `smartvm
 * net` so that cmd_run.c only forwards them. */
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
	CLI_OPT_RUN_WIREGUARD,
	CLI_OPT_RUN_NETNS,
	CLI_OPT_RUN_TAP,
	CLI_OPT_RUN_ALLOW_VM_TO_VM,
	CLI_OPT_RUN_ALLOW_HOST_DNS,
	CLI_OPT_RUN_PUBLISH = 'p',
};

/* clang-format off */
#define CLI_RUN_NET_LONGOPTS                                                                                 \
	{"net", no_argument, NULL, CLI_OPT_RUN_NET}, {"no-net", no_argument, NULL, CLI_OPT_RUN_NO_NET},      \
	    {"bridge", required_argument, NULL, CLI_OPT_RUN_BRIDGE},                                         \
	    {"subnet", required_argument, NULL, CLI_OPT_RUN_SUBNET},                                         \
	    {"egress-rule", required_argument, NULL, CLI_OPT_RUN_EGRESS_RULE},                               \
	    {"egress-default", required_argument, NULL, CLI_OPT_RUN_EGRESS_DEFAULT},                         \
	    {"wireguard", required_argument, NULL, CLI_OPT_RUN_WIREGUARD},                                   \
	    {"publish", required_argument, NULL, CLI_OPT_RUN_PUBLISH},                                       \
	    {"netns", required_argument, NULL, CLI_OPT_RUN_NETNS},                                           \
	    {"tap", required_argument, NULL, CLI_OPT_RUN_TAP},                                               \
	    {"allow-vm-to-vm", no_argument, NULL, CLI_OPT_RUN_ALLOW_VM_TO_VM},                               \
	    {"allow-host-dns", no_argument, NULL, CLI_OPT_RUN_ALLOW_HOST_DNS}

/* clang-format on */

/* run's short options that are networking ones. */
#define CLI_RUN_NET_SHORTOPTS "p:"

#define CLI_RUN_NET_USAGE                                                                                    \
	" [--net | --no-net] [--bridge NAME] [--subnet CIDR]\n"                                              \
	" [--egress-rule allow|deny:CIDR[:PROTO[:PORTS]]]...\n"                                              \
	" [--egress-default allow|deny]\n"                                                                   \
	" [--wireguard FILE] [-p [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|udp]]...\n"                             \
	" [--netns PATH] [--tap NAME] [--allow-vm-to-vm] [--allow-host-dns]"

#define CLI_RUN_NET_HELP                                                                                     \
	"  --net              add a network interface \"eth0\" (a TAP smartvm creates,\n"                    \
	"                     on the bridge, with a leased address and NAT)\n"                               \
	"  --no-net           drop every network interface of the config file\n"                             \
	"  --bridge NAME      host bridge (default svbr0; created if absent)\n"                              \
	"  --subnet CIDR      guest subnet, IPv4, prefix 1-30 (default 172.30.0.0/24);\n"                    \
	"                     the gateway is its first address; not in 0.0.0.0/8,\n"                         \
	"                     loopback, link-local, multicast or 240.0.0.0/4\n"                              \
	"  --egress-rule allow|deny:CIDR[:PROTO[:PORTS]]\n"                                                  \
	"                     egress rule for traffic from the subnet (repeatable,\n"                        \
	"                     first match wins); PROTO tcp|udp|icmp|all, PORTS N or\n"                       \
	"                     N-M (tcp/udp), e.g. deny:10.0.0.0/8:tcp:22\n"                                  \
	"  --egress-default allow|deny\n"                                                                    \
	"                     what happens to traffic no rule matches (default allow)\n"                     \
	"  --wireguard FILE   send the VM's egress through a WireGuard tunnel of its\n"                      \
	"                     own, configured by FILE (wg-quick format: [Interface]\n"                       \
	"                     PrivateKey, Address, ListenPort, MTU; [Peer] PublicKey,\n"                     \
	"                     PresharedKey, Endpoint, AllowedIPs, PersistentKeepalive;\n"                    \
	"                     hooks, DNS, Table and IPv6 are refused); while the\n"                          \
	"                     tunnel is down the VM's traffic is dropped, never\n"                           \
	"                     routed another way\n"                                                          \
	"  -p, --publish [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|udp]\n"                                         \
	"                     forward the host's port to the guest (repeatable; from\n"                      \
	"                     outside and from the host itself, 127.0.0.1 too); a\n"                         \
	"                     port another VM publishes is refused\n"                                        \
	"  --netns PATH       create the VM's TAP in this network namespace (made by\n"                      \
	"                     CNI, Nomad or you; /var/run/netns/NAME or\n"                                   \
	"                     /proc/PID/ns/net) and run its VMM there; no bridge,\n"                         \
	"                     address, NAT or firewall of smartvm's (give ip= yourself)\n"                   \
	"  --tap NAME         use the existing TAP device NAME as eth0, as it is (in\n"                      \
	"                     --netns if given); never deleted\n"                                            \
	"  --allow-vm-to-vm   this VM may talk to other VMs on the bridge that allow\n"                      \
	"                     it too (by default VMs see nothing of each other)\n"                           \
	"  --allow-host-dns   this VM may reach port 53 on the host; no other host\n"                        \
	"                     service is open to guests\n"

typedef struct {
	bool add_eth0, drop_all;
	sv_egress_rule *rules;
	char (*dests)[SV_EGRESS_DEST_MAX];
	size_t n_rules;
	sv_net_iface_config *ifaces; /* the array cfg points to after --net */
	/* --wireguard, -p, --netns, --tap, --allow-*: merged over the config
	 * file's smartvm.network into opts, which cfg->net then points to. */
	const char *wireguard, *netns, *tap;
	const char **publish; /* into argv */
	size_t n_publish;
	bool allow_vm_to_vm, allow_host_dns;
	sv_vm_net_options opts;
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
