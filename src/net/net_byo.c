/* Bring-your-own networking (net_byo.h): the VM's TAPs in a network namespace
 * someone else made (CNI, Nomad, the user), or existing TAPs used as they
 * are. smartvm creates no bridge, lease, NAT or firewall here, never
 * addresses the guest (no ip= argument) and removes only the TAPs it
 * created: each is recorded ("nstap", with the namespace's path) before it
 * is made and marked with its VM's alias right after, so the undo deletes
 * it only while it is still that TAP. An existing TAP must be one (kind tun
 * in TAP mode): handing a plain device or a TUN to the VMM would fail late
 * and obscurely. */
#include "net/net_byo.h"

#include "config/config_internal.h"
#include "net/net_addr.h"
#include "net/net_join.h"
#include "net/net_link.h"
#include "net/net_names.h"
#include "net/net_netns.h"
#include "net/net_tap.h"
#include "util/error.h"
#include "util/fault.h"
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	const sv_vm_net_options *no;
	const char *vm_id;
	sv_ledger *ledger;
	const sv_vm_config *cfg;
	char (*devs)[16];
	char (*macs)[18];
	const char *join_dev; /* net.join_dev (version 2), or NULL */
	sv_net_join_info join;
} byo;

static const char *where(const byo *b) { return b->no->netns_path ? "in net.netns_path" : "on the host"; }

int sv_net_tap_taken(size_t i, const char *dev, const char *alias)
{
	const char *owner = alias + strlen(SV_NET_TAP_ALIAS_PREFIX);
	int vm_len = (int)strcspn(owner, "/");
	return sv_err(SV_EBUSY,
		      "network_interfaces[%zu].host_dev_name \"%s\": already used by VM \"%.*s\" (%s)", i,
		      dev, vm_len, owner, owner[vm_len] ? owner + vm_len + 1 : "?");
}

static int check_existing_tap(const byo *b, size_t i, const char *dev)
{
	sv_nl_link link;
	int rc = sv_nl_link_get(dev, &link);
	if (rc == SV_ENOTFOUND)
		return sv_err(SV_ENOTFOUND, "network_interfaces[%zu].host_dev_name \"%s\": no such device %s",
			      i, dev, where(b));
	if (rc)
		return sv_err_prefix("network_interfaces[%zu].host_dev_name \"%s\"", i, dev);
	if (strcmp(link.kind, "tun") || link.tun_type != IFF_TAP)
		return sv_err(SV_EINVAL, "network_interfaces[%zu].host_dev_name \"%s\": a %s, not a TAP", i,
			      dev,
			      !strcmp(link.kind, "tun") ? "TUN device"
			      : link.kind[0]		? link.kind
							: "plain device");
	/* smartvm's own TAP of another VM, on its bridge behind its firewall:
	 * used "as it is", two guests would share its frames past that firewall. */
	if (!strncmp(link.alias, SV_NET_TAP_ALIAS_PREFIX, strlen(SV_NET_TAP_ALIAS_PREFIX)))
		return sv_net_tap_taken(i, dev, link.alias);
	return 0;
}

/* A TAP of ours in the namespace: recorded, created, marked, up. */
static int create_tap(const byo *b, size_t i, const char *dev, const char *iface_id)
{
	char owner[160], alias[SV_NET_ALIAS_MAX];
	sv_nl_link link;
	if (sv_nl_link_get(dev, &link) == 0)
		return sv_err(
		    SV_EEXISTS,
		    "network_interfaces[%zu].host_dev_name \"%s\": exists already %s (give net.existing_taps "
		    "to use it as it is)",
		    i, dev, where(b));
	snprintf(owner, sizeof(owner), "%s,%s/%s", dev, b->vm_id, iface_id);
	int rc = sv_net_tap_alias(alias, b->vm_id, iface_id);
	if (!rc)
		rc = sv_ledger_record(b->ledger, "nstap", owner, b->no->netns_path);
	if (!rc)
		rc = SV_FAULT_POINT("launch.netns_tap");
	if (!rc)
		rc = sv_tap_create(dev, alias);
	if (!rc)
		rc = sv_nl_link_set_up(dev);
	return rc;
}

/* The MAC of interface 0 when it takes over join_dev: that device's, so
 * that frames need no rewriting. */
static int join_mac(const byo *b, const char *given, char out[18])
{
	const unsigned char *m = b->join.mac;
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	if (given && strcasecmp(given, out))
		return sv_err(SV_EINVAL,
			      "network_interfaces[0].guest_mac \"%s\": must be %s's (%s) or unset with "
			      "net.join_dev",
			      given, b->join_dev, out);
	return 0;
}

static int setup_all(void *arg)
{
	byo *b = arg;
	int jrc;
	if (b->join_dev && (jrc = sv_net_join_read(b->join_dev, &b->join)))
		return sv_err_prefix("net.join_dev");
	for (size_t i = 0; i < b->cfg->n_network_interfaces; i++) {
		const sv_net_iface_config *nic = &b->cfg->network_interfaces[i];
		const char *why;
		int rc;
		if (nic->host_dev_name) {
			if (!sv_ifname_valid(nic->host_dev_name, &why))
				return sv_err(SV_EINVAL, "network_interfaces[%zu].host_dev_name \"%s\": %s",
					      i, nic->host_dev_name, why);
			snprintf(b->devs[i], 16, "%s", nic->host_dev_name);
		} else if ((rc = sv_net_tap_name(b->devs[i], b->vm_id, nic->iface_id))) {
			return rc;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(b->devs[i], b->devs[j]))
				return sv_err(SV_EINVAL,
					      "network_interfaces[%zu].host_dev_name \"%s\": also used by "
					      "network_interfaces[%zu]",
					      i, b->devs[i], j);
		if (b->join_dev && i == 0) {
			if ((rc = join_mac(b, nic->guest_mac, b->macs[i])))
				return rc;
		} else if (nic->guest_mac) {
			if (!sv_mac_valid(nic->guest_mac, &why))
				return sv_err(SV_EINVAL, "network_interfaces[%zu].guest_mac \"%s\": %s", i,
					      nic->guest_mac, why);
			snprintf(b->macs[i], 18, "%s", nic->guest_mac);
		} else if ((rc = sv_net_guest_mac(b->macs[i], b->vm_id, nic->iface_id))) {
			return rc;
		}
		rc = b->no->existing_taps ? check_existing_tap(b, i, b->devs[i])
					  : create_tap(b, i, b->devs[i], nic->iface_id);
		if (!rc && b->join_dev && i == 0)
			rc = sv_net_join(b->ledger, b->no->netns_path, &b->join, b->devs[i]);
		if (rc)
			return rc;
	}
	return 0;
}

int sv_net_iface_fill(sv_net_iface_config *nic, const char *dev, const char *mac)
{
	int rc = 0;
	if ((!nic->host_dev_name && (rc = sv_config_replace_string(&nic->host_dev_name, dev))) ||
	    (!nic->guest_mac && (rc = sv_config_replace_string(&nic->guest_mac, mac))))
		return rc;
	return 0;
}

int sv_net_byo_setup(const char *vm_id, sv_ledger *ledger, sv_vm_config *cfg, sv_tap_device *taps)
{
	size_t n = cfg->n_network_interfaces;
	byo b = {cfg->net, vm_id, ledger, cfg, calloc(n, 16), calloc(n, 18),
		 cfg->net->version >= 2 ? cfg->net->join_dev : NULL, {0}};
	int rc = b.devs && b.macs ? 0 : sv_err(SV_ENOMEM, "out of memory");
	if (!rc)
		rc = b.no->netns_path ? sv_netns_run_at("net.netns_path", b.no->netns_path, setup_all, &b)
				      : setup_all(&b);
	sv_net_iface_config *nics = (sv_net_iface_config *)cfg->network_interfaces;
	for (size_t i = 0; i < n && !rc; i++) {
		sv_tap_device *t = &taps[i];
		memset(t, 0, sizeof(*t));
		snprintf(t->iface_id, sizeof(t->iface_id), "%s", nics[i].iface_id);
		snprintf(t->tap_name, sizeof(t->tap_name), "%s", b.devs[i]);
		snprintf(t->mac, sizeof(t->mac), "%s", b.macs[i]);
		if ((rc = sv_net_iface_fill(&nics[i], b.devs[i], b.macs[i])))
			break;
	}
	if (!rc && b.join_dev)
		rc = sv_net_join_guest(cfg, &b.join, &taps[0]);
	free(b.devs);
	free(b.macs);
	return rc;
}

typedef struct {
	const sv_spawn_opts *so;
	pid_t *pid;
} spawn_job;

static int spawn_here(void *arg)
{
	const spawn_job *j = arg;
	return sv_spawn(j->so, j->pid, NULL);
}

int sv_net_spawn_in_netns(const sv_vm_config *cfg, const sv_spawn_opts *so, pid_t *pid)
{
	if (!cfg->net || cfg->net->version < 1 || !cfg->net->netns_path)
		return sv_spawn(so, pid, NULL);
	spawn_job j = {so, pid};
	return sv_netns_run_at("net.netns_path", cfg->net->netns_path, spawn_here, &j);
}
