/* Lease and bridge-state files under <data_dir>/net.
 *
 * Invariants: every read-modify-write of these files happens while holding an
 * exclusive flock on the net directory itself (not on a lock file, so nothing
 * is left behind once the last lease is gone); files are replaced atomically,
 * so a reader never sees half a file and a crash leaves the old or the new one.
 * The lease file exists only while it holds a lease. This module never touches
 * links or nftables: callers do that while they hold the lock.
 *
 * The directory is checked like every state directory (util/trusted_dir.h)
 * and its files are read and written relative to its fd, never following a
 * link.
 *
 * Lease file format (one lease a line, fields separated by single spaces):
 *   subnet 172.30.0.0/24
 *   lease <ip> <vm_id> <iface_id> <dev> <mac> <owned 0|1> <pid> <start_time> [<vm_dir>]
 * (vm_dir percent-encoded; records written before it existed lack it).
 * State file: "created 0|1".
 * A line that does not parse is skipped and reported (once per load), never
 * fatal: one bad line must not block every VM on the bridge. The next save
 * (a setup, a release, `smartvm net gc`) writes the file without it.
 */
#include "net/net_lease.h"

#include "net/net_addr.h"
#include "util/buf.h"
#include "util/array.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"
#include "util/pct.h"
#include "util/spawn.h"
#include "util/strv.h"
#include "util/trusted_dir.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <smartvm/manager.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_TIMEOUT_MS 30000
#define LOCK_RETRY_MAX_US 5000
#define LEASE_SUFFIX ".leases"
#define STATE_SUFFIX ".bridge"

char *sv_net_dir(const char *data_dir) { return sv_path_join(data_dir, "net"); }

static char *with_suffix(const char *net_dir, const char *bridge, const char *suffix)
{
	char *path = NULL;
	if (asprintf(&path, "%s/%s%s", net_dir, bridge, suffix) < 0)
		return NULL;
	return path;
}

char *sv_lease_path(const char *net_dir, const char *bridge)
{
	return with_suffix(net_dir, bridge, LEASE_SUFFIX);
}

static bool ends_with(const char *s, const char *suffix, size_t *stem_len)
{
	size_t n = strlen(s), m = strlen(suffix);
	if (n <= m || strcmp(s + n - m, suffix))
		return false;
	*stem_len = n - m;
	return true;
}

/* The bridge of a file name "<bridge><suffix>", if it is one. */
static bool bridge_of(const char *file_name, const char *suffix, char bridge[16])
{
	size_t stem;
	const char *why;
	if (!ends_with(file_name, suffix, &stem) || stem > 15)
		return false;
	memcpy(bridge, file_name, stem);
	bridge[stem] = '\0';
	return sv_ifname_valid(bridge, &why);
}

bool sv_lease_path_split(const char *lease_file, char **net_dir, char bridge[16])
{
	const char *slash = strrchr(lease_file, '/');
	if (!slash || slash == lease_file || !bridge_of(slash + 1, LEASE_SUFFIX, bridge))
		return false;
	*net_dir = strndup(lease_file, (size_t)(slash - lease_file));
	return *net_dir != NULL;
}

/* The lock is held for one VM's network setup or teardown (a millisecond or
 * two): threads and processes starting VMs at once meet here, so the retry
 * starts at 0.1 ms and doubles to LOCK_RETRY_MAX_US; a fixed 5 ms sleep
 * left the lock free most of the time a waiter slept. */
static int lock_dir(int fd, const char *dir)
{
	long long deadline = sv_now_ms() + LOCK_TIMEOUT_MS;
	long wait_us = 100;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return sv_err_errno(SV_EIO, errno, "locking %s", dir);
		if (sv_now_ms() >= deadline)
			return sv_err(SV_ETIMEOUT, "locking %s: still held by another process after %d ms",
				      dir, LOCK_TIMEOUT_MS);
		struct timespec ts = {.tv_sec = 0, .tv_nsec = wait_us * 1000};
		nanosleep(&ts, NULL);
		wait_us = wait_us * 2 > LOCK_RETRY_MAX_US ? LOCK_RETRY_MAX_US : wait_us * 2;
	}
	return 0;
}

static int push_lease(sv_lease_db *db, const sv_lease *l)
{
	sv_lease *items = sv_array_grow(db->items, &db->cap, db->n, sizeof(*items), 16);
	if (!items)
		return sv_err(SV_ENOMEM, "out of memory");
	db->items = items;
	db->items[db->n++] = *l;
	return 0;
}

/* VM and interface ids as the VM layer allows them (no space, ',' or '/',
 * which the lease file and the ledger's lease key use as separators). */
static bool id_valid(const char *id)
{
	if (!*id)
		return false;
	for (const char *p = id; *p; p++)
		if (!isgraph((unsigned char)*p) || *p == ',' || *p == '/')
			return false;
	return true;
}

/* The fields of a lease line other than its owner (pid, start time). */
static bool lease_fields_valid(const sv_lease *l, const char *owned)
{
	const char *why;
	return id_valid(l->vm_id) && id_valid(l->iface_id) && sv_ifname_valid(l->dev, &why) &&
	       sv_mac_valid(l->mac, &why) && (!strcmp(owned, "0") || !strcmp(owned, "1"));
}

/* The optional last field: the owning VM's directory (" /path", percent-encoded). */
static bool parse_vm_dir(sv_lease *l, const char *rest)
{
	if (!*rest)
		return true;
	if (*rest != ' ')
		return false; /* a field longer than its conversion left text over */
	rest += strspn(rest, " ");
	char dir[3 * SV_LEASE_VM_DIR_MAX];
	if (rest[0] != '/' || strchr(rest, ' ') || strlen(rest) >= sizeof(dir))
		return false;
	snprintf(dir, sizeof(dir), "%s", rest);
	sv_pct_decode(dir);
	size_t n = strlen(dir);
	if (n >= sizeof(l->vm_dir))
		return false;
	memcpy(l->vm_dir, dir, n + 1);
	return true;
}

/* Parses one line into db: 1, or 0 when it is malformed (db unchanged), or
 * SV_ENOMEM. */
static int parse_line(sv_lease_db *db, const char *line)
{
	char ip[16], owned[2];
	sv_lease l = {0};
	long pid = 0;
	char subnet[SV_IPV4_CIDR_MAX + 1];
	/* %n at the end: a field longer than its conversion leaves text over. */
	int end = 0;
	if (sscanf(line, "subnet %19s%n", subnet, &end) == 1 && !line[end]) {
		uint32_t addr;
		int prefix;
		if (!sv_ipv4_cidr_parse(subnet, &addr, &prefix) || (addr & ~sv_ipv4_mask(prefix)))
			return 0;
		db->has_subnet = true;
		db->subnet = (sv_ipv4_net){.network = addr, .prefix = prefix};
		return 1;
	}
	end = 0;
	if (sscanf(line, "lease %15s %64s %63s %15s %17s %1s %ld %llu%n", ip, l.vm_id, l.iface_id, l.dev,
		   l.mac, owned, &pid, &l.start_time, &end) != 8 ||
	    !parse_vm_dir(&l, line + end) || !sv_ipv4_parse(ip, &l.ip) || !lease_fields_valid(&l, owned))
		return 0;
	l.dev_owned = owned[0] == '1';
	l.pid = (pid_t)pid;
	return push_lease(db, &l) ? SV_ENOMEM : 1;
}

int sv_lease_db_parse(sv_lease_db *db, char *text, int *first_bad)
{
	int lineno = 0;
	*first_bad = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		++lineno;
		int rc = parse_line(db, line);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			db->n_malformed++;
			*first_bad = *first_bad ? *first_bad : lineno;
		}
	}
	return 0;
}

static int load(sv_lease_db *db)
{
	char *text = NULL;
	int rc = sv_read_file_at(db->lock_fd, db->net_dir, db->lease_name, 16 << 20, &text, NULL);
	if (rc == SV_ENOTFOUND) {
		rc = 0;
	} else if (rc == 0) {
		int first_bad = 0;
		rc = sv_lease_db_parse(db, text, &first_bad);
		if (!rc && db->n_malformed)
			sv_warn(
			    "%s: skipped %zu malformed line%s (the first is line %d); the next change of the "
			    "bridge's leases, or `smartvm net gc`, rewrites the file without %s",
			    db->lease_path, db->n_malformed, db->n_malformed == 1 ? "" : "s", first_bad,
			    db->n_malformed == 1 ? "it" : "them");
	}
	free(text);
	if (rc)
		return rc;
	text = NULL;
	rc = sv_read_file_at(db->lock_fd, db->net_dir, db->state_name, 4096, &text, NULL);
	if (rc == SV_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	db->has_state = true;
	db->bridge_created = !strcmp(text, "created 1\n");
	if (!db->bridge_created && strcmp(text, "created 0\n"))
		sv_warn("%s: not \"created 0\" or \"created 1\"; the bridge is taken as not smartvm's",
			db->state_path);
	free(text);
	return 0;
}

static int db_open(sv_lease_db *db, const char *net_dir, const char *bridge, bool create)
{
	memset(db, 0, sizeof(*db));
	db->lock_fd = -1;
	const char *why;
	if (!sv_ifname_valid(bridge, &why))
		return sv_err(SV_EINVAL, "leases of bridge \"%s\": %s", bridge, why);
	snprintf(db->bridge, sizeof(db->bridge), "%s", bridge);
	snprintf(db->lease_name, sizeof(db->lease_name), "%s" LEASE_SUFFIX, bridge);
	snprintf(db->state_name, sizeof(db->state_name), "%s" STATE_SUFFIX, bridge);
	int rc = create ? sv_trusted_dir("lease directory", net_dir, 0755, &db->lock_fd)
			: sv_trusted_dir_existing("lease directory", net_dir, &db->lock_fd);
	if (rc)
		return rc == SV_ENOTFOUND ? rc : sv_err_prefix("leases of bridge %s", bridge);
	db->net_dir = strdup(net_dir);
	db->lease_path = sv_lease_path(net_dir, bridge);
	db->state_path = with_suffix(net_dir, bridge, STATE_SUFFIX);
	if (!db->net_dir || !db->lease_path || !db->state_path) {
		sv_lease_db_close(db);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	if ((rc = lock_dir(db->lock_fd, net_dir)) || (rc = load(db))) {
		sv_lease_db_close(db);
		return sv_err_prefix("leases of bridge %s", bridge);
	}
	/* Every write in the net dir is made under this lock: a temp file
	 * there is a killed writer's. */
	sv_remove_stale_temps_at(db->lock_fd);
	return 0;
}

int sv_lease_db_open(sv_lease_db *db, const char *net_dir, const char *bridge)
{
	return db_open(db, net_dir, bridge, true);
}

int sv_lease_db_open_existing(sv_lease_db *db, const char *net_dir, const char *bridge)
{
	return db_open(db, net_dir, bridge, false);
}

void sv_lease_db_close(sv_lease_db *db)
{
	if (db->lock_fd >= 0)
		close(db->lock_fd);
	free(db->net_dir);
	free(db->lease_path);
	free(db->state_path);
	free(db->items);
	memset(db, 0, sizeof(*db));
	db->lock_fd = -1;
}

static int remove_file(sv_lease_db *db, const char *name)
{
	if (unlinkat(db->lock_fd, name, 0) != 0 && errno != ENOENT)
		return sv_err_errno(SV_EIO, errno, "removing %s/%s", db->net_dir, name);
	return 0;
}

int sv_lease_db_save(sv_lease_db *db)
{
	if (db->n == 0) {
		db->has_subnet = false;
		db->n_malformed = 0;
		return remove_file(db, db->lease_name);
	}
	/* Line by line into a growing buffer: a lease line's length depends on
	 * its ids and numbers (over 200 bytes at the longest). */
	sv_buf buf = {0};
	char line[512 + 3 * SV_LEASE_VM_DIR_MAX], net[16];
	int n = 0, rc = 0;
	sv_ipv4_format(db->subnet.network, net);
	/* A subnet line that was malformed is not made up: check_subnet takes
	 * the next VM's subnet when the leases fit it. */
	if (db->has_subnet)
		n = snprintf(line, sizeof(line), "subnet %s/%d\n", net, db->subnet.prefix);
	rc = sv_buf_append(&buf, line, (size_t)n);
	for (size_t i = 0; i < db->n && !rc; i++) {
		const sv_lease *l = &db->items[i];
		char ip[16];
		sv_ipv4_format(l->ip, ip);
		char *dir = sv_pct_encode(l->vm_dir);
		if (!dir) {
			rc = sv_err(SV_ENOMEM, "out of memory");
			break;
		}
		n = snprintf(line, sizeof(line), "lease %s %s %s %s %s %d %ld %llu%s%s\n", ip, l->vm_id,
			     l->iface_id, l->dev, l->mac, l->dev_owned ? 1 : 0, (long)l->pid, l->start_time,
			     *dir ? " " : "", dir);
		free(dir);
		rc = sv_buf_append(&buf, line, (size_t)n);
	}
	if (!rc)
		rc = sv_write_file_atomic_at(db->lock_fd, db->net_dir, db->lease_name, buf.data, buf.len,
					     0644);
	sv_buf_free(&buf);
	if (!rc)
		db->n_malformed = 0;
	return rc;
}

int sv_lease_db_save_state(sv_lease_db *db, bool exists, bool bridge_created)
{
	int rc;
	if (!exists) {
		rc = remove_file(db, db->state_name);
	} else {
		const char *text = bridge_created ? "created 1\n" : "created 0\n";
		rc = sv_write_file_atomic_at(db->lock_fd, db->net_dir, db->state_name, text, strlen(text),
					     0644);
	}
	if (rc == 0) {
		db->has_state = exists;
		db->bridge_created = exists && bridge_created;
	}
	return rc;
}

int sv_lease_db_check_subnet(sv_lease_db *db, const sv_ipv4_net *subnet, const char *subnet_text)
{
	if (db->n == 0 || !db->has_subnet) {
		/* No subnet line (it was malformed): the leases must fit. */
		for (size_t i = 0; i < db->n; i++) {
			if (!sv_subnet_contains(subnet, db->items[i].ip)) {
				char ip[16];
				sv_ipv4_format(db->items[i].ip, ip);
				return sv_err(SV_EBUSY,
					      "subnet \"%s\": bridge %s has a lease of %s outside it",
					      subnet_text, db->bridge, ip);
			}
		}
		db->has_subnet = true;
		db->subnet = *subnet;
		return 0;
	}
	if (db->subnet.network == subnet->network && db->subnet.prefix == subnet->prefix)
		return 0;
	char net[16];
	sv_ipv4_format(db->subnet.network, net);
	return sv_err(SV_EBUSY, "subnet \"%s\": bridge %s is in use by %zu lease(s) with subnet %s/%d",
		      subnet_text, db->bridge, db->n, net, db->subnet.prefix);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int sv_lease_db_alloc(sv_lease_db *db, const sv_ipv4_net *subnet, const sv_lease *tmpl, uint32_t *ip_out)
{
	/* Derived MACs come from a hash, and given ones from anyone: two equal
	 * MACs on one bridge would take each other's traffic. */
	for (size_t i = 0; i < db->n; i++)
		if (!strcasecmp(db->items[i].mac, tmpl->mac))
			return sv_err(
			    SV_EBUSY,
			    "guest MAC %s of interface %s: already used by VM \"%s\" (%s) on bridge %s",
			    tmpl->mac, tmpl->iface_id, db->items[i].vm_id, db->items[i].iface_id, db->bridge);
	uint32_t *used = malloc((db->n + 1) * sizeof(*used));
	if (!used)
		return sv_err(SV_ENOMEM, "out of memory");
	for (size_t i = 0; i < db->n; i++)
		used[i] = db->items[i].ip;
	qsort(used, db->n, sizeof(*used), cmp_u32);
	/* The lowest free address: walk the sorted used list past every address
	 * that is taken, so the cost is O(n log n) whatever the subnet size. */
	uint32_t candidate = sv_subnet_first_guest(subnet), last = sv_subnet_last_guest(subnet);
	for (size_t i = 0; i < db->n && candidate <= last; i++) {
		if (used[i] == candidate)
			candidate++;
		else if (used[i] > candidate)
			break;
	}
	free(used);
	if (candidate > last || candidate < sv_subnet_first_guest(subnet)) {
		char net[16];
		sv_ipv4_format(subnet->network, net);
		return sv_err(SV_EBUSY, "subnet %s/%d: no free guest address (all %u in use on bridge %s)",
			      net, subnet->prefix, last - sv_subnet_first_guest(subnet) + 1, db->bridge);
	}
	sv_lease l = *tmpl;
	l.ip = candidate;
	int rc = push_lease(db, &l);
	if (rc)
		return rc;
	*ip_out = candidate;
	return 0;
}

bool sv_lease_db_remove(sv_lease_db *db, uint32_t ip, const char *vm_id, const char *iface_id)
{
	for (size_t i = 0; i < db->n; i++) {
		sv_lease *l = &db->items[i];
		if (l->ip == ip && !strcmp(l->vm_id, vm_id) && !strcmp(l->iface_id, iface_id)) {
			memmove(l, l + 1, (db->n - i - 1) * sizeof(*l));
			db->n--;
			return true;
		}
	}
	return false;
}

const sv_lease *sv_lease_db_find_dev(const sv_lease_db *db, const char *dev)
{
	for (size_t i = 0; i < db->n; i++)
		if (!strcmp(db->items[i].dev, dev))
			return &db->items[i];
	return NULL;
}

int sv_lease_list_bridges(const char *net_dir, char ***out)
{
	sv_strv_builder b = {0};
	int fd = -1;
	int rc = sv_trusted_dir_existing("lease directory", net_dir, &fd);
	if (rc && rc != SV_ENOTFOUND)
		return rc;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (fd >= 0 && !d) {
		close(fd);
		return sv_err_errno(SV_EIO, errno, "listing %s", net_dir);
	}
	for (struct dirent *de; d && (de = readdir(d));) {
		char name[16];
		/* Only names a bridge can have: nothing else becomes a path or
		 * an nftables table name. */
		if (!bridge_of(de->d_name, LEASE_SUFFIX, name) && !bridge_of(de->d_name, STATE_SUFFIX, name))
			continue;
		bool dup = false;
		for (size_t i = 0; i < b.len; i++)
			dup = dup || !strcmp(b.items[i], name);
		if (!dup)
			sv_strv_push(&b, name);
	}
	if (d)
		closedir(d);
	return sv_strv_finish(&b, out);
}
