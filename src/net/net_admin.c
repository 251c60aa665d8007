/* `smartvm net ls` and `smartvm net gc`: reading the lease files of every
 * bridge, and removing the networking of VMs that no longer run.
 *
 * Whether a lease's VM still runs is decided from the VM itself: its
 * directory (recorded in the lease) is alive while its lock is held or its
 * ledger names a live VMM (util/vm_alive.h), wherever its runtime dir is; so
 * a gc run with another runtime_dir never takes a running VM's network. The
 * process that set the lease up counts as well while it lives (a VM being
 * started). Leases written before the VM's directory was recorded fall back
 * to <runtime_dir>/<vm_id>. When liveness cannot be told, the VM counts as
 * running: gc destroys only what is certainly dead.
 *
 * gc works from the lease files, not from the ledgers, so it also repairs
 * what a SIGKILLed orchestrator left without a usable VM directory; ledger
 * replays that run later find the resources gone and succeed. Never touches
 * a device it did not create, except detaching an adopted one from the
 * bridge. */
#include "net/net_addr.h"
#include "net/net_bridge.h"
#include "net/net_lease.h"
#include "net/net_link.h"
#include "net/net_undo.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/options_version.h"
#include "util/file.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/trusted_dir.h"
#include "util/vm_alive.h"
#include <smartvm/netadmin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_admin_options(const sv_net_admin_options *opts, const char *what, bool need_runtime_dir)
{
	if (!opts || !opts->data_dir || (need_runtime_dir && !opts->runtime_dir))
		return sv_err(SV_EINVAL, "%s: data_dir%s required", what,
			      need_runtime_dir ? " and runtime_dir are" : " is");
	int rc = SV_CHECK_OPTIONS(opts, sv_net_admin_options, SV_NET_ADMIN_OPTIONS);
	if (rc)
		return rc;
	const char *why;
	if (opts->bridge_name && !sv_ifname_valid(opts->bridge_name, &why))
		return sv_err(SV_EINVAL, "%s: bridge_name \"%s\": %s", what, opts->bridge_name, why);
	return 0;
}

static bool vm_running(const char *runtime_dir, const sv_lease *l)
{
	if (l->pid > 1 && sv_process_alive(l->pid, l->start_time))
		return true;
	char *legacy = l->vm_dir[0] ? NULL : sv_path_join(runtime_dir, l->vm_id);
	const char *vm_dir = l->vm_dir[0] ? l->vm_dir : legacy;
	int alive = vm_dir ? sv_vm_dir_alive(vm_dir) : -1;
	if (alive < 0)
		sv_warn("lease %s of VM \"%s\": %s; counted as running", l->dev, l->vm_id,
			vm_dir ? sv_last_error() : "out of memory");
	free(legacy);
	return alive != 0;
}

/* The lease directory (*net_dir) and the bridges to look at (*bridges:
 * opts->bridge_name, or every bridge with a lease file), both malloc'd and
 * the caller's to free, also on error. *bridges stays NULL when the lease
 * directory does not exist (nothing was ever leased). */
static int lease_bridges(const sv_net_admin_options *opts, char **net_dir, char ***bridges)
{
	*bridges = NULL;
	if (!(*net_dir = sv_net_dir(opts->data_dir)))
		return sv_err(SV_ENOMEM, "out of memory");
	/* Read only from a directory that is ours; never created here. */
	int rc = sv_trusted_dir_existing("data_dir", *net_dir, NULL);
	if (rc == SV_ENOTFOUND) {
		sv_err_clear();
		return 0; /* nothing was ever leased */
	}
	if (rc)
		return rc;
	if (!opts->bridge_name)
		return sv_lease_list_bridges(*net_dir, bridges);
	*bridges = calloc(2, sizeof(char *));
	if (!*bridges || !((*bridges)[0] = strdup(opts->bridge_name))) {
		free(*bridges);
		*bridges = NULL;
		return sv_err(SV_ENOMEM, "out of memory");
	}
	return 0;
}

/* One bridge's work for each_bridge; *count is what it counts. */
typedef int bridge_fn(const sv_net_admin_options *opts, const char *net_dir, const char *bridge,
		      size_t *count);

/* Runs fn on every bridge lease_bridges selects, each even after another
 * failed (one bridge's trouble must not keep the others as they are); the
 * first failure is the error. */
static int each_bridge(const sv_net_admin_options *opts, bridge_fn *fn, size_t *count)
{
	char *net_dir = NULL;
	char **bridges = NULL;
	int rc = lease_bridges(opts, &net_dir, &bridges);
	int first = 0;
	sv_err_saved saved = {0};
	for (char **b = bridges; !rc && b && *b; b++) {
		int r = fn(opts, net_dir, *b, count);
		if (r && !first) {
			first = r;
			sv_err_save(&saved);
		}
	}
	if (first)
		rc = sv_err_restore(&saved);
	free(net_dir);
	sv_strv_free(bridges);
	return rc;
}

static void fill_info(sv_net_lease_info *info, const sv_lease_db *db, const sv_lease *l,
		      const char *runtime_dir)
{
	memset(info, 0, sizeof(*info));
	char net[16];
	sv_ipv4_format(db->subnet.network, net);
	snprintf(info->bridge, sizeof(info->bridge), "%s", db->bridge);
	if (db->has_subnet)
		snprintf(info->subnet, sizeof(info->subnet), "%s/%d", net, db->subnet.prefix);
	sv_ipv4_format(l->ip, info->guest_ip);
	snprintf(info->vm_id, sizeof(info->vm_id), "%s", l->vm_id);
	snprintf(info->iface_id, sizeof(info->iface_id), "%s", l->iface_id);
	snprintf(info->dev, sizeof(info->dev), "%s", l->dev);
	snprintf(info->mac, sizeof(info->mac), "%s", l->mac);
	info->dev_owned = l->dev_owned;
	sv_nl_link link;
	info->dev_present = sv_nl_link_get(l->dev, &link) == 0;
	info->vm_running = vm_running(runtime_dir, l);
	info->pid = l->pid;
}

SV_DEFINE_OPTIONS_INIT(sv_net_admin_options, SV_NET_ADMIN_OPTIONS)

void sv_net_lease_infos_free(sv_net_lease_info **leases, size_t n)
{
	for (size_t i = 0; leases && i < n; i++)
		free(leases[i]);
	free(leases);
}

int sv_net_list(const sv_net_admin_options *opts, sv_net_lease_info ***out, size_t *n_out)
{
	sv_err_clear();
	int rc = check_admin_options(opts, "listing leases", true);
	if (rc)
		return rc;
	char *net_dir = NULL;
	char **bridges = NULL;
	sv_net_lease_info **items = NULL;
	size_t n = 0;
	*out = NULL;
	*n_out = 0;
	if ((rc = lease_bridges(opts, &net_dir, &bridges)) || !bridges)
		goto out;
	for (char **b = bridges; *b && !rc; b++) {
		sv_lease_db db;
		if ((rc = sv_lease_db_open(&db, net_dir, *b)))
			break;
		sv_net_lease_info **grown = db.n ? realloc(items, (n + db.n) * sizeof(*items)) : items;
		if (!grown)
			rc = sv_err(SV_ENOMEM, "out of memory");
		else
			items = grown;
		for (size_t i = 0; grown && !rc && i < db.n; i++) {
			if (!(items[n] = calloc(1, sizeof(**items))))
				rc = sv_err(SV_ENOMEM, "out of memory");
			else
				fill_info(items[n++], &db, &db.items[i], opts->runtime_dir);
		}
		sv_lease_db_close(&db);
	}
out:
	free(net_dir);
	sv_strv_free(bridges);
	if (rc) {
		sv_net_lease_infos_free(items, n);
		return sv_err_prefix("listing leases");
	}
	*out = items;
	*n_out = n;
	return 0;
}

static int gc_bridge(const sv_net_admin_options *opts, const char *net_dir, const char *bridge,
		     size_t *removed)
{
	sv_lease_db db;
	int rc = sv_lease_db_open(&db, net_dir, bridge);
	if (rc)
		return rc;
	int first = 0;
	sv_err_saved saved = {0};
	size_t before = db.n;
	for (size_t i = 0; i < db.n;) {
		sv_lease *l = &db.items[i];
		if (vm_running(opts->runtime_dir, l)) {
			i++;
			continue;
		}
		if ((rc = sv_net_drop_device(l, bridge)) != 0) {
			/* Keep the lease so that a later gc retries the device. */
			if (!first) {
				first = sv_err_prefix("lease %s of VM \"%s\"", l->dev, l->vm_id);
				sv_err_save(&saved);
			}
			i++;
			continue;
		}
		sv_info("net gc: removed %s (VM \"%s\", interface %s)", l->dev, l->vm_id, l->iface_id);
		/* A copy: removing moves the array l points into. */
		sv_lease gone = *l;
		sv_lease_db_remove(&db, gone.ip, gone.vm_id, gone.iface_id);
	}
	/* Also rewrites a file that had malformed lines, without them. */
	if ((db.n != before || db.n_malformed) && (rc = sv_lease_db_save(&db)) && !first) {
		first = rc;
		sv_err_save(&saved);
	}
	*removed += before - db.n;
	if ((rc = sv_net_release_unused(&db, true, true)) && !first) {
		first = rc;
		sv_err_save(&saved);
	}
	sv_lease_db_close(&db);
	return first ? sv_err_restore(&saved) : 0;
}

/* gc_bridge with the bridge's name in its error. */
static int gc_named_bridge(const sv_net_admin_options *opts, const char *net_dir, const char *bridge,
			   size_t *removed)
{
	return gc_bridge(opts, net_dir, bridge, removed) ? sv_err_prefix("bridge %s", bridge) : 0;
}

int sv_net_gc(const sv_net_admin_options *opts, size_t *n_removed)
{
	sv_err_clear();
	int rc = check_admin_options(opts, "collecting network leftovers", true);
	if (rc)
		return rc;
	size_t removed = 0;
	rc = each_bridge(opts, gc_named_bridge, &removed);
	if (n_removed)
		*n_removed = removed;
	return rc ? sv_err_prefix("collecting network leftovers") : 0;
}

/* "VM "a" (eth0), VM "b" (eth0)": who holds db's leases, for the refusal. */
static char *lease_holders(const sv_lease_db *db)
{
	sv_buf buf = {0};
	int rc = 0;
	for (size_t i = 0; i < db->n && !rc; i++) {
		char item[160];
		int n = snprintf(item, sizeof(item), "%sVM \"%s\" (%s)", i ? ", " : "", db->items[i].vm_id,
				 db->items[i].iface_id);
		rc = sv_buf_append(&buf, item, (size_t)n);
	}
	if (!rc)
		rc = sv_buf_append(&buf, "", 1);
	if (rc) {
		sv_buf_free(&buf);
		return NULL;
	}
	return buf.data;
}

static int down_bridge(const sv_net_admin_options *opts, const char *net_dir, const char *bridge,
		       size_t *n_down)
{
	(void)opts;
	sv_lease_db db;
	int rc = sv_lease_db_open_existing(&db, net_dir, bridge);
	if (rc == SV_ENOTFOUND) {
		sv_err_clear();
		return 0; /* no net directory: nothing of smartvm's on any bridge */
	}
	if (rc)
		return rc;
	if (db.n > 0) {
		char *who = lease_holders(&db);
		rc = sv_err(SV_EBUSY,
			    "bridge %s: still in use by %s; stop %s first (`smartvm net gc` removes the "
			    "leases of VMs that no longer run)",
			    bridge, who ? who : "VMs", db.n == 1 ? "it" : "them");
		free(who);
	} else if (db.has_state) {
		/* A bridge other devices still use is kept, with its state
		 * (warned about): not counted as taken down. */
		if (!(rc = sv_net_release_unused(&db, true, true)) && !db.has_state)
			++*n_down;
	}
	sv_lease_db_close(&db);
	return rc;
}

int sv_net_down(const sv_net_admin_options *opts, size_t *n_down)
{
	sv_err_clear();
	size_t down = 0;
	int rc = check_admin_options(opts, "taking down bridges", false);
	if (!rc)
		rc = each_bridge(opts, down_bridge, &down);
	if (n_down)
		*n_down = down;
	return rc ? sv_err_prefix("taking down bridges") : 0;
}
