/* A VM's host networking (the seam in vm_net.h): for each network interface,
 * a device (a TAP we create, or the host_dev_name given), an address lease, a
 * MAC; the shared bridge and nftables table; and the guest's ip= argument.
 *
 * Order and invariants:
 *  1. Everything that can be checked without the host is checked first, and
 *     addresses are allocated in memory under the lease lock before anything
 *     is created, so bad input and a full subnet leave nothing behind.
 *  2. Each resource of the VM's is written to the ledger before it is
 *     created; the ledger reads lease..., tap/port..., fw..., so a backwards
 *     replay removes firewall elements, devices, then leases. The bridge and
 *     its table are shared and persist after the last VM (as Docker's
 *     docker0 does) until `smartvm net down` or `net gc` (net_admin.c): the
 *     bridge's state file records them before they are created, so a crash
 *     leaves a record that down/gc act on, never an unrecorded bridge.
 *  3. The bridge, the table and the leases change under one flock hold, so
 *     `net down` can't remove the bridge between our ensuring it and our
 *     lease being written (down refuses while a lease exists). Published
 *     ports are checked against the host-wide registry and a WireGuard
 *     tunnel's name is picked under the same hold. TAPs are made after the
 *     lock is released: nothing shared depends on them.
 *  4. The VM's share of the firewall (anti-spoofing, isolation, gateway
 *     services, published ports, tunnel routing) is one nft batch of set
 *     elements, applied once its TAPs exist and before its VMM starts.
 * Bring-your-own networking (net.netns_path, net.existing_taps) is
 * net_byo.c's. On failure, whatever was created stays for the ledger
 * replay to remove. */
#include "vm/vm_net.h"

#include "net/net_addr.h"
#include "net/net_bridge.h"
#include "net/net_byo.h"
#include "net/net_join.h"
#include "net/net_forward.h"
#include "net/net_lease.h"
#include "net/net_link.h"
#include "net/net_names.h"
#include "net/net_nft.h"
#include "net/net_nft_vm.h"
#include "net/net_options.h"
#include "net/net_ports.h"
#include "net/net_tap.h"
#include "net/net_undo.h"
#include "net/net_wg_egress.h"
#include "net/net_wgconf.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/spawn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sv_vm_net_register_undo(void) { sv_net_register_undo(); }

int sv_vm_net_spawn(const sv_vm_config *cfg, const sv_spawn_opts *so, pid_t *pid)
{
	return sv_net_spawn_in_netns(cfg, so, pid);
}

/* What setup decided for one interface before touching the host. */
typedef struct {
	char dev[16];
	bool owned;	/* we create dev (derived name, or a given one that is absent) */
	bool attach;	/* an existing device with no master: we attach it */
	sv_lease lease; /* ip filled once allocated */
} iface_plan;

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
				return sv_net_tap_taken(i, p->dev, link.alias);
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
	/* The bridge and table are the bridge's, not the VM's: they outlive it
	 * (until `net down` or `net gc`), recorded by the state file, so the
	 * VM's ledger holds no entry for them. */
	if ((rc = SV_FAULT_POINT("launch.bridge")) || (rc = sv_net_bridge_ensure(db, plan)) ||
	    (rc = SV_FAULT_POINT("launch.nft")) || (rc = sv_net_table_ensure(plan, net_dir, false)))
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

/* The VM's extras, decided before the lock: ports (guest addresses filled
 * in under it) and the tunnel's configuration. */
typedef struct {
	const sv_vm_net_options *no;
	sv_port_pub *ports;
	size_t n_ports;
	sv_wg_config *wg; /* NULL = no tunnel */
	sv_nft_batch batch;
	char wg_if[16];
} vm_extras;

static int prepare_extras(vm_extras *x, const sv_vm_config *cfg, const char *bridge)
{
	memset(x, 0, sizeof(*x));
	x->no = cfg->net && cfg->net->version >= 1 ? cfg->net : NULL;
	int rc = sv_nft_batch_init(&x->batch, bridge);
	if (rc || !x->no)
		return rc;
	if (x->no->n_publish && !(x->ports = calloc(x->no->n_publish, sizeof(*x->ports))))
		return sv_err(SV_ENOMEM, "out of memory");
	for (size_t i = 0; i < x->no->n_publish; i++, x->n_ports++)
		if ((rc = sv_port_pub_parse(&x->ports[i], x->no->publish[i])))
			return sv_err_prefix("net.publish[%zu]", i);
	if (x->no->wireguard_config) {
		if (!(x->wg = malloc(sizeof(*x->wg))))
			return sv_err(SV_ENOMEM, "out of memory");
		if ((rc = sv_wg_config_load(x->wg, x->no->wireguard_config)))
			return sv_err_prefix("net.wireguard_config");
	}
	return 0;
}

static void free_extras(vm_extras *x)
{
	if (x->wg)
		explicit_bzero(x->wg, sizeof(*x->wg));
	free(x->wg);
	free(x->ports);
	sv_nft_batch_free(&x->batch);
}

/* Under the lock, after the leases: claims the host ports in the registry
 * (refusing one another VM has) and brings the tunnel up. */
static int setup_extras_locked(sv_lease_db *db, sv_ledger *ledger, const char *vm_id, const iface_plan *ip,
			       size_t n_ifaces, vm_extras *x)
{
	int rc = 0;
	if (x->n_ports) {
		sv_ports ports;
		if ((rc = sv_ports_load(&ports, db->lock_fd, db->net_dir)))
			return rc;
		for (size_t i = 0; i < x->n_ports && !rc; i++) {
			sv_port_rec rec = {.pub = x->ports[i]};
			rec.pub.guest_ip = ip[0].lease.ip;
			snprintf(rec.bridge, sizeof(rec.bridge), "%s", db->bridge);
			snprintf(rec.vm_id, sizeof(rec.vm_id), "%s", vm_id);
			const sv_port_rec *other = sv_ports_clash(&ports, &rec.pub);
			char text[160], desc[80];
			if (other) {
				sv_port_pub_describe(&other->pub, desc);
				rc = sv_err(
				    SV_EBUSY,
				    "net.publish[%zu] \"%s\": the host port is published by VM \"%s\" (%s)",
				    i, x->no->publish[i], other->vm_id, desc);
				break;
			}
			sv_port_rec_format(&rec, text);
			if (!(rc = sv_ledger_record(ledger, "publish", db->lease_path, text)) &&
			    !(rc = SV_FAULT_POINT("launch.publish")) && !(rc = sv_ports_add(&ports, &rec)))
				sv_nft_batch_port(&x->batch, true, &rec.pub);
		}
		if (!rc)
			rc = sv_ports_save(&ports, db->lock_fd, db->net_dir);
		sv_ports_free(&ports);
		if (!rc)
			rc = sv_net_route_localnet_on(db->net_dir, db->bridge);
		if (rc)
			return rc;
	}
	if (x->wg) {
		uint32_t ips[SV_WG_MAX_CIDRS];
		size_t n = 0;
		for (size_t i = 0; i < n_ifaces && n < SV_WG_MAX_CIDRS; i++)
			ips[n++] = ip[i].lease.ip;
		rc = sv_wg_egress_setup(db, ledger, vm_id, ips, n, x->wg, &x->batch, x->wg_if);
	}
	return rc;
}

/* The table is applied only when its document changed (it persists between
 * VMs), so one removed behind smartvm's back (`nft flush ruleset`) shows as
 * a failing VM batch: then, with the table gone, it is applied again under
 * the lock and the batch retried once. */
static int apply_vm_batch(const sv_net_plan *plan, const char *net_dir, vm_extras *x)
{
	const char *what = "setting up the VM's firewall";
	int rc = sv_nft_batch_apply(&x->batch, false, what);
	if (!rc)
		return 0;
	sv_err_saved saved;
	sv_err_save(&saved);
	bool exists = true;
	if (sv_nft_exists(plan->bridge, &exists) != 0 || exists)
		return sv_err_restore(&saved);
	sv_err_restore(&saved); /* frees it: the retry's outcome is the error */
	sv_err_clear();
	sv_lease_db db;
	if ((rc = sv_lease_db_open(&db, net_dir, plan->bridge)))
		return rc;
	rc = sv_net_table_ensure(plan, net_dir, true);
	sv_lease_db_close(&db);
	return rc ? rc : sv_nft_batch_apply(&x->batch, false, what);
}

/* Records every interface's firewall elements, then applies the VM's whole
 * batch (elements, ports, tunnel) in one nftables transaction. */
static int setup_firewall(const sv_net_plan *plan, const char *net_dir, const char *lease_path,
			  sv_ledger *ledger, const char *vm_id, const iface_plan *ip, size_t n_ifaces,
			  vm_extras *x)
{
	int rc = 0;
	for (size_t i = 0; i < n_ifaces && !rc; i++) {
		sv_nft_vm_iface f = {.ip = ip[i].lease.ip,
				     .open = x->no && x->no->allow_vm_to_vm,
				     .dns = x->no && x->no->allow_host_dns};
		snprintf(f.dev, sizeof(f.dev), "%s", ip[i].dev);
		snprintf(f.mac, sizeof(f.mac), "%s", ip[i].lease.mac);
		char spec[64], entry[160];
		sv_nft_vm_iface_format(&f, spec);
		snprintf(entry, sizeof(entry), "%s,%s", spec, vm_id);
		if (!(rc = sv_ledger_record(ledger, "fw", lease_path, entry)))
			sv_nft_batch_iface(&x->batch, true, &f);
	}
	if (!rc)
		rc = SV_FAULT_POINT("launch.firewall");
	return rc ? rc : apply_vm_batch(plan, net_dir, x);
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
		int rc = sv_net_iface_fill(&nics[i], t->tap_name, t->mac);
		if (rc)
			return rc;
	}
	const char *args = cfg->boot_source.boot_args;
	if (sv_boot_args_have_ip(args))
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
	sv_vm_net_register_undo();
	int rc = sv_net_check_vm_options(cfg);
	if (!rc && sv_net_options_byo(cfg->net))
		rc = sv_net_byo_setup(vm_id, ledger, cfg, taps);
	if (rc || sv_net_options_byo(cfg->net))
		return rc ? sv_err_prefix("setting up networking of VM \"%s\"", vm_id) : 0;
	sv_net_plan plan;
	vm_extras x = {0};
	char *lease_path = NULL;
	iface_plan *ip = calloc(cfg->n_network_interfaces, sizeof(*ip));
	char *net_dir = sv_net_dir(data_dir);
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
	if ((rc = sv_net_plan_from_options(&plan, opts)) || (rc = check_ifaces(cfg, &plan, vm_id, ip)) ||
	    (rc = prepare_extras(&x, cfg, plan.bridge)))
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
	if (!rc)
		rc = setup_extras_locked(&db, ledger, vm_id, ip, cfg->n_network_interfaces, &x);
	if (!rc && !(lease_path = strdup(db.lease_path)))
		rc = sv_err(SV_ENOMEM, "out of memory");
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
		rc = setup_firewall(&plan, net_dir, lease_path, ledger, vm_id, ip, cfg->n_network_interfaces,
				    &x);
	if (!rc)
		rc = fill_results(&plan, cfg, ip, taps);
out:
	free_extras(&x);
	free(lease_path);
	free(ip);
	free(net_dir);
	return rc ? sv_err_prefix("setting up networking of VM \"%s\"", vm_id) : 0;
}
