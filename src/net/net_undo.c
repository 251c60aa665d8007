/* Undo handlers for the networking ledger kinds. Each must succeed when its
 * resource is already gone (a replay may run twice, or after `smartvm net gc`)
 * and must never remove what another VM still uses: leases are released only
 * when (ip, vm, iface) all match, and the shared bridge and table go only
 * when the bridge's lease file is empty, checked under its lock.
 *
 * A ledger line is data from a file: before acting, each handler checks that
 * the object is smartvm's. A TAP is deleted only when it carries its VM's mark
 * (alias, see net_names.h), or has that VM's derived name and no mark (setup
 * stopped between creating and marking it); a lease file only as
 * <bridge>.leases in a directory that passes the trusted-directory check; a
 * bridge only when smartvm's state file says it made it and it carries
 * smartvm's mark (net_bridge.c); a port is detached only from a bridge that
 * has smartvm's table. Anything else is refused with an error, so the entry
 * stays for a later gc and a person can look. */
#include "net/net_undo.h"

#include "net/net_addr.h"
#include "net/net_bridge.h"
#include "net/net_link.h"
#include "net/net_names.h"
#include "net/net_nft.h"
#include "util/error.h"
#include "util/ledger.h"
#include "util/trusted_dir.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads link name: 1 when it is a tun/tap device, 0 when it is gone, else an
 * error (SV_EUNSAFE for a device of another kind). */
static int get_tap(const char *name, sv_nl_link *link)
{
	int rc = sv_nl_link_get(name, link);
	if (rc)
		return rc == SV_ENOTFOUND ? 0 : rc;
	if (strcmp(link->kind, "tun"))
		return sv_err(SV_EUNSAFE, "%s is a %s, not a TAP; left alone", name,
			      link->kind[0] ? link->kind : "plain device");
	return 1;
}

static bool marked_as_tap(const sv_nl_link *link)
{
	return !strncmp(link->alias, SV_NET_TAP_ALIAS_PREFIX, strlen(SV_NET_TAP_ALIAS_PREFIX));
}

int sv_net_drop_tap(const char *name, const char *vm, const char *iface)
{
	sv_nl_link link;
	int rc = get_tap(name, &link);
	if (rc <= 0)
		return rc;
	char want[SV_NET_ALIAS_MAX], derived[16];
	if ((rc = sv_net_tap_alias(want, vm, iface)) || (rc = sv_net_tap_name(derived, vm, iface)))
		return rc;
	if (!strcmp(link.alias, want) || (!link.alias[0] && !strcmp(name, derived)))
		return sv_nl_link_del_checked(&link);
	if (marked_as_tap(&link))
		return 0; /* another VM's TAP has the name now: ours is gone */
	return sv_err(SV_EUNSAFE,
		      "%s is not a TAP smartvm created for VM \"%s\" interface \"%s\"; left alone", name, vm,
		      iface);
}

/* An entry written before entries named their owner: any TAP of smartvm's. */
static int drop_any_smartvm_tap(const char *name)
{
	sv_nl_link link;
	int rc = get_tap(name, &link);
	if (rc <= 0)
		return rc;
	if (marked_as_tap(&link) || (!link.alias[0] && sv_net_tap_name_is_derived(name)))
		return sv_nl_link_del_checked(&link);
	return sv_err(SV_EUNSAFE, "%s is not a TAP smartvm created; left alone", name);
}

static int detach_port(const char *dev, const char *bridge, bool check_bridge)
{
	sv_nl_link link, br;
	int rc = sv_nl_link_get(dev, &link);
	if (rc == SV_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (!link.master || (rc = sv_nl_link_get(bridge, &br)) == SV_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (br.index != link.master)
		return 0;
	if (check_bridge) {
		bool ours = false;
		if ((rc = sv_nft_exists(bridge, &ours)))
			return rc;
		char table[32];
		sv_nft_table_name(table, bridge);
		if (!ours)
			return sv_err(SV_EUNSAFE,
				      "%s is not a bridge smartvm uses (no nftables table %s); left alone",
				      bridge, table);
	}
	return sv_nl_link_set_master(dev, 0);
}

int sv_net_drop_device(const sv_lease *lease, const char *bridge)
{
	/* The lease file, in the trusted lease directory, vouches for the bridge. */
	return lease->dev_owned ? sv_net_drop_tap(lease->dev, lease->vm_id, lease->iface_id)
				: detach_port(lease->dev, bridge, false);
}

static int check_ifname(const char *what, const char *name)
{
	const char *why;
	if (!name || !sv_ifname_valid(name, &why))
		return sv_err(SV_EINVAL, "ledger entry for %s \"%s\": %s", what, name ? name : "",
			      name ? why : "missing");
	return 0;
}

static int undo_tap(const char *name, const char *owner)
{
	int rc = check_ifname("TAP", name);
	if (rc || !owner)
		return rc ? rc : drop_any_smartvm_tap(name);
	char vm[80] = "", iface[80] = "";
	const char *slash = strchr(owner, '/');
	if (!slash || slash == owner || !slash[1] || (size_t)(slash - owner) >= sizeof(vm) ||
	    strlen(slash + 1) >= sizeof(iface) || strchr(slash + 1, '/'))
		return sv_err(SV_EINVAL, "ledger entry for TAP %s: owner \"%s\" is not VM/IFACE", name,
			      owner);
	memcpy(vm, owner, (size_t)(slash - owner));
	snprintf(iface, sizeof(iface), "%s", slash + 1);
	return sv_net_drop_tap(name, vm, iface);
}

static int undo_port(const char *dev, const char *bridge)
{
	int rc;
	if ((rc = check_ifname("device", dev)) || (rc = check_ifname("bridge", bridge)))
		return rc;
	return detach_port(dev, bridge, true);
}

/* Opens the lease db of bridge in net_dir without creating anything:
 * SV_ENOTFOUND when the directory is gone (then nothing of it is left). */
static int open_existing(sv_lease_db *db, const char *net_dir, const char *bridge)
{
	int rc = check_ifname("bridge", bridge);
	if (rc)
		return rc;
	if (!net_dir)
		return sv_err(SV_EINVAL, "ledger entry for bridge %s names no directory", bridge);
	return sv_lease_db_open_existing(db, net_dir, bridge);
}

static int undo_lease(const char *lease_file, const char *key)
{
	if (!key)
		return sv_err(SV_EINVAL, "lease entry for %s: no IP,VM,IFACE", lease_file);
	char ip_text[16] = "", vm[65] = "", iface[64] = "";
	uint32_t ip;
	int end = 0;
	if (sscanf(key, "%15[^,],%64[^,],%63[^,]%n", ip_text, vm, iface, &end) != 3 || key[end] ||
	    !sv_ipv4_parse(ip_text, &ip))
		return sv_err(SV_EINVAL, "lease entry \"%s\": expected IP,VM,IFACE", key);
	char *net_dir = NULL, bridge[16];
	if (!sv_lease_path_split(lease_file, &net_dir, bridge))
		return sv_err(SV_EINVAL, "lease entry: \"%s\" is not a <bridge>.leases file", lease_file);
	sv_lease_db db;
	int rc = open_existing(&db, net_dir, bridge);
	free(net_dir);
	if (rc == SV_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (sv_lease_db_remove(&db, ip, vm, iface))
		rc = sv_lease_db_save(&db);
	sv_lease_db_close(&db);
	return rc;
}

static int release_shared(const char *bridge, const char *net_dir, bool table, bool bridge_too)
{
	sv_lease_db db;
	int rc = open_existing(&db, net_dir, bridge);
	if (rc == SV_ENOTFOUND) {
		/* No lease directory, so no lease on any bridge: the table is
		 * unused. Without the state file nothing says the bridge is ours. */
		return table ? sv_nft_delete(bridge, NULL) : 0;
	}
	if (rc)
		return rc;
	rc = sv_net_release_unused(&db, table, bridge_too);
	sv_lease_db_close(&db);
	return rc;
}

static int undo_nft(const char *bridge, const char *net_dir)
{
	return release_shared(bridge, net_dir, true, false);
}

static int undo_bridge(const char *bridge, const char *net_dir)
{
	return release_shared(bridge, net_dir, false, true);
}

/* "bridge" and "nft" entries are no longer written (the bridge and its
 * table outlive their VMs until `net down` / `net gc`); ledgers written
 * before that still hold them, and their replay takes an unused bridge
 * down as it always did. */
static void register_all(void)
{
	sv_ledger_register("bridge", undo_bridge);
	sv_ledger_register("nft", undo_nft);
	sv_ledger_register("lease", undo_lease);
	sv_ledger_register("tap", undo_tap);
	sv_ledger_register("port", undo_port);
	sv_net_register_undo_vm();
}

void sv_net_register_undo(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, register_all);
}
