/* A VM's host networking (the seam in vm_net.h): for each network interface,
 * a device (a TAP we create, or the host_dev_name given), an address lease, a
 * MAC; the shared bridge and nftables table; and the guest's ip= argument.
 *
 * Order and invariants:
 *  1. Everything that can be checked without the host is checked first, and
 *     addresses are allocated in memory under the lease lock before anything
 *     is created, so bad input and a full subnet leave nothing behind.
 *  2. Each resource is written to the ledger before it is created; the ledger
 *     then reads bridge, nft, lease..., tap/port..., so a backwards replay
 *     removes devices, then leases, then (if unused) the table and bridge.
 *  3. The bridge, the table and the leases change under one flock hold, so
 *     another VM's cleanup can't remove the bridge between our creating it
 *     and our lease being written.
 * On failure, whatever was created stays for the ledger replay to remove. */
#include "vm/vm_net.h"

#include "net/net_addr.h"
#include "net/net_bridge.h"
#include "net/net_lease.h"
#include "net/net_link.h"
#include "net/net_names.h"
#include "net/net_tap.h"
#include "net/net_undo.h"
#include "config/config_internal.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/spawn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sv_vm_net_register_undo(void) { sv_net_register_undo(); }

/* What setup decided for one interface before touching the host. */
typedef struct {
	char dev[16];
	bool owned;	/* we create dev (derived name, or a given one that is absent) */
	bool attach;	/* an existing device with no master: we attach it */
	sv_lease lease; /* ip filled once allocated */
} iface_plan;

static bool has_ip_arg(const char *args)
{
	for (const char *p = args; p && (p = strstr(p, "ip=")); p += 3)
		if (p == args || p[-1] == ' ')
			return true;
	return false;
}

static bool is_another_vms_tap(const sv_nl_link *link, const char *vm_id, const char *iface_id)
{
	char ours[SV_NET_ALIAS_MAX];
	return !strncmp(link->alias, SV_NET_TAP_ALIAS_PREFIX, strlen(SV_NET_TAP_ALIAS_PREFIX)) &&
	       (sv_net_tap_alias(ours, vm_id, iface_id) || strcmp(link->alias, ours));
}

static int check_ifaces(const sv_vm_config *cfg, const sv_net_plan *plan, const char *vm_id, iface_plan *ip)
{
	pid_t self = getpid();
	unsigned long long start = sv_process_start_time(self);
	for (size_t i = 0; i < cfg->n_network_interfaces; i++) {
		const sv_net_iface_config *nic = &cfg->network_interfaces[i];
		const char *why;
		int rc;
		if (!nic->iface_id || !*nic->iface_id || strlen(nic->iface_id) > 63 ||
		    strpbrk(nic->iface_id, " \t\n,/"))
			return sv_err(SV_EINVAL,
				      "network_interfaces[%zu].iface_id: must be 1-63 bytes without spaces",
				      i);
		iface_plan *p = &ip[i];
		if (nic->host_dev_name) {
			if (!sv_ifname_valid(nic->host_dev_name, &why))
				return sv_err(SV_EINVAL, "network_interfaces[%zu].host_dev_name \"%s\": %s",
					      i, nic->host_dev_name, why);
			if (!strcmp(nic->host_dev_name, plan->bridge))
				return sv_err(SV_EINVAL,
					      "network_interfaces[%zu].host_dev_name \"%s\": is the bridge",
					      i, nic->host_dev_name);
			snprintf(p->dev, sizeof(p->dev), "%s", nic->host_dev_name);
			sv_nl_link link;
			rc = sv_nl_link_get(p->dev, &link);
			if (rc == SV_ENOTFOUND) {
				p->owned = true;
			} else if (rc) {
				return sv_err_prefix("network_interfaces[%zu].host_dev_name \"%s\"", i,
						     p->dev);
			} else if (is_another_vms_tap(&link, vm_id, nic->iface_id)) {
				/* On any bridge: two VMs on one TAP would see each
				 * other's frames. */
				const char *owner = link.alias + strlen(SV_NET_TAP_ALIAS_PREFIX);
				int vm_len = (int)strcspn(owner, "/");
				return sv_err(SV_EBUSY,
					      "network_interfaces[%zu].host_dev_name \"%s\": already used by "
					      "VM \"%.*s\" (%s)",
					      i, p->dev, vm_len, owner,
					      owner[vm_len] ? owner + vm_len + 1 : "?");
			} else if (!link.master) {
				p->attach = true;
			} else {
				sv_warn("network_interfaces[%zu].host_dev_name \"%s\": already has a master; "
					"used as is",
					i, p->dev);
			}
		} else {
			if ((rc = sv_net_tap_name(p->dev, vm_id, nic->iface_id)))
				return rc;
			p->owned = true;
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(ip[j].dev, p->dev))
				return sv_err(SV_EINVAL,
					      "network_interfaces[%zu].host_dev_name \"%s\": also used by "
					      "network_interfaces[%zu]",
					      i, p->dev, j);
			if (!strcmp(cfg->network_interfaces[j].iface_id, nic->iface_id))
				return sv_err(SV_EINVAL,
					      "network_interfaces[%zu].iface_id \"%s\": also used by "
					      "network_interfaces[%zu]",
					      i, nic->iface_id, j);
		}
		if (nic->guest_mac) {
			if (!sv_mac_valid(nic->guest_mac, &why))
				return sv_err(SV_EINVAL, "network_interfaces[%zu].guest_mac \"%s\": %s", i,
					      nic->guest_mac, why);
			snprintf(p->lease.mac, sizeof(p->lease.mac), "%s", nic->guest_mac);
		} else if ((rc = sv_net_guest_mac(p->lease.mac, vm_id, nic->iface_id))) {
			return rc;
		}
		snprintf(p->lease.vm_id, sizeof(p->lease.vm_id), "%s", vm_id);
		snprintf(p->lease.iface_id, sizeof(p->lease.iface_id), "%s", nic->iface_id);
		snprintf(p->lease.dev, sizeof(p->lease.dev), "%s", p->dev);
		p->lease.dev_owned = p->owned;
		p->lease.pid = self;
		p->lease.start_time = start;
	}
	return 0;
}

/* Under the lock: allocate every address (in memory), then create or
 * reuse the bridge and table, then write the leases. */
static int setup_shared(sv_lease_db *db, const sv_net_plan *plan, const char *net_dir, sv_ledger *ledger,
			const sv_vm_config *cfg, iface_plan *ip)
{
	int rc = sv_lease_db_check_subnet(db, &plan->subnet, plan->subnet_text);
	if (rc)
		return rc;
	for (size_t i = 0; i < cfg->n_network_interfaces; i++) {
		const sv_lease *other = sv_lease_db_find_dev(db, ip[i].dev);
		if (other)
			return sv_err(
			    SV_EBUSY,
			    "network_interfaces[%zu].host_dev_name \"%s\": already used by VM \"%s\" (%s)", i,
			    ip[i].dev, other->vm_id, other->iface_id);
	}
	size_t n_before = db->n;
	for (size_t i = 0; i < cfg->n_network_interfaces; i++) {
		if ((rc = sv_lease_db_alloc(db, &plan->subnet, &ip[i].lease, &ip[i].lease.ip))) {
			db->n = n_before; /* nothing was written: forget them */
			return rc;
		}
	}
	if ((rc = sv_ledger_record(ledger, "bridge", plan->bridge, net_dir)) ||
	    (rc = SV_FAULT_POINT("launch.bridge")) || (rc = sv_net_bridge_ensure(db, plan)) ||
	    (rc = sv_ledger_record(ledger, "nft", plan->bridge, net_dir)) ||
	    (rc = SV_FAULT_POINT("launch.nft")) || (rc = sv_net_table_ensure(plan, net_dir, n_before > 0)))
		return rc;
	for (size_t i = 0; i < cfg->n_network_interfaces; i++) {
		char key[160], ip_text[16];
		sv_ipv4_format(ip[i].lease.ip, ip_text);
		snprintf(key, sizeof(key), "%s,%s,%s", ip_text, ip[i].lease.vm_id, ip[i].lease.iface_id);
		if ((rc = sv_ledger_record(ledger, "lease", db->lease_path, key)))
			return rc;
	}
	if ((rc = SV_FAULT_POINT("launch.lease")))
		return rc;
	return sv_lease_db_save(db);
}

static int setup_device(const iface_plan *p, const char *bridge, int bridge_index, sv_ledger *ledger,
			size_t i, bool given)
{
	int rc = 0;
	if (p->owned) {
		char owner[160], alias[SV_NET_ALIAS_MAX];
		snprintf(owner, sizeof(owner), "%s/%s", p->lease.vm_id, p->lease.iface_id);
		if ((rc = sv_net_tap_alias(alias, p->lease.vm_id, p->lease.iface_id)) ||
		    (rc = sv_ledger_record(ledger, "tap", p->dev, owner)) ||
		    (rc = SV_FAULT_POINT("launch.tap")))
			return rc;
		if ((rc = sv_tap_create(p->dev, alias)) && given)
			return sv_err_prefix("network_interfaces[%zu].host_dev_name \"%s\": does not exist "
					     "and could not be created",
					     i, p->dev);
	} else if (p->attach) {
		if (!(rc = sv_ledger_record(ledger, "port", p->dev, bridge)))
			rc = SV_FAULT_POINT("launch.port");
	} else {
		return 0; /* has a master of its own: used as is */
	}
	if (rc || (rc = sv_nl_link_set_master(p->dev, bridge_index)) || (rc = sv_nl_link_set_up(p->dev)))
		return rc;
	return 0;
}

static int fill_results(const sv_net_plan *plan, sv_vm_config *cfg, const iface_plan *ip, sv_tap_device *taps)
{
	char gw[16], mask[16];
	sv_ipv4_format(sv_subnet_gateway(&plan->subnet), gw);
	sv_ipv4_format(sv_ipv4_mask(plan->subnet.prefix), mask);
	sv_net_iface_config *nics = (sv_net_iface_config *)cfg->network_interfaces;
	for (size_t i = 0; i < cfg->n_network_interfaces; i++) {
		sv_tap_device *t = &taps[i];
		memset(t, 0, sizeof(*t));
		snprintf(t->iface_id, sizeof(t->iface_id), "%s", ip[i].lease.iface_id);
		snprintf(t->tap_name, sizeof(t->tap_name), "%s", ip[i].dev);
		sv_ipv4_format(ip[i].lease.ip, t->guest_ip);
		snprintf(t->gateway_ip, sizeof(t->gateway_ip), "%s", gw);
		snprintf(t->subnet_mask, sizeof(t->subnet_mask), "%s", mask);
		snprintf(t->mac, sizeof(t->mac), "%s", ip[i].lease.mac);
		int rc;
		if ((!nics[i].host_dev_name &&
		     (rc = sv_config_replace_string(&nics[i].host_dev_name, t->tap_name))) ||
		    (!nics[i].guest_mac && (rc = sv_config_replace_string(&nics[i].guest_mac, t->mac))))
			return rc;
	}
	const char *args = cfg->boot_source.boot_args;
	if (has_ip_arg(args))
		return 0;
	char *joined = NULL;
	/* The kernel's ip= syntax: client::gateway:netmask:hostname:device:autoconf. */
	if (asprintf(&joined, "%s%sip=%s::%s:%s::eth0:off", args ? args : "", args && *args ? " " : "",
		     taps[0].guest_ip, gw, mask) < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	free((char *)cfg->boot_source.boot_args);
	cfg->boot_source.boot_args = joined;
	return 0;
}

int sv_vm_net_setup(const sv_manager_options *opts, const char *data_dir, const char *vm_id,
		    sv_ledger *ledger, sv_vm_config *cfg, sv_tap_device *taps)
{
	if (cfg->n_network_interfaces == 0)
		return 0;
	sv_net_plan plan;
	iface_plan *ip = calloc(cfg->n_network_interfaces, sizeof(*ip));
	char *net_dir = sv_net_dir(data_dir);
	int rc = 0;
	if (!ip || !net_dir) {
		rc = sv_err(SV_ENOMEM, "out of memory");
		goto out;
	}
	if (strpbrk(net_dir, " \t\n\r")) {
		rc = sv_err(SV_EINVAL,
			    "data_dir \"%s\": must not contain whitespace when VMs have network interfaces",
			    data_dir);
		goto out;
	}
	sv_vm_net_register_undo();
	if ((rc = sv_net_plan_from_options(&plan, opts)) || (rc = check_ifaces(cfg, &plan, vm_id, ip)))
		goto out;

	/* Each lease names the VM's directory: its liveness is judged from
	 * there (util/vm_alive.h), not from this process, which may exit. */
	const char *vm_dir = sv_ledger_dir(ledger);
	if (strlen(vm_dir) >= SV_LEASE_VM_DIR_MAX) {
		rc = sv_err(SV_EINVAL, "runtime_dir: the VM directory %s is longer than %d bytes", vm_dir,
			    SV_LEASE_VM_DIR_MAX - 1);
		goto out;
	}
	for (size_t i = 0; i < cfg->n_network_interfaces; i++)
		snprintf(ip[i].lease.vm_dir, sizeof(ip[i].lease.vm_dir), "%s", vm_dir);

	sv_lease_db db;
	if ((rc = sv_lease_db_open(&db, net_dir, plan.bridge)))
		goto out;
	rc = setup_shared(&db, &plan, net_dir, ledger, cfg, ip);
	sv_lease_db_close(&db);
	if (rc)
		goto out;

	sv_nl_link br;
	if ((rc = sv_nl_link_get(plan.bridge, &br)))
		goto out;
	for (size_t i = 0; i < cfg->n_network_interfaces && !rc; i++)
		rc = setup_device(&ip[i], plan.bridge, br.index, ledger, i,
				  cfg->network_interfaces[i].host_dev_name != NULL);
	if (!rc)
		rc = fill_results(&plan, cfg, ip, taps);
out:
	free(ip);
	free(net_dir);
	return rc ? sv_err_prefix("setting up networking of VM \"%s\"", vm_id) : 0;
}
