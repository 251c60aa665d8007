/* The validation rules of config_rules.h: what a VM config must satisfy
 * beyond required fields, bounds and enum spellings, which the generic walker
 * (config_validate.c) checks from the section tables.
 *
 * The only contact with the host is stat() on the files the config names;
 * nothing is created, opened or changed.
 */
#include "config/config_rules.h"

#include "util/error.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ID_MAX 64
#define IFNAME_MAX 15 /* IFNAMSIZ - 1 */

static const char *str(const void *value) { return *(const char *const *)value; }

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

static int check_chars(const char *path, const char *s, bool (*ok)(char), const char *allowed)
{
	char shown[8];
	for (const char *c = s; c && *c; c++)
		if (!ok(*c))
			return sv_err(SV_EINVAL, "%s: must contain only %s (found %s)", path, allowed,
				      describe_char(*c, shown));
	return 0;
}

/* Ids of drives, interfaces and the VM itself: [A-Za-z0-9_-]. */
int sv_rule_id_chars(const char *path, const void *value, const sv_check_ctx *ctx)
{
	(void)ctx;
	return check_chars(path, str(value), is_id_char, "A-Z a-z 0-9 _ -");
}

int sv_rule_vm_id(const char *path, const void *value, const sv_check_ctx *ctx)
{
	const char *id = str(value);
	if (!id)
		return 0;
	if (!*id)
		return sv_err(SV_EINVAL, "%s: must not be empty", path);
	int rc = sv_rule_id_chars(path, value, ctx);
	if (rc)
		return rc;
	if (strlen(id) > ID_MAX)
		return sv_err(SV_EINVAL, "%s: must be at most %d characters", path, ID_MAX);
	/* The id goes onto command lines (the VMM's --id, smartvm's own): one
	 * that starts with '-' would be taken for an option there. */
	if (id[0] == '-')
		return sv_err(SV_EINVAL, "%s: must not start with '-' (\"%s\" would read as an option)", path,
			      id);
	return 0;
}

/* A file the VMM will open: it must exist and be a regular file (or, for
 * drives, a block device). */
static int check_file(const char *path, const char *file, bool allow_blockdev)
{
	struct stat st;
	if (!file)
		return 0;
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

int sv_rule_regular_file(const char *path, const void *value, const sv_check_ctx *ctx)
{
	(void)ctx;
	return check_file(path, str(value), false);
}

int sv_rule_file_or_blockdev(const char *path, const void *value, const sv_check_ctx *ctx)
{
	(void)ctx;
	return check_file(path, str(value), true);
}

int sv_rule_ifname(const char *path, const void *value, const sv_check_ctx *ctx)
{
	(void)ctx;
	const char *name = str(value);
	if (name && strlen(name) > IFNAME_MAX)
		return sv_err(SV_EINVAL, "%s: must be at most %d bytes", path, IFNAME_MAX);
	return check_chars(path, name, is_ifname_char, "A-Z a-z 0-9 _ . -");
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

int sv_rule_unicast_mac(const char *path, const void *value, const sv_check_ctx *ctx)
{
	(void)ctx;
	const char *mac = str(value);
	if (!mac)
		return 0;
	int first = parse_mac_first_octet(mac);
	if (first < 0)
		return sv_err(SV_EINVAL, "%s: must be six hex octets like 06:00:ac:10:00:02 (got \"%s\")",
			      path, mac);
	if (first & 1)
		return sv_err(SV_EINVAL, "%s: must be a unicast address (low bit of the first octet clear)",
			      path);
	return 0;
}

/* The socket itself is created by the VMM; only its directory must exist. */
int sv_rule_socket_dir(const char *path, const void *value, const sv_check_ctx *ctx)
{
	(void)ctx;
	const char *uds = str(value);
	const char *slash = uds ? strrchr(uds, '/') : NULL;
	if (!slash)
		return 0; /* a bare name: in the current directory, where the VM's creation puts it */
	char *dir = strndup(uds, slash == uds ? 1 : (size_t)(slash - uds));
	if (!dir)
		return sv_err(SV_ENOMEM, "%s: out of memory", path);
	struct stat st;
	int rc = 0;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		rc = sv_err(SV_EINVAL, "%s: %s: directory %s does not exist", path, uds, dir);
	free(dir);
	return rc;
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
int sv_rule_mmds_address(const char *path, const void *value, const sv_check_ctx *ctx)
{
	(void)ctx;
	const char *addr = str(value);
	if (!addr)
		return 0;
	int o[4];
	const char *s = addr;
	for (int k = 0; s && k < 4; k++) {
		if ((s = parse_octet(s, &o[k])) && k < 3 && *s++ != '.')
			s = NULL;
	}
	if (s && *s == '\0' && o[0] == 169 && o[1] == 254 && o[2] >= 1 && o[2] <= 254)
		return 0;
	return sv_err(SV_EINVAL,
		      "%s: must be an IPv4 link-local address in 169.254.1.0-169.254.254.255 (got \"%s\")",
		      path, addr);
}

int sv_rule_machine_config(const char *path, const void *obj, const sv_check_ctx *ctx)
{
	(void)ctx;
	const sv_machine_config *mc = obj;
	if (mc->smt && mc->vcpu_count != 1 && mc->vcpu_count % 2 != 0)
		return sv_err(SV_EINVAL, "%s.vcpu_count: must be 1 or even when smt is enabled (got %u)",
			      path, mc->vcpu_count);
	return 0;
}

int sv_rule_drive(const char *path, const void *obj, const sv_check_ctx *ctx)
{
	const sv_drive_config *d = obj, *drives = ctx->elems;
	if (d->partuuid && !d->is_root_device)
		return sv_err(SV_EINVAL, "%s.partuuid: only allowed on the root device", path);
	for (size_t j = 0; j < ctx->index; j++) {
		if (strcmp(drives[j].drive_id, d->drive_id) == 0)
			return sv_err(SV_EINVAL, "%s.drive_id: duplicate of drives[%zu]", path, j);
		if (d->is_root_device && drives[j].is_root_device)
			return sv_err(
			    SV_EINVAL,
			    "%s.is_root_device: only one root device allowed (drives[%zu] is already root)",
			    path, j);
	}
	return 0;
}

int sv_rule_net_iface(const char *path, const void *obj, const sv_check_ctx *ctx)
{
	const sv_net_iface_config *n = obj, *all = ctx->elems;
	for (size_t j = 0; j < ctx->index; j++) {
		const sv_net_iface_config *o = &all[j];
		if (strcmp(o->iface_id, n->iface_id) == 0)
			return sv_err(SV_EINVAL, "%s.iface_id: duplicate of network_interfaces[%zu]", path,
				      j);
		if (n->host_dev_name && o->host_dev_name && strcmp(o->host_dev_name, n->host_dev_name) == 0)
			return sv_err(SV_EINVAL, "%s.host_dev_name: duplicate of network_interfaces[%zu]",
				      path, j);
	}
	return 0;
}

int sv_rule_balloon(const char *path, const void *obj, const sv_check_ctx *ctx)
{
	const sv_balloon_config *b = obj;
	uint32_t mem = ctx->cfg->machine_config.mem_size_mib;
	if (b->amount_mib > mem)
		return sv_err(SV_EINVAL, "%s.amount_mib: must not exceed machine_config.mem_size_mib (%u)",
			      path, mem);
	return 0;
}

int sv_rule_mmds(const char *path, const void *obj, const sv_check_ctx *ctx)
{
	const sv_mmds_config *m = obj;
	if (m->n_network_interfaces == 0)
		return sv_err(SV_EINVAL, "%s.network_interfaces: must name at least one interface", path);
	for (size_t i = 0; i < m->n_network_interfaces; i++) {
		const char *name = m->network_interfaces[i];
		bool found = false;
		for (size_t k = 0; !found && k < ctx->cfg->n_network_interfaces; k++)
			found = strcmp(ctx->cfg->network_interfaces[k].iface_id, name) == 0;
		if (!found)
			return sv_err(SV_EINVAL,
				      "%s.network_interfaces[%zu]: no network interface with iface_id \"%s\"",
				      path, i, name);
	}
	return 0;
}

/* The text of a JSON object, passed through to the VMM as it is. */
int sv_rule_json_object(const char *path, const void *value, const sv_check_ctx *ctx)
{
	(void)ctx;
	if (!str(value))
		return 0;
	json_error_t jerr;
	json_t *o = json_loads(str(value), JSON_REJECT_DUPLICATES, &jerr);
	bool ok = json_is_object(o);
	json_decref(o);
	return ok ? 0 : sv_err(SV_EINVAL, "%s: must be the text of a JSON object", path);
}

/* Ids are unique among pmem devices; one root device among drives and pmem. */
int sv_rule_pmem(const char *path, const void *obj, const sv_check_ctx *ctx)
{
	const sv_pmem_config *p = obj, *all = ctx->elems;
	for (size_t j = 0; j < ctx->index; j++) {
		if (strcmp(all[j].id, p->id) == 0)
			return sv_err(SV_EINVAL, "%s.id: duplicate of pmem[%zu]", path, j);
		if (p->root_device && all[j].root_device)
			return sv_err(SV_EINVAL,
				      "%s.root_device: only one root device allowed (pmem[%zu] is already root)", path,
				      j);
	}
	for (size_t j = 0; p->root_device && j < ctx->cfg->n_drives; j++)
		if (ctx->cfg->drives[j].is_root_device)
			return sv_err(SV_EINVAL,
				      "%s.root_device: only one root device allowed (drives[%zu] is already root)",
				      path, j);
	return 0;
}

/* virtio-mem's geometry: blocks of a power-of-two size make up slots, and
 * slots the whole region. */
int sv_rule_memory_hotplug(const char *path, const void *obj, const sv_check_ctx *ctx)
{
	(void)ctx;
	const sv_memory_hotplug_config *m = obj;
	uint32_t block = m->block_size_mib ? m->block_size_mib : 2;
	uint32_t slot = m->slot_size_mib ? m->slot_size_mib : 128;
	if (block & (block - 1))
		return sv_err(SV_EINVAL, "%s.block_size_mib: must be a power of two (got %u)", path, block);
	if (slot % block)
		return sv_err(SV_EINVAL, "%s.slot_size_mib: must be a multiple of block_size_mib (%u)", path, block);
	if (m->total_size_mib % slot)
		return sv_err(SV_EINVAL, "%s.total_size_mib: must be a multiple of slot_size_mib (%u)", path, slot);
	return 0;
}
