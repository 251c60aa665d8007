/* Deep copies and freeing of sv_vm_config.
 *
 * A config the library hands out owns every byte it points at: strings,
 * arrays, optional sections, rate limiters and the MMDS interface list are all
 * separate heap allocations, so sv_vm_config_free() can release them by
 * casting const away. free() tolerates half-built configs (NULL pointers with
 * counts that match what was allocated), which is what the copy and the JSON
 * reader leave behind when they fail midway. Never frees caller-owned
 * (borrowed) configs: only ones produced here or by config_json_read.c.
 */
#include "config/config_internal.h"
#include <smartvm/config.h>

#include "util/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* const is a promise to callers, not to the allocator. */
static void free_const(const void *p) { free((void *)(uintptr_t)p); }

static bool dup_string(const char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

static bool dup_rate_limiter(const sv_rate_limiter **dst, const sv_rate_limiter *src)
{
	*dst = NULL;
	if (!src)
		return true;
	sv_rate_limiter *rl = malloc(sizeof(*rl));
	if (!rl)
		return false;
	*rl = *src;
	*dst = rl;
	return true;
}

int sv_config_replace_string(const char **field, const char *value)
{
	const char *copy;
	if (!dup_string(&copy, value))
		return sv_err(SV_ENOMEM, "out of memory");
	free_const(*field);
	*field = copy;
	return 0;
}

int sv_config_replace_rate_limiter(const sv_rate_limiter **field, const sv_rate_limiter *value)
{
	const sv_rate_limiter *copy;
	if (!dup_rate_limiter(&copy, value))
		return sv_err(SV_ENOMEM, "out of memory");
	free_const(*field);
	*field = copy;
	return 0;
}

/* dst starts zeroed; scalars are copied one by one so that no pointer of src
 * is ever held by dst (a failure then never frees what src owns). */
static bool copy_drive(sv_drive_config *dst, const sv_drive_config *src)
{
	dst->is_root_device = src->is_root_device;
	dst->is_read_only = src->is_read_only;
	dst->cache_type = src->cache_type;
	dst->io_engine = src->io_engine;
	dst->ephemeral = src->ephemeral;
	return dup_string(&dst->drive_id, src->drive_id) &&
	       dup_string(&dst->path_on_host, src->path_on_host) &&
	       dup_string(&dst->partuuid, src->partuuid) &&
	       dup_rate_limiter(&dst->rate_limiter, src->rate_limiter);
}

static bool copy_net_iface(sv_net_iface_config *dst, const sv_net_iface_config *src)
{
	return dup_string(&dst->iface_id, src->iface_id) &&
	       dup_string(&dst->host_dev_name, src->host_dev_name) &&
	       dup_string(&dst->guest_mac, src->guest_mac) &&
	       dup_rate_limiter(&dst->rx_rate_limiter, src->rx_rate_limiter) &&
	       dup_rate_limiter(&dst->tx_rate_limiter, src->tx_rate_limiter);
}

/* The per-element copies start from a zeroed array, so a failure at element i
 * leaves elements past i with nothing to free. */
static bool copy_drives(sv_vm_config *dst, const sv_vm_config *src)
{
	dst->drives = NULL;
	dst->n_drives = 0;
	if (src->n_drives == 0)
		return true;
	sv_drive_config *drives = calloc(src->n_drives, sizeof(*drives));
	if (!drives)
		return false;
	dst->drives = drives;
	dst->n_drives = src->n_drives;
	for (size_t i = 0; i < src->n_drives; i++)
		if (!copy_drive(&drives[i], &src->drives[i]))
			return false;
	return true;
}

static bool copy_net_ifaces(sv_vm_config *dst, const sv_vm_config *src)
{
	dst->network_interfaces = NULL;
	dst->n_network_interfaces = 0;
	if (src->n_network_interfaces == 0)
		return true;
	sv_net_iface_config *ifaces = calloc(src->n_network_interfaces, sizeof(*ifaces));
	if (!ifaces)
		return false;
	dst->network_interfaces = ifaces;
	dst->n_network_interfaces = src->n_network_interfaces;
	for (size_t i = 0; i < src->n_network_interfaces; i++)
		if (!copy_net_iface(&ifaces[i], &src->network_interfaces[i]))
			return false;
	return true;
}

static bool copy_mmds(const sv_mmds_config **dst, const sv_mmds_config *src)
{
	*dst = NULL;
	if (!src)
		return true;
	sv_mmds_config *m = calloc(1, sizeof(*m));
	if (!m)
		return false;
	*dst = m;
	m->version = src->version;
	if (!dup_string(&m->ipv4_address, src->ipv4_address))
		return false;
	if (src->n_network_interfaces == 0)
		return true;
	const char **names = calloc(src->n_network_interfaces, sizeof(*names));
	if (!names)
		return false;
	m->network_interfaces = names;
	m->n_network_interfaces = src->n_network_interfaces;
	for (size_t i = 0; i < src->n_network_interfaces; i++)
		if (!dup_string(&names[i], src->network_interfaces[i]))
			return false;
	return true;
}

static bool copy_vsock(const sv_vsock_config **dst, const sv_vsock_config *src)
{
	*dst = NULL;
	if (!src)
		return true;
	sv_vsock_config *v = calloc(1, sizeof(*v));
	if (!v)
		return false;
	*dst = v;
	v->guest_cid = src->guest_cid;
	return dup_string(&v->uds_path, src->uds_path);
}

static bool copy_balloon(const sv_balloon_config **dst, const sv_balloon_config *src)
{
	*dst = NULL;
	if (!src)
		return true;
	sv_balloon_config *b = malloc(sizeof(*b));
	if (!b)
		return false;
	*b = *src; /* no pointers inside */
	*dst = b;
	return true;
}

static bool copy_logger(const sv_logger_config **dst, const sv_logger_config *src)
{
	*dst = NULL;
	if (!src)
		return true;
	sv_logger_config *l = calloc(1, sizeof(*l));
	if (!l)
		return false;
	*dst = l;
	l->level = src->level;
	l->show_level = src->show_level;
	l->show_log_origin = src->show_log_origin;
	return dup_string(&l->log_path, src->log_path);
}

static bool copy_metrics(const sv_metrics_config **dst, const sv_metrics_config *src)
{
	*dst = NULL;
	if (!src)
		return true;
	sv_metrics_config *m = calloc(1, sizeof(*m));
	if (!m)
		return false;
	*dst = m;
	return dup_string(&m->metrics_path, src->metrics_path);
}

static bool copy_entropy(const sv_entropy_config **dst, const sv_entropy_config *src)
{
	*dst = NULL;
	if (!src)
		return true;
	sv_entropy_config *e = calloc(1, sizeof(*e));
	if (!e)
		return false;
	*dst = e;
	return dup_rate_limiter(&e->rate_limiter, src->rate_limiter);
}

int sv_config_check_arrays(const sv_vm_config *cfg)
{
	if (cfg->n_drives && !cfg->drives)
		return sv_err(SV_EINVAL, "drives: NULL array with n_drives = %zu", cfg->n_drives);
	if (cfg->n_network_interfaces && !cfg->network_interfaces)
		return sv_err(SV_EINVAL, "network_interfaces: NULL array with n_network_interfaces = %zu",
			      cfg->n_network_interfaces);
	if (cfg->mmds && cfg->mmds->n_network_interfaces && !cfg->mmds->network_interfaces)
		return sv_err(SV_EINVAL,
			      "mmds.network_interfaces: NULL array with n_network_interfaces = %zu",
			      cfg->mmds->n_network_interfaces);
	if (cfg->mmds)
		for (size_t i = 0; i < cfg->mmds->n_network_interfaces; i++)
			if (!cfg->mmds->network_interfaces[i])
				return sv_err(SV_EINVAL, "mmds.network_interfaces[%zu]: is required", i);
	return 0;
}

int sv_vm_config_copy(sv_vm_config **out, const sv_vm_config *cfg)
{
	sv_err_clear();
	*out = NULL;
	if (!cfg)
		return sv_err(SV_EINVAL, "config: NULL");
	/* Counts without arrays can't be copied; say so rather than crash. */
	int rc = sv_config_check_arrays(cfg);
	if (rc)
		return rc;
	sv_vm_config *c = calloc(1, sizeof(*c));
	if (!c)
		return sv_err(SV_ENOMEM, "copying config: out of memory");
	/* Start from an all-NULL copy so a failure anywhere frees only what was made. */
	c->machine_config = cfg->machine_config;
	c->machine_config.cpu_template = NULL;
	bool ok = dup_string(&c->id, cfg->id) && dup_string(&c->base_image, cfg->base_image) &&
		  dup_string(&c->boot_source.kernel_image_path, cfg->boot_source.kernel_image_path) &&
		  dup_string(&c->boot_source.boot_args, cfg->boot_source.boot_args) &&
		  dup_string(&c->boot_source.initrd_path, cfg->boot_source.initrd_path) &&
		  dup_string(&c->machine_config.cpu_template, cfg->machine_config.cpu_template) &&
		  copy_drives(c, cfg) && copy_net_ifaces(c, cfg) && copy_vsock(&c->vsock, cfg->vsock) &&
		  copy_balloon(&c->balloon, cfg->balloon) && copy_mmds(&c->mmds, cfg->mmds) &&
		  copy_logger(&c->logger, cfg->logger) && copy_metrics(&c->metrics, cfg->metrics) &&
		  copy_entropy(&c->entropy, cfg->entropy);
	if (!ok) {
		sv_vm_config_free(c);
		return sv_err(SV_ENOMEM, "copying config: out of memory");
	}
	*out = c;
	return 0;
}

static void free_drive(const sv_drive_config *d)
{
	free_const(d->drive_id);
	free_const(d->path_on_host);
	free_const(d->partuuid);
	free_const(d->rate_limiter);
}

static void free_net_iface(const sv_net_iface_config *n)
{
	free_const(n->iface_id);
	free_const(n->host_dev_name);
	free_const(n->guest_mac);
	free_const(n->rx_rate_limiter);
	free_const(n->tx_rate_limiter);
}

static void free_mmds(const sv_mmds_config *m)
{
	if (!m)
		return;
	if (m->network_interfaces)
		for (size_t i = 0; i < m->n_network_interfaces; i++)
			free_const(m->network_interfaces[i]);
	free_const(m->network_interfaces);
	free_const(m->ipv4_address);
	free_const(m);
}

void sv_vm_config_free(sv_vm_config *cfg)
{
	if (!cfg)
		return;
	free_const(cfg->id);
	free_const(cfg->base_image);
	free_const(cfg->boot_source.kernel_image_path);
	free_const(cfg->boot_source.boot_args);
	free_const(cfg->boot_source.initrd_path);
	free_const(cfg->machine_config.cpu_template);
	if (cfg->drives)
		for (size_t i = 0; i < cfg->n_drives; i++)
			free_drive(&cfg->drives[i]);
	free_const(cfg->drives);
	if (cfg->network_interfaces)
		for (size_t i = 0; i < cfg->n_network_interfaces; i++)
			free_net_iface(&cfg->network_interfaces[i]);
	free_const(cfg->network_interfaces);
	if (cfg->vsock)
		free_const(cfg->vsock->uds_path);
	free_const(cfg->vsock);
	free_const(cfg->balloon);
	free_mmds(cfg->mmds);
	if (cfg->logger)
		free_const(cfg->logger->log_path);
	free_const(cfg->logger);
	if (cfg->metrics)
		free_const(cfg->metrics->metrics_path);
	free_const(cfg->metrics);
	if (cfg->entropy)
		free_const(cfg->entropy->rate_limiter);
	free_const(cfg->entropy);
	free(cfg);
}
