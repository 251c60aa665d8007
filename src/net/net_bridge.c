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
#include "util/buf.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* What the table document is made of (the plan, its egress rules, the
 * resolved outbound interface, where it is recorded), as text: equal keys
 * build equal documents. malloc'd; NULL when out of memory. */
static char *table_key(const sv_net_plan *plan, const char *outbound, const char *path)
{
	sv_buf b = {0};
	char item[160];
	int n = snprintf(item, sizeof(item), "%s|%s|%u/%d|%d|%s|%zu|", plan->bridge, plan->subnet_text,
			 (unsigned)plan->subnet.network, plan->subnet.prefix, (int)plan->default_action,
			 outbound, plan->n_rules);
	int rc = sv_buf_append(&b, item, (size_t)n);
	for (size_t i = 0; i < plan->n_rules && !rc; i++) {
		const sv_egress_rule *r = &plan->rules[i];
		n = snprintf(item, sizeof(item), "%d,%d,%u,%u,", (int)r->action, (int)r->protocol,
			     (unsigned)r->port_from, (unsigned)r->port_to);
		const char *dest = r->destination ? r->destination : "";
		if (!(rc = sv_buf_append(&b, item, (size_t)n)) &&
		    !(rc = sv_buf_append(&b, dest, strlen(dest))))
			rc = sv_buf_append(&b, ";", 1);
	}
	if (!rc)
		rc = sv_buf_append(&b, path, strlen(path) + 1);
	if (rc) {
		sv_buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* The last document this process found recorded as applied: its key and
 * the record file as it was then. Building the document (hundreds of JSON
 * nodes) and reading the record back was a third of a networked start's
 * network CPU; a start whose key and record file are unchanged (same inode,
 * size, change time: the record is only ever replaced by a rename) skips
 * both. Another process's apply or `net down` replaces or removes the file,
 * which makes the next start here check again. Shared by the threads of
 * the process (one manager each), hence the lock. */
static struct {
	pthread_mutex_t lock;
	char *key;
	struct stat record;
} seen = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static bool seen_before(const char *key, const char *path)
{
	struct stat st;
	if (!key || fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
		return false;
	pthread_mutex_lock(&seen.lock);
	bool yes = seen.key && !strcmp(seen.key, key) && same_file(&seen.record, &st);
	pthread_mutex_unlock(&seen.lock);
	return yes;
}

/* Called with the record file just written or found equal. key is stolen. */
static void remember(char *key, const char *path)
{
	struct stat st;
	bool ok = key && fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
	pthread_mutex_lock(&seen.lock);
	free(seen.key);
	seen.key = ok ? key : NULL;
	if (ok)
		seen.record = st;
	pthread_mutex_unlock(&seen.lock);
	if (!ok)
		free(key);
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
	char *key = path ? table_key(plan, outbound, path) : NULL;
	if (!force && path && seen_before(key, path)) {
		free(key);
		free(path);
		return 0;
	}
	int rc = path ? sv_nft_build_table(&doc, plan, outbound) : sv_err(SV_ENOMEM, "out of memory");
	/* An earlier VM on this bridge already applied this very table: each
	 * table apply costs milliseconds under the lock every VM start takes. */
	if (!rc && !force && sv_read_file(path, 1 << 20, &applied, NULL) == 0 && !strcmp(applied, doc))
		goto out;
	sv_err_clear();
	if (!rc && !(rc = sv_net_forwarding_on(net_dir)) && !(rc = sv_nft_apply(plan->bridge, doc)))
		rc = sv_write_file_atomic(path, doc, strlen(doc), 0644);
out:
	if (!rc)
		remember(key, path);
	else
		free(key);
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
