/* Checking a VM's networking options (see net_options.h). Messages name the
 * field as the C API spells it (net.<field>); the config file's keys
 * (smartvm.network.<key>) and the CLI's flags map onto them one to one. */
#include "net/net_options.h"

#include "net/net_addr.h"
#include "net/net_netns.h"
#include "net/net_ports.h"
#include "net/net_wgconf.h"
#include "util/error.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PUBLISH 64

bool sv_net_options_byo(const sv_vm_net_options *o)
{
	return o && o->version >= 1 && (o->netns_path || o->existing_taps);
}

/* What bring-your-own networking excludes. */
static int check_byo(const sv_vm_net_options *o)
{
	const char *mode = o->netns_path ? "net.netns_path" : "net.existing_taps";
	const char *field = o->wireguard_config ? "net.wireguard_config"
			    : o->n_publish	? "net.publish"
			    : o->allow_vm_to_vm ? "net.allow_vm_to_vm"
			    : o->allow_host_dns ? "net.allow_host_dns"
						: NULL;
	if (field)
		return sv_err(
		    SV_EINVAL,
		    "%s: needs smartvm's bridge networking; with %s the network belongs to its owner", field,
		    mode);
	return 0;
}

static int check_publish(const sv_vm_net_options *o)
{
	if (o->n_publish > MAX_PUBLISH)
		return sv_err(SV_EINVAL, "net.publish: more than %d ports", MAX_PUBLISH);
	sv_port_pub *ports = calloc(o->n_publish ? o->n_publish : 1, sizeof(*ports));
	if (!ports)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = 0;
	for (size_t i = 0; i < o->n_publish && !rc; i++) {
		if ((rc = sv_port_pub_parse(&ports[i], o->publish[i]))) {
			rc = sv_err_prefix("net.publish[%zu]", i);
			break;
		}
		for (size_t j = 0; j < i && !rc; j++)
			if (sv_port_pub_clash(&ports[i], &ports[j]))
				rc = sv_err(
				    SV_EINVAL,
				    "net.publish[%zu] \"%s\": takes the same host port as net.publish[%zu]",
				    i, o->publish[i], j);
	}
	free(ports);
	return rc;
}

static int check_wireguard(const char *path)
{
	sv_wg_config *wg = malloc(sizeof(*wg));
	if (!wg)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = sv_wg_config_load(wg, path);
	explicit_bzero(wg, sizeof(*wg));
	free(wg);
	return rc ? sv_err_prefix("net.wireguard_config") : 0;
}

static int check_join(const sv_vm_config *cfg)
{
	const sv_vm_net_options *o = cfg->net;
	const char *dev = o->version >= 2 ? o->join_dev : NULL, *why;
	if (!dev)
		return 0;
	if (!sv_ifname_valid(dev, &why))
		return sv_err(SV_EINVAL, "net.join_dev \"%s\": %s", dev, why);
	if (!o->netns_path)
		return sv_err(SV_EINVAL, "net.join_dev: needs net.netns_path (the namespace %s is in)", dev);
	if (o->existing_taps)
		return sv_err(SV_EINVAL, "net.join_dev: not with net.existing_taps (the joined TAP is smartvm's "
					 "own)");
	if (cfg->n_network_interfaces != 1)
		return sv_err(SV_EINVAL, "net.join_dev: needs exactly one network interface (the VM has %zu)",
			      cfg->n_network_interfaces);
	return 0;
}

int sv_net_check_vm_options(const sv_vm_config *cfg)
{
	const sv_vm_net_options *o = cfg->net;
	if (!o)
		return 0;
	if (o->version < 1 || o->version > SV_VM_NET_OPTIONS_VERSION)
		return sv_err(SV_EINVAL, "net.version: %u is not a version this library knows (1 to %d)",
			      o->version, SV_VM_NET_OPTIONS_VERSION);
	bool byo = sv_net_options_byo(o);
	bool wants = byo || o->wireguard_config || o->n_publish || o->allow_vm_to_vm || o->allow_host_dns;
	if (wants && cfg->n_network_interfaces == 0)
		return sv_err(
		    SV_EINVAL,
		    "net: the networking options need a network interface (network_interfaces is empty)");
	int rc;
	if (byo && (rc = check_byo(o)))
		return rc;
	if ((rc = check_join(cfg)))
		return rc;
	if (o->existing_taps)
		for (size_t i = 0; i < cfg->n_network_interfaces; i++)
			if (!cfg->network_interfaces[i].host_dev_name)
				return sv_err(SV_EINVAL,
					      "network_interfaces[%zu].host_dev_name: required with "
					      "net.existing_taps (the "
					      "TAP to use)",
					      i);
	if (o->netns_path) {
		int fd;
		if (!*o->netns_path)
			return sv_err(SV_EINVAL, "net.netns_path: empty");
		if ((rc = sv_netns_open("net.netns_path", o->netns_path, &fd)))
			return rc;
		close(fd);
	}
	if ((rc = check_publish(o)))
		return rc;
	if (o->wireguard_config && o->n_publish)
		return sv_err(SV_EINVAL, "net.publish: not together with net.wireguard_config (the replies "
					 "would leave through the "
					 "tunnel)");
	if (o->wireguard_config && (rc = check_wireguard(o->wireguard_config)))
		return rc;
	return 0;
}
