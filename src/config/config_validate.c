/* sv_vm_config_validate: every rule a VM config must satisfy before anything
 * is created for it.
 *
 * Checks run in field order and stop at the first broken rule, whose message
 * is "<field path>: <rule>" with the C (= Firecracker) snake_case path, e.g.
 * "drives[1].rate_limiter.bandwidth.size: must be greater than 0". The only
 * contact with the host is stat() on the files the config names (kernel,
 * initrd, drive backing files, the vsock socket's directory); validation never
 * creates, opens or changes anything.
 */
#include "net/net_options.h"
#include <smartvm/config.h>

#include "util/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ID_MAX 64
#define IFNAME_MAX 15 /* IFNAMSIZ - 1 */
#define VCPU_MAX 32
#define VSOCK_CID_MIN 3

/* Field paths are short; this bounds the longest, e.g.
 * "network_interfaces[18446744073709551615].rx_rate_limiter.bandwidth". */
#define PATH_MAX_LEN 128

static bool is_id_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '-';
}

static bool is_ifname_char(char c) { return is_id_char(c) || c == '.'; }

/* How an offending character is shown: itself if printable, else its byte. */
static const char *describe_char(char c, char buf[8])
{
	if (c > ' ' && c < 0x7f && c != '\'')
		snprintf(buf, 8, "'%c'", c);
	else if (c == ' ')
		snprintf(buf, 8, "' '");
	else
		snprintf(buf, 8, "0x%02x", (unsigned char)c);
	return buf;
}

/* Ids of drives, interfaces and the VM itself: non-empty [A-Za-z0-9_-]. */
static int check_id(const char *path, const char *id, bool required)
{
	if (!id)
		return required ? sv_err(SV_EINVAL, "%s: is required", path) : 0;
	if (!*id)
		return sv_err(SV_EINVAL, "%s: must not be empty", path);
	char shown[8];
	for (const char *c = id; *c; c++)
		if (!is_id_char(*c))
			return sv_err(SV_EINVAL, "%s: must contain only A-Z a-z 0-9 _ - (found %s)", path,
				      describe_char(*c, shown));
	return 0;
}

static int check_vm_id(const char *id)
{
	int rc = check_id("id", id, false);
	if (rc)
		return rc;
	if (id && strlen(id) > ID_MAX)
		return sv_err(SV_EINVAL, "id: must be at most %d characters", ID_MAX);
	/* The id goes onto command lines (the VMM's --id, smartvm's own): one
	 * that starts with '-' would be taken for an option there. */
	if (id && id[0] == '-')
		return sv_err(SV_EINVAL, "id: must not start with '-' (\"%s\" would read as an option)", id);
	return 0;
}

/* A file the VMM will open: it must exist and be a regular file (or, for
 * drives, a block device). */
static int check_file(const char *path, const char *file, bool required, bool allow_blockdev)
{
	if (!file)
		return required ? sv_err(SV_EINVAL, "%s: is required", path) : 0;
	if (!*file)
		return sv_err(SV_EINVAL, "%s: must not be empty", path);
	struct stat st;
	if (stat(file, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return sv_err(SV_EINVAL, "%s: %s: no such file", path, file);
		return sv_err_errno(SV_EINVAL, errno, "%s: %s", path, file);
	}
	if (S_ISREG(st.st_mode) || (allow_blockdev && S_ISBLK(st.st_mode)))
		return 0;
	return sv_err(SV_EINVAL, "%s: %s: not a regular file%s", path, file,
		      allow_blockdev ? " or block device" : "");
}

static int check_boot_source(const sv_boot_source *bs)
{
	int rc = check_file("boot_source.kernel_image_path", bs->kernel_image_path, true, false);
	if (rc)
		return rc;
	return check_file("boot_source.initrd_path", bs->initrd_path, false, false);
}

static const char *const cpu_templates[] = {"C3", "T2", "T2S", "T2CL", "T2A", "V1N1", "None"};

static int check_machine_config(const sv_machine_config *mc)
{
	if (mc->vcpu_count < 1 || mc->vcpu_count > VCPU_MAX)
		return sv_err(SV_EINVAL, "machine_config.vcpu_count: must be between 1 and %d (got %u)",
			      VCPU_MAX, mc->vcpu_count);
	if (mc->smt && mc->vcpu_count != 1 && mc->vcpu_count % 2 != 0)
		return sv_err(SV_EINVAL,
			      "machine_config.vcpu_count: must be 1 or even when smt is enabled (got %u)",
			      mc->vcpu_count);
	if (mc->mem_size_mib == 0)
		return sv_err(SV_EINVAL, "machine_config.mem_size_mib: must be greater than 0");
	if (!mc->cpu_template)
		return 0;
	for (size_t i = 0; i < sizeof(cpu_templates) / sizeof(cpu_templates[0]); i++)
		if (strcmp(mc->cpu_template, cpu_templates[i]) == 0)
			return 0;
	return sv_err(SV_EINVAL,
		      "machine_config.cpu_template: must be one of C3, T2, T2S, T2CL, T2A, V1N1, None");
}

/* Firecracker's token buckets are int64 and refill_time = 0 would divide by
 * zero in its refill-rate arithmetic. */
static int check_token_bucket(const char *path, const sv_token_bucket *tb)
{
	if (tb->size == 0)
		return sv_err(SV_EINVAL, "%s.size: must be greater than 0", path);
	if (tb->size > INT64_MAX)
		return sv_err(SV_EINVAL, "%s.size: must be at most %" PRId64, path, INT64_MAX);
	if (tb->one_time_burst > INT64_MAX)
		return sv_err(SV_EINVAL, "%s.one_time_burst: must be at most %" PRId64, path, INT64_MAX);
	if (tb->refill_time == 0)
		return sv_err(SV_EINVAL, "%s.refill_time: must be greater than 0", path);
	if (tb->refill_time > INT64_MAX)
		return sv_err(SV_EINVAL, "%s.refill_time: must be at most %" PRId64, path, INT64_MAX);
	return 0;
}

static int check_rate_limiter(const char *path, const sv_rate_limiter *rl)
{
	if (!rl)
		return 0;
	char sub[PATH_MAX_LEN + 16];
	int rc = 0;
	if (rl->has_bandwidth) {
		snprintf(sub, sizeof(sub), "%s.bandwidth", path);
		rc = check_token_bucket(sub, &rl->bandwidth);
	}
	if (!rc && rl->has_ops) {
		snprintf(sub, sizeof(sub), "%s.ops", path);
		rc = check_token_bucket(sub, &rl->ops);
	}
	return rc;
}

static int check_drive(size_t i, const sv_drive_config *d)
{
	char path[PATH_MAX_LEN];
	int rc;
	snprintf(path, sizeof(path), "drives[%zu].drive_id", i);
	if ((rc = check_id(path, d->drive_id, true)))
		return rc;
	snprintf(path, sizeof(path), "drives[%zu].path_on_host", i);
	if ((rc = check_file(path, d->path_on_host, true, true)))
		return rc;
	if (d->partuuid && !d->is_root_device)
		return sv_err(SV_EINVAL, "drives[%zu].partuuid: only allowed on the root device", i);
	if (d->cache_type != SV_CACHE_UNSAFE && d->cache_type != SV_CACHE_WRITEBACK)
		return sv_err(SV_EINVAL, "drives[%zu].cache_type: must be one of Unsafe, Writeback", i);
	if (d->io_engine != SV_IO_ENGINE_SYNC && d->io_engine != SV_IO_ENGINE_ASYNC)
		return sv_err(SV_EINVAL, "drives[%zu].io_engine: must be one of Sync, Async", i);
	if (d->ephemeral != SV_UNSET && d->ephemeral != SV_YES && d->ephemeral != SV_NO)
		return sv_err(SV_EINVAL, "drives[%zu].ephemeral: must be SV_UNSET, SV_YES or SV_NO", i);
	snprintf(path, sizeof(path), "drives[%zu].rate_limiter", i);
	return check_rate_limiter(path, d->rate_limiter);
}

static int check_drives(const sv_vm_config *cfg)
{
	if (cfg->n_drives && !cfg->drives)
		return sv_err(SV_EINVAL, "drives: NULL array with n_drives = %zu", cfg->n_drives);
	const size_t none = SIZE_MAX;
	size_t root = none;
	for (size_t i = 0; i < cfg->n_drives; i++) {
		const sv_drive_config *d = &cfg->drives[i];
		int rc = check_drive(i, d);
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->drives[j].drive_id, d->drive_id) == 0)
				return sv_err(SV_EINVAL, "drives[%zu].drive_id: duplicate of drives[%zu]", i,
					      j);
		if (d->is_root_device && root != none)
			return sv_err(SV_EINVAL,
				      "drives[%zu].is_root_device: only one root device allowed (drives[%zu] "
				      "is already root)",
				      i, root);
		if (d->is_root_device)
			root = i;
	}
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly xx:xx:xx:xx:xx:xx; returns the first octet or -1 on bad syntax. */
static int parse_mac_first_octet(const char *mac)
{
	if (strlen(mac) != 17)
		return -1;
	for (int k = 0; k < 17; k++) {
		bool colon = k % 3 == 2;
		if (colon ? mac[k] != ':' : hex_value(mac[k]) < 0)
			return -1;
	}
	return hex_value(mac[0]) * 16 + hex_value(mac[1]);
}

static int check_host_dev_name(size_t i, const char *name)
{
	if (!name)
		return 0;
	if (!*name)
		return sv_err(SV_EINVAL, "network_interfaces[%zu].host_dev_name: must not be empty", i);
	if (strlen(name) > IFNAME_MAX)
		return sv_err(SV_EINVAL, "network_interfaces[%zu].host_dev_name: must be at most %d bytes", i,
			      IFNAME_MAX);
	char shown[8];
	for (const char *c = name; *c; c++)
		if (!is_ifname_char(*c))
			return sv_err(SV_EINVAL,
				      "network_interfaces[%zu].host_dev_name: must contain only A-Z a-z 0-9 "
				      "_ . - (found %s)",
				      i, describe_char(*c, shown));
	return 0;
}

static int check_net_iface(size_t i, const sv_net_iface_config *n)
{
	char path[PATH_MAX_LEN];
	int rc;
	snprintf(path, sizeof(path), "network_interfaces[%zu].iface_id", i);
	if ((rc = check_id(path, n->iface_id, true)))
		return rc;
	if ((rc = check_host_dev_name(i, n->host_dev_name)))
		return rc;
	if (n->guest_mac) {
		int first = parse_mac_first_octet(n->guest_mac);
		if (first < 0)
			return sv_err(SV_EINVAL,
				      "network_interfaces[%zu].guest_mac: must be six hex octets like "
				      "06:00:ac:10:00:02 (got \"%s\")",
				      i, n->guest_mac);
		if (first & 1)
			return sv_err(SV_EINVAL,
				      "network_interfaces[%zu].guest_mac: must be a unicast address (low bit "
				      "of the first octet clear)",
				      i);
	}
	snprintf(path, sizeof(path), "network_interfaces[%zu].rx_rate_limiter", i);
	if ((rc = check_rate_limiter(path, n->rx_rate_limiter)))
		return rc;
	snprintf(path, sizeof(path), "network_interfaces[%zu].tx_rate_limiter", i);
	return check_rate_limiter(path, n->tx_rate_limiter);
}

static int check_net_ifaces(const sv_vm_config *cfg)
{
	if (cfg->n_network_interfaces && !cfg->network_interfaces)
		return sv_err(SV_EINVAL, "network_interfaces: NULL array with n_network_interfaces = %zu",
			      cfg->n_network_interfaces);
	for (size_t i = 0; i < cfg->n_network_interfaces; i++) {
		const sv_net_iface_config *n = &cfg->network_interfaces[i];
		int rc = check_net_iface(i, n);
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++) {
			const sv_net_iface_config *o = &cfg->network_interfaces[j];
			if (strcmp(o->iface_id, n->iface_id) == 0)
				return sv_err(
				    SV_EINVAL,
				    "network_interfaces[%zu].iface_id: duplicate of network_interfaces[%zu]",
				    i, j);
			if (n->host_dev_name && o->host_dev_name &&
			    strcmp(o->host_dev_name, n->host_dev_name) == 0)
				return sv_err(SV_EINVAL,
					      "network_interfaces[%zu].host_dev_name: duplicate of "
					      "network_interfaces[%zu]",
					      i, j);
		}
	}
	return 0;
}

/* The socket itself is created by the VMM; only its directory must exist. */
static int check_vsock(const sv_vsock_config *v)
{
	if (!v)
		return 0;
	if (v->guest_cid < VSOCK_CID_MIN)
		return sv_err(SV_EINVAL, "vsock.guest_cid: must be at least %d (got %u)", VSOCK_CID_MIN,
			      v->guest_cid);
	if (!v->uds_path)
		return sv_err(SV_EINVAL, "vsock.uds_path: is required");
	if (!*v->uds_path)
		return sv_err(SV_EINVAL, "vsock.uds_path: must not be empty");
	const char *slash = strrchr(v->uds_path, '/');
	if (!slash)
		return 0; /* a bare name: in the current directory, where the VM's creation puts it */
	size_t dir_len = slash == v->uds_path ? 1 : (size_t)(slash - v->uds_path);
	char *dir = strndup(v->uds_path, dir_len);
	if (!dir)
		return sv_err(SV_ENOMEM, "vsock.uds_path: out of memory");
	struct stat st;
	int rc = 0;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		rc = sv_err(SV_EINVAL, "vsock.uds_path: %s: directory %s does not exist", v->uds_path, dir);
	free(dir);
	return rc;
}

static int check_balloon(const sv_vm_config *cfg)
{
	const sv_balloon_config *b = cfg->balloon;
	if (b && b->amount_mib > cfg->machine_config.mem_size_mib)
		return sv_err(SV_EINVAL,
			      "balloon.amount_mib: must not exceed machine_config.mem_size_mib (%u)",
			      cfg->machine_config.mem_size_mib);
	return 0;
}

/* One decimal octet without leading zeros, as Firecracker's pattern wants. */
static const char *parse_octet(const char *s, int *value)
{
	if (s[0] < '0' || s[0] > '9')
		return NULL;
	if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
		return NULL;
	int v = 0, digits = 0;
	while (*s >= '0' && *s <= '9' && digits < 4) {
		v = v * 10 + (*s++ - '0');
		digits++;
	}
	if (digits > 3 || v > 255)
		return NULL;
	*value = v;
	return s;
}

/* Firecracker's format: 169.254.(1-254).(0-255). */
static bool is_mmds_address(const char *addr)
{
	int o[4];
	const char *s = addr;
	for (int k = 0; k < 4; k++) {
		if (!(s = parse_octet(s, &o[k])))
			return false;
		if (k < 3 && *s++ != '.')
			return false;
	}
	return *s == '\0' && o[0] == 169 && o[1] == 254 && o[2] >= 1 && o[2] <= 254;
}

static bool has_iface(const sv_vm_config *cfg, const char *iface_id)
{
	for (size_t i = 0; i < cfg->n_network_interfaces; i++)
		if (strcmp(cfg->network_interfaces[i].iface_id, iface_id) == 0)
			return true;
	return false;
}

static int check_mmds(const sv_vm_config *cfg)
{
	const sv_mmds_config *m = cfg->mmds;
	if (!m)
		return 0;
	if (m->version != SV_MMDS_V1 && m->version != SV_MMDS_V2)
		return sv_err(SV_EINVAL, "mmds.version: must be one of V1, V2");
	if (m->n_network_interfaces == 0)
		return sv_err(SV_EINVAL, "mmds.network_interfaces: must name at least one interface");
	if (!m->network_interfaces)
		return sv_err(SV_EINVAL,
			      "mmds.network_interfaces: NULL array with n_network_interfaces = %zu",
			      m->n_network_interfaces);
	for (size_t i = 0; i < m->n_network_interfaces; i++) {
		const char *name = m->network_interfaces[i];
		if (!name)
			return sv_err(SV_EINVAL, "mmds.network_interfaces[%zu]: is required", i);
		if (!has_iface(cfg, name))
			return sv_err(
			    SV_EINVAL,
			    "mmds.network_interfaces[%zu]: no network interface with iface_id \"%s\"", i,
			    name);
	}
	if (m->ipv4_address && !is_mmds_address(m->ipv4_address))
		return sv_err(SV_EINVAL,
			      "mmds.ipv4_address: must be an IPv4 link-local address in "
			      "169.254.1.0-169.254.254.255 (got \"%s\")",
			      m->ipv4_address);
	return 0;
}

static int check_required_path(const char *path, const char *value)
{
	if (!value)
		return sv_err(SV_EINVAL, "%s: is required", path);
	if (!*value)
		return sv_err(SV_EINVAL, "%s: must not be empty", path);
	return 0;
}

static int check_logger(const sv_logger_config *l)
{
	if (!l)
		return 0;
	int rc = check_required_path("logger.log_path", l->log_path);
	if (rc)
		return rc;
	if (l->level < SV_LOG_LEVEL_UNSET || l->level > SV_LOG_LEVEL_OFF)
		return sv_err(SV_EINVAL,
			      "logger.level: must be one of Error, Warning, Info, Debug, Trace, Off");
	return 0;
}

int sv_vm_config_validate(const sv_vm_config *cfg)
{
	sv_err_clear();
	if (!cfg)
		return sv_err(SV_EINVAL, "config: NULL");
	int rc;
	if ((rc = check_vm_id(cfg->id)) || (rc = check_boot_source(&cfg->boot_source)) ||
	    (rc = check_machine_config(&cfg->machine_config)) || (rc = check_drives(cfg)) ||
	    (rc = check_net_ifaces(cfg)) || (rc = check_vsock(cfg->vsock)) || (rc = check_balloon(cfg)) ||
	    (rc = check_mmds(cfg)) || (rc = check_logger(cfg->logger)) || (rc = sv_net_check_vm_options(cfg)))
		return rc;
	if (cfg->metrics && (rc = check_required_path("metrics.metrics_path", cfg->metrics->metrics_path)))
		return rc;
	if (cfg->entropy)
		return check_rate_limiter("entropy.rate_limiter", cfg->entropy->rate_limiter);
	return 0;
}
