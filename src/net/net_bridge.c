/* The per-bridge shared resources: the bridge and the nftables table.
 *
 * Invariants: a bridge smartvm creates is recorded in the state file *before*
 * it is created, so a crash can leave a record without a bridge (harmless) but
 * never a bridge of ours without the record. Right after creation it gets
 * smartvm's alias (net_names.h), and it is deleted only while it still
 * carries it: a bridge that took the name since is someone else's. A bridge
 * that existed before is never modified or deleted. The table and the bridge
 * are removed only when the lease file holds no lease, checked under the same
 * lock that setup holds while it creates them. */
#include "net/net_bridge.h"

#include "net/net_forward.h"
#include "net/net_link.h"
#include "net/net_names.h"
#include "net/net_nft.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The gateway's MAC must not change under the guests: a bridge keeps a MAC
 * set by hand, where its own follows the lowest of its ports' and changes
 * when a VM's TAP comes or goes, and every running guest's ARP entry for the
 * gateway then points nowhere until it expires (seen from a real guest:
 * egress lost after another VM ended). Its first, random MAC, set again, is
 * kept. Done before the bridge is marked as smartvm's, so a marked bridge is
 * a pinned one. */
static int pin_mac(const char *bridge)
{
	sv_nl_link created;
	int rc = sv_nl_link_get(bridge, &created);
	return rc ? rc : sv_nl_link_set_mac(bridge, created.mac);
}

int sv_net_bridge_ensure(sv_lease_db *db, const sv_net_plan *plan)
{
	sv_nl_link link;
	uint32_t gw = sv_subnet_gateway(&plan->subnet);
	int rc = sv_nl_link_get(plan->bridge, &link);
	if (rc == 0) {
		if (strcmp(link.kind, "bridge"))
			return sv_err(
			    SV_ENETWORK,
			    "bridge_name \"%s\": a link of that name exists and is a %s, not a bridge",
			    plan->bridge, link.kind[0] ? link.kind : "plain device");
		if (!db->has_state && (rc = sv_lease_db_save_state(db, true, false)))
			return rc;
		/* Ours and unmarked: setup stopped between creating and marking
		 * it; the mark is what lets a cleanup delete it. */
		if (db->bridge_created && strcmp(link.alias, SV_NET_BRIDGE_ALIAS) &&
		    ((rc = pin_mac(plan->bridge)) ||
		     (rc = sv_nl_link_set_alias(plan->bridge, SV_NET_BRIDGE_ALIAS))))
			return rc;
		if (!db->bridge_created) {
			bool has = false;
			if (sv_nl_addr_has(link.index, gw, &has) == 0 && !has) {
				char text[16];
				sv_ipv4_format(gw, text);
				sv_warn("bridge %s existed before smartvm and has no address %s: guests may "
					"not reach their gateway",
					plan->bridge, text);
			}
			return 0;
		}
		/* Ours: finish what a crashed setup may have left half done. */
	} else if (rc == SV_ENOTFOUND) {
		if ((rc = sv_lease_db_save_state(db, true, true)) || (rc = sv_nl_bridge_add(plan->bridge)) ||
		    (rc = pin_mac(plan->bridge)) ||
		    (rc = sv_nl_link_set_alias(plan->bridge, SV_NET_BRIDGE_ALIAS)))
			return rc;
	} else {
		return rc;
	}
	if ((rc = sv_nl_addr_add(plan->bridge, gw, plan->subnet.prefix)) ||
	    (rc = sv_nl_link_set_up(plan->bridge)))
		return rc;
	return 0;
}

/* "<net_dir>/<bridge>.nft": the table document last applied for the bridge. */
static char *applied_path(const char *net_dir, const char *bridge)
{
	char *name = NULL, *path = NULL;
	if (asprintf(&name, "%s.nft", bridge) >= 0)
		path = sv_path_join(net_dir, name);
	free(name);
	return path;
}

int sv_net_table_ensure(const sv_net_plan *plan, const char *net_dir, bool force)
{
	char outbound[16];
	snprintf(outbound, sizeof(outbound), "%s", plan->outbound);
	if (!outbound[0] && sv_nl_default_route_dev(outbound) != 0) {
		/* No default route: masquerade whatever leaves by another interface. */
		outbound[0] = '\0';
	}
	if (!strcmp(outbound, plan->bridge))
		outbound[0] = '\0';
	char *doc = NULL, *applied = NULL, *path = applied_path(net_dir, plan->bridge);
	int rc = path ? sv_nft_build_table(&doc, plan, outbound) : sv_err(SV_ENOMEM, "out of memory");
	/* An earlier VM on this bridge already applied this very table: each
	 * table apply costs milliseconds under the lock every VM start takes. */
	if (!rc && !force && sv_read_file(path, 1 << 20, &applied, NULL) == 0 && !strcmp(applied, doc))
		goto out;
	sv_err_clear();
	if (!rc && !(rc = sv_net_forwarding_on(net_dir)) && !(rc = sv_nft_apply(plan->bridge, doc)))
		rc = sv_write_file_atomic(path, doc, strlen(doc), 0644);
out:
	free(applied);
	free(doc);
	free(path);
	return rc;
}

/* Does any device use br? *tap (may stay "") names one of them that is
 * a TAP smartvm made. */
static int bridge_has_ports(const sv_nl_link *br, bool *has, char tap[16])
{
	sv_nl_link *links = NULL;
	size_t n = 0;
	int rc = sv_nl_link_list(&links, &n);
	if (rc)
		return rc;
	*has = false;
	tap[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (links[i].master != br->index)
			continue;
		*has = true;
		if (!strncmp(links[i].alias, SV_NET_TAP_ALIAS_PREFIX, strlen(SV_NET_TAP_ALIAS_PREFIX)))
			snprintf(tap, 16, "%s", links[i].name);
	}
	free(links);
	return 0;
}

/* Deletes the bridge smartvm created, if it is still that bridge (a bridge
 * carrying smartvm's mark) and no port is left. A TAP of smartvm's still on
 * it, with no lease left, is a dead VM's whose removal failed: its ledger
 * keeps it, and this entry is kept too (an error), so that the replay that
 * removes the TAP removes the bridge after it. Devices smartvm does not
 * know keep the bridge for good. */
static int delete_our_bridge(const char *bridge)
{
	sv_nl_link br;
	int rc = sv_nl_link_get(bridge, &br);
	if (rc == SV_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (strcmp(br.kind, "bridge") || strcmp(br.alias, SV_NET_BRIDGE_ALIAS))
		return sv_err(
		    SV_EUNSAFE,
		    "bridge %s: not the bridge smartvm created (it carries no \"%s\" alias); left alone",
		    bridge, SV_NET_BRIDGE_ALIAS);
	bool ports = false;
	char tap[16];
	if ((rc = bridge_has_ports(&br, &ports, tap)))
		return rc;
	if (tap[0])
		return sv_err(SV_EBUSY, "bridge %s: kept while smartvm's TAP %s is still attached to it",
			      bridge, tap);
	if (ports) {
		sv_warn("bridge %s: kept because devices smartvm does not know still use it", bridge);
		return 1;
	}
	return sv_nl_link_del_checked(&br);
}

int sv_net_release_unused(sv_lease_db *db, bool table, bool bridge)
{
	if (db->n > 0)
		return 0;
	int rc = 0;
	if (table) {
		char *path = applied_path(db->net_dir, db->bridge);
		if (path)
			unlink(path);
		free(path);
		bool any = true;
		if ((rc = sv_nft_delete(db->bridge, &any)) ||
		    (rc = sv_net_route_localnet_restore(db->net_dir, db->bridge)) ||
		    (!any && (rc = sv_net_forwarding_restore(db->net_dir))))
			return rc;
	}
	if (!bridge)
		return 0;
	if (db->has_state && db->bridge_created && (rc = delete_our_bridge(db->bridge)))
		return rc < 0 ? rc : 0;
	return sv_lease_db_save_state(db, false, false);
}
