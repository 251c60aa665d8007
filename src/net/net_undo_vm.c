/* Undo handlers for what a VM adds to shared host networking (net_undo.h
 * lists the kinds): its firewall elements, its published ports, its
 * WireGuard tunnel and its routing, and TAPs it made in someone else's
 * namespace.
 *
 * Each runs under the bridge's lease lock, the same lock setup holds, and
 * removes only what is still this VM's: an element keyed by an address is
 * left when that address is leased to another VM now (`smartvm net gc` may
 * have released it and someone taken it since), one keyed by a device when
 * the device is another VM's, a published port when the registry no longer
 * says it is this VM's, and routing keyed by a tunnel when the tunnel's
 * interface carries another VM's mark. All succeed when the thing is gone. */
#include "net/net_undo.h"

#include "net/net_addr.h"
#include "net/net_join.h"
#include "net/net_lease.h"
#include "net/net_link.h"
#include "net/net_netns.h"
#include "net/net_nft_vm.h"
#include "net/net_ports.h"
#include "net/net_route.h"
#include "net/net_wg.h"
#include "net/net_wg_egress.h"
#include "util/error.h"
#include "util/ledger.h"
#include "util/log.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The lease db a LEASES argument names, locked; *have false (and 0) when its
 * directory is gone, i.e. nothing is leased on any bridge any more. */
static int lock_leases(sv_lease_db *db, const char *lease_file, bool *have)
{
	char *net_dir = NULL, bridge[16];
	*have = false;
	if (!lease_file || !sv_lease_path_split(lease_file, &net_dir, bridge))
		return sv_err(SV_EINVAL, "ledger entry: \"%s\" is not a <bridge>.leases file",
			      lease_file ? lease_file : "");
	int rc = sv_lease_db_open_existing(db, net_dir, bridge);
	free(net_dir);
	if (rc == SV_ENOTFOUND) {
		sv_err_clear();
		snprintf(db->bridge, sizeof(db->bridge), "%s", bridge);
		return 0;
	}
	*have = rc == 0;
	return rc;
}

static bool ip_taken_by_other(const sv_lease_db *db, bool have, uint32_t ip, const char *vm)
{
	for (size_t i = 0; have && i < db->n; i++)
		if (db->items[i].ip == ip && strcmp(db->items[i].vm_id, vm))
			return true;
	return false;
}

static bool dev_taken_by_other(const sv_lease_db *db, bool have, const char *dev, const char *vm)
{
	const sv_lease *l = have ? sv_lease_db_find_dev(db, dev) : NULL;
	return l && strcmp(l->vm_id, vm);
}

/* "<spec>,<vm>": splits off the last field. */
static bool split_vm(const char *text, char *spec, size_t spec_size, char vm[65])
{
	const char *comma = text ? strrchr(text, ',') : NULL;
	if (!comma || (size_t)(comma - text) >= spec_size || strlen(comma + 1) >= 65 || !comma[1])
		return false;
	memcpy(spec, text, (size_t)(comma - text));
	spec[comma - text] = '\0';
	snprintf(vm, 65, "%s", comma + 1);
	return true;
}

static int undo_fw(const char *lease_file, const char *text)
{
	char spec[64], vm[65];
	sv_nft_vm_iface f;
	if (!split_vm(text, spec, sizeof(spec), vm) || !sv_nft_vm_iface_parse(&f, spec))
		return sv_err(SV_EINVAL,
			      "ledger entry for firewall elements: \"%s\" is not DEV,MAC,IP,FLAGS,VM",
			      text ? text : "");
	sv_lease_db db;
	bool have;
	int rc = lock_leases(&db, lease_file, &have);
	if (rc)
		return rc;
	bool dev_ours = !dev_taken_by_other(&db, have, f.dev, vm),
	     ip_ours = !ip_taken_by_other(&db, have, f.ip, vm);
	sv_nft_batch b;
	if (!(rc = sv_nft_batch_init(&b, db.bridge))) {
		sv_nft_batch_iface_parts(&b, false, &f, dev_ours, ip_ours);
		char what[96];
		snprintf(what, sizeof(what), "removing the firewall elements of %s", f.dev);
		rc = sv_nft_batch_apply(&b, true, what);
		sv_nft_batch_free(&b);
	}
	if (have)
		sv_lease_db_close(&db);
	return rc;
}

static int undo_publish(const char *lease_file, const char *text)
{
	sv_port_rec rec;
	if (!sv_port_rec_parse(&rec, text))
		return sv_err(SV_EINVAL,
			      "ledger entry for a published port: \"%s\" is not "
			      "PROTO,HOSTIP,HOSTPORT,GUESTIP,GUESTPORT,BRIDGE,VM",
			      text ? text : "");
	sv_lease_db db;
	bool have;
	int rc = lock_leases(&db, lease_file, &have);
	if (rc || !have)
		return rc; /* no lease directory: no registry either */
	sv_ports ports;
	if (!(rc = sv_ports_load(&ports, db.lock_fd, db.net_dir))) {
		/* Not in the registry: never added, or removed already; the host
		 * port may be another VM's now, so its elements are not ours. */
		if (sv_ports_remove(&ports, &rec)) {
			sv_nft_batch b;
			if (!(rc = sv_nft_batch_init(&b, rec.bridge))) {
				sv_nft_batch_port(&b, false, &rec.pub);
				char what[128], desc[80];
				sv_port_pub_describe(&rec.pub, desc);
				snprintf(what, sizeof(what), "removing published port %s", desc);
				rc = sv_nft_batch_apply(&b, true, what);
				sv_nft_batch_free(&b);
			}
			if (!rc)
				rc = sv_ports_save(&ports, db.lock_fd, db.net_dir);
		}
		sv_ports_free(&ports);
	}
	sv_lease_db_close(&db);
	return rc;
}

/* "NAME,VM": the tunnel's name (one smartvm hands out) and its VM. */
static bool parse_wg_owner(const char *text, char name[16], char vm[65], uint32_t *n)
{
	int end = 0;
	return text && sscanf(text, "%15[^,],%64[^,]%n", name, vm, &end) == 2 && !text[end] &&
	       sv_wg_name_number(name, n);
}

static int undo_wgif(const char *owner, const char *lease_file)
{
	char name[16], vm[65], alias[96];
	uint32_t n;
	if (!parse_wg_owner(owner, name, vm, &n))
		return sv_err(SV_EINVAL, "ledger entry for a WireGuard interface: \"%s\" is not NAME,VM",
			      owner ? owner : "");
	sv_lease_db db;
	bool have;
	int rc = lock_leases(&db, lease_file, &have);
	if (rc)
		return rc;
	sv_wg_alias(alias, vm);
	rc = sv_wg_down(name, alias);
	if (have)
		sv_lease_db_close(&db);
	return rc;
}

static int undo_wg(const char *lease_file, const char *text)
{
	char name[16], vm[65], copy[512];
	uint32_t n, ips[SV_WG_MAX_CIDRS];
	size_t n_ips = 0;
	int end = 0;
	bool ok = text && strlen(text) < sizeof(copy) &&
		  sscanf(text, "%15[^,],%64[^,]%n", name, vm, &end) == 2 && sv_wg_name_number(name, &n);
	if (ok) {
		snprintf(copy, sizeof(copy), "%s", text + end);
		for (char *rest = copy, *item; ok && rest && *rest && (item = strsep(&rest, ","));)
			ok = !*item || (n_ips < SV_WG_MAX_CIDRS && sv_ipv4_parse(item, &ips[n_ips++]));
	}
	if (!ok)
		return sv_err(SV_EINVAL,
			      "ledger entry for WireGuard routing: \"%s\" is not NAME,VM,IP[,IP...]",
			      text ? text : "");
	sv_lease_db db;
	bool have;
	int rc = lock_leases(&db, lease_file, &have);
	if (rc)
		return rc;
	char alias[96];
	sv_wg_alias(alias, vm);
	sv_nl_link link;
	int lrc = sv_nl_link_get(name, &link);
	/* Another VM's tunnel has the name (and table) now: nothing keyed by
	 * them is ours. */
	bool name_ours = lrc == SV_ENOTFOUND || (lrc == 0 && !strcmp(link.alias, alias));
	sv_err_clear();
	uint32_t table = SV_WG_TABLE_BASE + n;
	sv_nft_batch b;
	if (!(rc = sv_nft_batch_init(&b, db.bridge))) {
		for (size_t i = 0; i < n_ips && !rc; i++) {
			if (name_ours) {
				rc = sv_nl_rule_del(ips[i], db.bridge, table, SV_WG_RULE_PRIO);
				sv_nft_batch_wg_name_parts(&b, false, ips[i], name);
			}
			if (!ip_taken_by_other(&db, have, ips[i], vm))
				sv_nft_batch_wg_ip(&b, false, ips[i]);
		}
		if (!rc && name_ours && !(rc = sv_nl_table_default_del(table, name, 0)))
			rc = sv_nl_table_default_del(table, NULL, SV_WG_UNREACHABLE_METRIC);
		if (!rc)
			rc = sv_nft_batch_apply(&b, true, "removing the WireGuard firewall elements");
		sv_nft_batch_free(&b);
	}
	if (have)
		sv_lease_db_close(&db);
	return rc;
}

typedef struct {
	const char *name, *vm, *iface;
} nstap;

static int drop_nstap(void *arg)
{
	const nstap *t = arg;
	return sv_net_drop_tap(t->name, t->vm, t->iface);
}

static int undo_nstap(const char *owner, const char *netns)
{
	char name[16], vm[65], iface[64];
	int end = 0;
	const char *why;
	if (!owner || sscanf(owner, "%15[^,],%64[^/]/%63s%n", name, vm, iface, &end) != 3 || owner[end] ||
	    !sv_ifname_valid(name, &why) || !netns)
		return sv_err(SV_EINVAL, "ledger entry for a TAP in a namespace: \"%s\" is not NAME,VM/IFACE",
			      owner ? owner : "");
	nstap t = {name, vm, iface};
	int fd;
	int rc = sv_netns_open("namespace of the ledger entry", netns, &fd);
	if (rc) {
		/* The namespace is gone (its bind mount too): so are its devices. */
		sv_debug("TAP %s: %s; nothing left to remove", name, sv_last_error());
		sv_err_clear();
		return 0;
	}
	rc = sv_netns_run(fd, drop_nstap, &t);
	close(fd);
	return rc ? sv_err_prefix("in network namespace %s", netns) : 0;
}

void sv_net_register_undo_vm(void)
{
	sv_ledger_register("fw", undo_fw);
	sv_ledger_register("publish", undo_publish);
	sv_ledger_register("wgif", undo_wgif);
	sv_ledger_register("wg", undo_wg);
	sv_ledger_register("nstap", undo_nstap);
	sv_net_register_undo_join();
}
