/* `smartvm net ls`, `net gc` and `net down`, and the networking flags of
 * `smartvm run` (see cmd_net.h).
 *
 * Everything here goes through the public API (smartvm/netadmin.h): ls prints
 * the leases sv_net_list reports, gc calls sv_net_gc, down sv_net_down. The directories come
 * from the manager, so --data-dir / --runtime-dir and the environment apply
 * exactly as for every other command. No logic of its own beyond printing.
 */
#include "cmd_net.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---- run's networking flags ---- */

static int add_rule(cli_ctx *cli, cli_run_net *n, const char *arg)
{
	sv_egress_rule *rules = realloc(n->rules, (n->n_rules + 1) * sizeof(*rules));
	if (rules)
		n->rules = rules;
	char(*dests)[SV_EGRESS_DEST_MAX] = realloc(n->dests, (n->n_rules + 1) * sizeof(*dests));
	if (dests)
		n->dests = dests;
	if (!rules || !dests)
		return cli_error(CLI_EXIT_FAILURE, "out of memory");
	/* Each rule's destination points into dests, which may just have moved. */
	for (size_t i = 0; i < n->n_rules; i++)
		n->rules[i].destination = n->dests[i];
	if (sv_egress_rule_parse(&n->rules[n->n_rules], n->dests[n->n_rules], arg) < 0)
		return cli_usage_error(cli, "--egress-rule: %s", sv_last_error());
	n->n_rules++;
	return 0;
}

static int add_publish(cli_run_net *n, const char *arg)
{
	const char **p = realloc(n->publish, (n->n_publish + 1) * sizeof(*p));
	if (!p)
		return cli_error(CLI_EXIT_FAILURE, "out of memory");
	n->publish = p;
	n->publish[n->n_publish++] = arg;
	return 0;
}

int cli_run_net_option(cli_ctx *cli, cli_run_net *n, int c, const char *arg)
{
	switch (c) {
	case CLI_OPT_RUN_WIREGUARD:
		n->wireguard = arg;
		break;
	case CLI_OPT_RUN_PUBLISH:
		return add_publish(n, arg);
	case CLI_OPT_RUN_NETNS:
		n->netns = arg;
		break;
	case CLI_OPT_RUN_TAP:
		n->tap = arg;
		break;
	case CLI_OPT_RUN_ALLOW_VM_TO_VM:
		n->allow_vm_to_vm = true;
		break;
	case CLI_OPT_RUN_ALLOW_HOST_DNS:
		n->allow_host_dns = true;
		break;
	case CLI_OPT_RUN_NET:
		n->add_eth0 = true;
		break;
	case CLI_OPT_RUN_NO_NET:
		n->drop_all = true;
		break;
	case CLI_OPT_RUN_BRIDGE:
		cli->opts.bridge_name = arg;
		break;
	case CLI_OPT_RUN_SUBNET:
		cli->opts.subnet = arg;
		break;
	case CLI_OPT_RUN_EGRESS_RULE:
		return add_rule(cli, n, arg);
	case CLI_OPT_RUN_EGRESS_DEFAULT:
		if (sv_egress_action_parse(&cli->opts.egress_default, arg) < 0)
			return cli_usage_error(cli, "--egress-default: %s", sv_last_error());
		break;
	default:
		return -1;
	}
	return 0;
}

/* The flags over the config file's options (cfg->net, may be NULL). */
static void merge_options(cli_run_net *n, sv_vm_config *cfg)
{
	bool any =
	    n->wireguard || n->netns || n->tap || n->n_publish || n->allow_vm_to_vm || n->allow_host_dns;
	if (!any)
		return;
	n->opts = (sv_vm_net_options)SV_VM_NET_OPTIONS_INIT;
	if (cfg->net && cfg->net->version >= 1) {
		n->opts = *cfg->net;
		n->opts.version = SV_VM_NET_OPTIONS_VERSION;
	}
	if (n->wireguard)
		n->opts.wireguard_config = n->wireguard;
	if (n->netns)
		n->opts.netns_path = n->netns;
	if (n->tap)
		n->opts.existing_taps = true;
	if (n->n_publish) {
		n->opts.publish = n->publish;
		n->opts.n_publish = n->n_publish;
	}
	n->opts.allow_vm_to_vm |= n->allow_vm_to_vm;
	n->opts.allow_host_dns |= n->allow_host_dns;
	cfg->net = &n->opts;
}

int cli_run_net_apply(cli_ctx *cli, cli_run_net *n, sv_vm_config *cfg)
{
	if (n->add_eth0 && n->drop_all)
		return cli_usage_error(cli, "--net and --no-net exclude each other");
	if (n->tap && (n->add_eth0 || n->drop_all))
		return cli_usage_error(cli, "--tap adds eth0 itself: not with --net or --no-net");
	if (n->drop_all &&
	    (n->wireguard || n->netns || n->n_publish || n->allow_vm_to_vm || n->allow_host_dns))
		return cli_usage_error(cli, "--no-net: no interface is left for the other networking flags");
	if (n->drop_all) {
		cfg->network_interfaces = NULL;
		cfg->n_network_interfaces = 0;
	}
	/* The flags that need an interface give the VM one when it has none. */
	if (!n->drop_all && !cfg->n_network_interfaces &&
	    (n->tap || n->wireguard || n->netns || n->n_publish || n->allow_vm_to_vm || n->allow_host_dns))
		n->add_eth0 = true;
	if (n->add_eth0) {
		for (size_t i = 0; i < cfg->n_network_interfaces; i++)
			if (cfg->network_interfaces[i].iface_id &&
			    !strcmp(cfg->network_interfaces[i].iface_id, "eth0"))
				return cli_usage_error(cli,
						       "--net: the config already has an interface \"eth0\"");
		size_t count = cfg->n_network_interfaces + 1;
		n->ifaces = calloc(count, sizeof(*n->ifaces));
		if (!n->ifaces)
			return cli_error(CLI_EXIT_FAILURE, "out of memory");
		for (size_t i = 0; i + 1 < count; i++)
			n->ifaces[i] = cfg->network_interfaces[i];
		n->ifaces[count - 1] = (sv_net_iface_config){.iface_id = "eth0", .host_dev_name = n->tap};
		cfg->network_interfaces = n->ifaces;
		cfg->n_network_interfaces = count;
	} else if (n->tap) {
		return cli_usage_error(
		    cli, "--tap: the config already has network interfaces; name the TAP in its "
			 "host_dev_name and set smartvm.network.existing_taps");
	}
	merge_options(n, cfg);
	cli->opts.egress_rules = n->rules;
	cli->opts.n_egress_rules = n->n_rules;
	/* Bad networking options are usage errors, found before anything runs. */
	if (sv_net_validate_options(&cli->opts) < 0)
		return cli_usage_error(cli, "%s", sv_last_error());
	return 0;
}

void cli_run_net_free(cli_run_net *n)
{
	free(n->publish);
	free(n->rules);
	free(n->dests);
	free(n->ifaces);
}

/* ---- net ls / net gc / net down ---- */

enum { OPT_BRIDGE = CLI_OPT_LONG_BASE };

/* Parses [--bridge NAME] and no positional argument; fills the admin options
 * from the manager. Returns -1 to go on, else the exit code. */
static int parse_admin(cli_ctx *cli, int argc, char **argv, sv_net_admin_options *o)
{
	static const struct option longopts[] = {
	    {"bridge", required_argument, NULL, OPT_BRIDGE},
	    {0},
	};
	cli_opts p;
	sv_manager *mgr;
	int c, rc;

	*o = (sv_net_admin_options)SV_NET_ADMIN_OPTIONS_INIT;
	cli_opts_begin(&p, cli, argc, argv, NULL, longopts);
	while ((c = cli_opts_next(&p)) > 0)
		if (c == OPT_BRIDGE)
			o->bridge_name = p.optarg;
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	if ((rc = cli_no_args(&p)) || (rc = cli_manager(cli, &mgr)))
		return rc;
	o->data_dir = sv_manager_data_dir(mgr);
	o->runtime_dir = sv_manager_runtime_dir(mgr);
	return -1;
}

static json_t *lease_json(const sv_net_lease_info *l)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:I}", "bridge", l->bridge, "subnet",
			 l->subnet, "guest_ip", l->guest_ip, "vm_id", l->vm_id, "iface_id", l->iface_id,
			 "tap_name", l->dev, "mac", l->mac, "tap_owned", l->dev_owned, "tap_present",
			 l->dev_present, "vm_running", l->vm_running, "pid", (json_int_t)l->pid);
}

static int net_ls(cli_ctx *cli, int argc, char **argv)
{
	sv_net_admin_options o;
	int code = parse_admin(cli, argc, argv, &o);
	if (code >= 0)
		return code;
	sv_net_lease_info **items = NULL;
	size_t n = 0;
	int rc = sv_net_list(&o, &items, &n);
	if (rc < 0)
		return cli_fail(rc);
	if (cli->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, lease_json(items[i]));
		char *text = json_dumps(arr, JSON_COMPACT);
		json_decref(arr);
		code = text ? cli_print_json_text(text) : cli_error(CLI_EXIT_FAILURE, "out of memory");
		free(text);
	} else {
		printf("%-15s %-15s %-24s %-8s %-15s %-17s %s\n", "BRIDGE", "IP", "VM", "IFACE", "TAP", "MAC",
		       "STATE");
		for (size_t i = 0; i < n; i++) {
			const sv_net_lease_info *l = items[i];
			printf("%-15s %-15s %-24s %-8s %-15s %-17s %s%s\n", l->bridge, l->guest_ip, l->vm_id,
			       l->iface_id, l->dev, l->mac, l->vm_running ? "running" : "dead",
			       l->dev_present ? "" : " (no tap)");
		}
		code = CLI_EXIT_OK;
	}
	sv_net_lease_infos_free(items, n);
	return code;
}

static int net_gc(cli_ctx *cli, int argc, char **argv)
{
	sv_net_admin_options o;
	int code = parse_admin(cli, argc, argv, &o);
	if (code >= 0)
		return code;
	size_t removed = 0;
	int rc = sv_net_gc(&o, &removed);
	if (cli->json)
		printf("{\"removed\": %zu}\n", removed);
	else
		printf("removed %zu lease%s of dead VMs\n", removed, removed == 1 ? "" : "s");
	return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

static int net_down(cli_ctx *cli, int argc, char **argv)
{
	sv_net_admin_options o;
	int code = parse_admin(cli, argc, argv, &o);
	if (code >= 0)
		return code;
	size_t down = 0;
	int rc = sv_net_down(&o, &down);
	if (cli->json)
		printf("{\"down\": %zu}\n", down);
	else
		printf("took down %zu bridge%s\n", down, down == 1 ? "" : "s");
	return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

static int cmd_net(cli_ctx *cli, int argc, char **argv)
{
	/* The subcommand comes first; the rest is its own to parse. */
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			cli_print_help(cli->cmd, stdout);
			return CLI_EXIT_OK;
		}
		return cli_usage_error(cli, "missing subcommand (ls, gc, down or limit)");
	}
	if (!strcmp(argv[1], "ls"))
		return net_ls(cli, argc - 1, argv + 1);
	if (!strcmp(argv[1], "gc"))
		return net_gc(cli, argc - 1, argv + 1);
	if (!strcmp(argv[1], "down"))
		return net_down(cli, argc - 1, argv + 1);
	if (!strcmp(argv[1], "limit"))
		return cli_net_limit(cli, argc - 1, argv + 1);
	return cli_usage_error(cli, "unknown subcommand \"%s\" (expected ls, gc, down or limit)", argv[1]);
}

const cli_command cli_net_commands[] = {
    {
	.name = "net",
	.summary = "List leases; remove dead VMs' networking; take bridges down; set rate limits",
	.usage = "ls [--bridge NAME] [--json]\n"
		 "gc [--bridge NAME] [--json]\n"
		 "down [--bridge NAME] [--json]\n"
		 "limit ID IFACE [--rx-bandwidth S:R[:B]] [--tx-bandwidth S:R[:B]]\n"
		 " [--rx-ops S:R[:B]] [--tx-ops S:R[:B]]",
	.help = "net ls  lists every address lease: bridge, guest IP, VM id, interface,\n"
		"        TAP, MAC, and whether the VM still runs (\"dead\" leases are what\n"
		"        'net gc' removes). --json prints an array of objects.\n"
		"net gc  removes the TAPs and leases of VMs that no longer run (nobody\n"
		"        holds their VM directory's lock and no VMM of theirs is alive,\n"
		"        whatever --runtime-dir they were started with; e.g. after the\n"
		"        orchestrator was SIGKILLed), then takes down, as 'net down' does,\n"
		"        every bridge nobody uses. When whether a VM runs cannot be told,\n"
		"        its lease is kept. Rewrites a lease file without lines it cannot\n"
		"        read (warned about by every command that reads it). Prints how\n"
		"        many leases it removed.\n"
		"net down  takes down a bridge's shared networking, which stays after\n"
		"        its last VM stops so the next VM starts faster (like Docker's\n"
		"        docker0): its nftables tables, forwarding if smartvm switched it\n"
		"        on, and the bridge if smartvm created it (a bridge that existed\n"
		"        before is never deleted). Refuses, naming them, while VMs hold\n"
		"        leases on it. Prints how many bridges it took down.\n"
		"net limit  sets new rate limiters on interface IFACE of a running VM\n"
		"        (PATCH /network-interfaces/IFACE). Each bucket is\n"
		"        SIZE:REFILL_MS[:BURST]; bandwidth in bytes, ops in operations.\n"
		"\n"
		"Options:\n"
		"  --bridge NAME  only this bridge (default: every bridge with smartvm state)\n"
		"  --json         machine-readable output\n",
	.handler = cmd_net,
    },
    {0},
};
