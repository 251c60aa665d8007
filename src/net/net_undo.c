/* Undo handlers for the networking ledger kinds. Each must succeed when its
 * resource is already gone (a replay may run twice, or after `smartvm net gc`)
 * and must never remove what another VM still uses: leases are released only
 * when (ip, vm, iface) all match, and the shared bridge and table go only
 * when the bridge's lease file is empty, checked under its lock. */
#include "net/net_undo.h"

#include "net/net_bridge.h"
#include "net/net_link.h"
#include "util/error.h"
#include "util/ledger.h"
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sv_net_drop_device(const char *dev, bool owned, const char *bridge)
{
	sv_nl_link link;
	int rc = sv_nl_link_get(dev, &link);
	if (rc == SV_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (owned) {
		/* A name can be reused by someone else after we are gone: only a
		 * TAP is ours to delete. */
		if (strcmp(link.kind, "tun"))
			return 0;
		return sv_nl_link_del(dev);
	}
	sv_nl_link br;
	if (link.master && sv_nl_link_get(bridge, &br) == 0 && br.index == link.master)
		return sv_nl_link_set_master(dev, 0);
	return 0;
}

static int undo_tap(const char *name, const char *unused)
{
	(void)unused;
	return sv_net_drop_device(name, true, NULL);
}

static int undo_port(const char *dev, const char *bridge)
{
	return bridge ? sv_net_drop_device(dev, false, bridge) : 0;
}

static int undo_lease(const char *lease_file, const char *key)
{
	if (!key)
		return 0;
	char ip_text[16] = "", vm[65] = "", iface[64] = "";
	uint32_t ip;
	if (sscanf(key, "%15[^,],%64[^,],%63s", ip_text, vm, iface) != 3 || !sv_ipv4_parse(ip_text, &ip))
		return sv_err(SV_EINVAL, "lease entry \"%s\": expected IP,VM,IFACE", key);
	size_t len = strlen(lease_file);
	if (len < 8 || strcmp(lease_file + len - 7, ".leases"))
		return sv_err(SV_EINVAL, "lease entry: \"%s\" is not a lease file", lease_file);
	char *dir_copy = strdup(lease_file), *base_copy = strdup(lease_file);
	int rc = 0;
	if (!dir_copy || !base_copy) {
		rc = sv_err(SV_ENOMEM, "out of memory");
		goto out;
	}
	char *base = basename(base_copy);
	base[strlen(base) - 7] = '\0';
	sv_lease_db db;
	if ((rc = sv_lease_db_open(&db, dirname(dir_copy), base)))
		goto out;
	if (sv_lease_db_remove(&db, ip, vm, iface))
		rc = sv_lease_db_save(&db);
	sv_lease_db_close(&db);
out:
	free(dir_copy);
	free(base_copy);
	return rc;
}

static int release_shared(const char *bridge, const char *net_dir, bool table, bool bridge_too)
{
	if (!net_dir)
		return sv_err(SV_EINVAL, "ledger entry for bridge %s names no directory", bridge);
	sv_lease_db db;
	int rc = sv_lease_db_open(&db, net_dir, bridge);
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

static void register_all(void)
{
	sv_ledger_register("bridge", undo_bridge);
	sv_ledger_register("nft", undo_nft);
	sv_ledger_register("lease", undo_lease);
	sv_ledger_register("tap", undo_tap);
	sv_ledger_register("port", undo_port);
}

void sv_net_register_undo(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, register_all);
}
