/* Lease and bridge-state files under <data_dir>/net.
 *
 * Invariants: every read-modify-write of these files happens while holding an
 * exclusive flock on the net directory itself (not on a lock file, so nothing
 * is left behind once the last lease is gone); files are replaced atomically,
 * so a reader never sees half a file and a crash leaves the old or the new one.
 * The lease file exists only while it holds a lease. This module never touches
 * links or nftables: callers do that while they hold the lock.
 *
 * Lease file format (one lease a line, fields separated by single spaces):
 *   subnet 172.30.0.0/24
 *   lease <ip> <vm_id> <iface_id> <dev> <mac> <owned 0|1> <pid> <start_time>
 * State file: "created 0|1".
 */
#include "net/net_lease.h"
#include "net/net_lease_parse.h"

#include "util/error.h"
#include "util/file.h"
#include "util/spawn.h"
#include "util/strv.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <smartvm/manager.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_TIMEOUT_MS 30000
#define LEASE_SUFFIX ".leases"
#define STATE_SUFFIX ".bridge"

char *sv_net_dir(const char *data_dir)
{
	return sv_path_join(data_dir, "net");
}

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

static int lock_dir(const char *dir, int *fd_out)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(SV_EIO, errno, "opening %s", dir);
	long long deadline = sv_now_ms() + LOCK_TIMEOUT_MS;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int e = errno;
			close(fd);
			return sv_err_errno(SV_EIO, e, "locking %s", dir);
		}
		if (sv_now_ms() >= deadline) {
			close(fd);
			return sv_err(SV_ETIMEOUT, "locking %s: still held by another process after %d ms", dir,
				      LOCK_TIMEOUT_MS);
		}
		poll(NULL, 0, 5);
	}
	*fd_out = fd;
	return 0;
}

static int push_lease(sv_lease_db *db, const sv_lease *l)
{
	if (db->n == db->cap) {
		size_t cap = db->cap ? db->cap * 2 : 16;
		sv_lease *items = realloc(db->items, cap * sizeof(*items));
		if (!items)
			return sv_err(SV_ENOMEM, "out of memory");
		db->items = items;
		db->cap = cap;
	}
	db->items[db->n++] = *l;
	return 0;
}

static int parse_line(sv_lease_db *db, char *line, int lineno)
{
	char ip[16], owned[2];
	sv_lease l = { 0 };
	long pid = 0;
	char subnet[SV_IPV4_CIDR_MAX + 1];
	if (sscanf(line, "subnet %19s", subnet) == 1) {
		uint32_t addr;
		int prefix;
		if (!sv_ipv4_cidr_parse(subnet, &addr, &prefix))
			goto bad;
		db->has_subnet = true;
		db->subnet = (sv_ipv4_net){ .network = addr, .prefix = prefix };
		return 0;
	}
	if (sscanf(line, "lease %15s %64s %63s %15s %17s %1s %ld %llu", ip, l.vm_id, l.iface_id, l.dev, l.mac, owned,
		   &pid, &l.start_time) != 8 ||
	    !sv_ipv4_parse(ip, &l.ip))
		goto bad;
	l.dev_owned = owned[0] == '1';
	l.pid = (pid_t)pid;
	return push_lease(db, &l);
bad:
	return sv_err(SV_EIO, "%s:%d: malformed line \"%s\"", db->lease_path, lineno, line);
}

int sv_lease_db_parse(sv_lease_db *db, char *text)
{
	int rc = 0, lineno = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && !rc;
	     line = strtok_r(NULL, "\n", &save))
		rc = parse_line(db, line, ++lineno);
	return rc;
}

static int load(sv_lease_db *db)
{
	char *text = NULL;
	int rc = sv_read_file(db->lease_path, 16 << 20, &text, NULL);
	if (rc == SV_ENOTFOUND) {
		rc = 0;
	} else if (rc == 0) {
		rc = sv_lease_db_parse(db, text);
	}
	free(text);
	if (rc)
		return rc;
	text = NULL;
	rc = sv_read_file(db->state_path, 4096, &text, NULL);
	if (rc == SV_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	db->has_state = true;
	db->bridge_created = strstr(text, "created 1") != NULL;
	free(text);
	return 0;
}

int sv_lease_db_open(sv_lease_db *db, const char *net_dir, const char *bridge)
{
	memset(db, 0, sizeof(*db));
	db->lock_fd = -1;
	snprintf(db->bridge, sizeof(db->bridge), "%s", bridge);
	int rc = sv_mkdir_p(net_dir, 0755);
	if (rc)
		return sv_err_prefix("leases of bridge %s", bridge);
	db->net_dir = strdup(net_dir);
	db->lease_path = sv_lease_path(net_dir, bridge);
	db->state_path = with_suffix(net_dir, bridge, STATE_SUFFIX);
	if (!db->net_dir || !db->lease_path || !db->state_path) {
		sv_lease_db_close(db);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	if ((rc = lock_dir(net_dir, &db->lock_fd)) || (rc = load(db))) {
		sv_lease_db_close(db);
		return sv_err_prefix("leases of bridge %s", bridge);
	}
	return 0;
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

static int remove_file(const char *path)
{
	if (unlink(path) != 0 && errno != ENOENT)
		return sv_err_errno(SV_EIO, errno, "removing %s", path);
	return 0;
}

int sv_lease_db_save(sv_lease_db *db)
{
	if (db->n == 0) {
		db->has_subnet = false;
		return remove_file(db->lease_path);
	}
	size_t cap = 64 + db->n * 200, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return sv_err(SV_ENOMEM, "out of memory");
	char net[16];
	sv_ipv4_format(db->subnet.network, net);
	len += (size_t)snprintf(buf + len, cap - len, "subnet %s/%d\n", net, db->subnet.prefix);
	for (size_t i = 0; i < db->n; i++) {
		const sv_lease *l = &db->items[i];
		char ip[16];
		sv_ipv4_format(l->ip, ip);
		len += (size_t)snprintf(buf + len, cap - len, "lease %s %s %s %s %s %d %ld %llu\n", ip, l->vm_id,
					l->iface_id, l->dev, l->mac, l->dev_owned ? 1 : 0, (long)l->pid, l->start_time);
	}
	int rc = sv_write_file_atomic(db->lease_path, buf, len, 0644);
	free(buf);
	return rc;
}

int sv_lease_db_save_state(sv_lease_db *db, bool exists, bool bridge_created)
{
	int rc;
	if (!exists) {
		rc = remove_file(db->state_path);
	} else {
		const char *text = bridge_created ? "created 1\n" : "created 0\n";
		rc = sv_write_file_atomic(db->state_path, text, strlen(text), 0644);
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
		db->has_subnet = true;
		db->subnet = *subnet;
		return 0;
	}
	if (db->subnet.network == subnet->network && db->subnet.prefix == subnet->prefix)
		return 0;
	char net[16];
	sv_ipv4_format(db->subnet.network, net);
	return sv_err(SV_EBUSY, "subnet \"%s\": bridge %s is in use by %zu lease(s) with subnet %s/%d", subnet_text,
		      db->bridge, db->n, net, db->subnet.prefix);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int sv_lease_db_alloc(sv_lease_db *db, const sv_ipv4_net *subnet, const sv_lease *tmpl, uint32_t *ip_out)
{
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
		return sv_err(SV_EBUSY, "subnet %s/%d: no free guest address (all %u in use on bridge %s)", net,
			      subnet->prefix, last - sv_subnet_first_guest(subnet) + 1, db->bridge);
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

static bool ends_with(const char *s, const char *suffix, size_t *stem_len)
{
	size_t n = strlen(s), m = strlen(suffix);
	if (n <= m || strcmp(s + n - m, suffix))
		return false;
	*stem_len = n - m;
	return true;
}

int sv_lease_list_bridges(const char *net_dir, char ***out)
{
	sv_strv_builder b = { 0 };
	DIR *d = opendir(net_dir);
	if (!d && errno != ENOENT)
		return sv_err_errno(SV_EIO, errno, "listing %s", net_dir);
	for (struct dirent *de; d && (de = readdir(d));) {
		size_t stem;
		if (!ends_with(de->d_name, LEASE_SUFFIX, &stem) && !ends_with(de->d_name, STATE_SUFFIX, &stem))
			continue;
		if (stem > 15)
			continue;
		char name[16];
		memcpy(name, de->d_name, stem);
		name[stem] = '\0';
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
