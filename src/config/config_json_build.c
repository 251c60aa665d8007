/* Firecracker JSON for each configuration section (see config_json.h).
 *
 * These builders are the single place that knows Firecracker's field names:
 * the --config-file writer and the API client both PUT exactly what they
 * return. Names come from firecracker-api-v1.16.1.yaml. Unset optional fields
 * (NULL strings, absent rate limiters, zero one_time_burst, UNSET log level)
 * are omitted so Firecracker applies its own defaults; fields whose C default
 * differs from nothing at all (drive flags, cache/io engine, smt,
 * track_dirty_pages, logger show_*) are always sent.
 *
 * Must never emit smartvm-only fields (drive ephemeral, VM id, base image):
 * Firecracker rejects unknown fields. Builders do not validate; they return a
 * new reference, or NULL only when memory runs out.
 */
#include "config/config_json.h"

#include <stdint.h>

/* Steals val (jansson's *_set_new drops it even when the set fails); false if
 * val is NULL (a failed constructor) or the set fails. */
static bool put(json_t *obj, const char *key, json_t *val)
{
	if (!val)
		return false;
	return json_object_set_new(obj, key, val) == 0;
}

static bool put_string_if_set(json_t *obj, const char *key, const char *s)
{
	return !s || put(obj, key, json_string(s));
}

/* Token buckets are int64 on the wire; validation keeps values below 2^63. */
static json_t *token_bucket(const sv_token_bucket *tb)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	bool ok = put(o, "size", json_integer((json_int_t)tb->size)) &&
		  put(o, "refill_time", json_integer((json_int_t)tb->refill_time)) &&
		  (tb->one_time_burst == 0 ||
		   put(o, "one_time_burst", json_integer((json_int_t)tb->one_time_burst)));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *sv_json_rate_limiter(const sv_rate_limiter *rl)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	bool ok = (!rl->has_bandwidth || put(o, "bandwidth", token_bucket(&rl->bandwidth))) &&
		  (!rl->has_ops || put(o, "ops", token_bucket(&rl->ops)));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static bool put_rate_limiter_if_set(json_t *obj, const char *key, const sv_rate_limiter *rl)
{
	return !rl || put(obj, key, sv_json_rate_limiter(rl));
}

json_t *sv_json_boot_source(const sv_boot_source *bs)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	bool ok = put_string_if_set(o, "kernel_image_path", bs->kernel_image_path) &&
		  put_string_if_set(o, "boot_args", bs->boot_args) &&
		  put_string_if_set(o, "initrd_path", bs->initrd_path);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *sv_json_machine_config(const sv_machine_config *mc)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	bool ok = put(o, "vcpu_count", json_integer(mc->vcpu_count)) &&
		  put(o, "mem_size_mib", json_integer(mc->mem_size_mib)) &&
		  put(o, "smt", json_boolean(mc->smt)) &&
		  put(o, "track_dirty_pages", json_boolean(mc->track_dirty_pages)) &&
		  put_string_if_set(o, "cpu_template", mc->cpu_template);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const char *cache_type_name(sv_cache_type t)
{
	return t == SV_CACHE_WRITEBACK ? "Writeback" : "Unsafe";
}

static const char *io_engine_name(sv_io_engine e) { return e == SV_IO_ENGINE_ASYNC ? "Async" : "Sync"; }

json_t *sv_json_drive(const sv_drive_config *d)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	bool ok = put_string_if_set(o, "drive_id", d->drive_id) &&
		  put_string_if_set(o, "path_on_host", d->path_on_host) &&
		  put(o, "is_root_device", json_boolean(d->is_root_device)) &&
		  put(o, "is_read_only", json_boolean(d->is_read_only)) &&
		  put_string_if_set(o, "partuuid", d->partuuid) &&
		  put(o, "cache_type", json_string(cache_type_name(d->cache_type))) &&
		  put(o, "io_engine", json_string(io_engine_name(d->io_engine))) &&
		  put_rate_limiter_if_set(o, "rate_limiter", d->rate_limiter);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *sv_json_net_iface(const sv_net_iface_config *n)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	bool ok = put_string_if_set(o, "iface_id", n->iface_id) &&
		  put_string_if_set(o, "host_dev_name", n->host_dev_name) &&
		  put_string_if_set(o, "guest_mac", n->guest_mac) &&
		  put_rate_limiter_if_set(o, "rx_rate_limiter", n->rx_rate_limiter) &&
		  put_rate_limiter_if_set(o, "tx_rate_limiter", n->tx_rate_limiter);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *sv_json_vsock(const sv_vsock_config *v)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	bool ok =
	    put(o, "guest_cid", json_integer(v->guest_cid)) && put_string_if_set(o, "uds_path", v->uds_path);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *sv_json_balloon(const sv_balloon_config *b)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	bool ok = put(o, "amount_mib", json_integer(b->amount_mib)) &&
		  put(o, "deflate_on_oom", json_boolean(b->deflate_on_oom)) &&
		  (b->stats_polling_interval_s == 0 ||
		   put(o, "stats_polling_interval_s", json_integer(b->stats_polling_interval_s)));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *sv_json_mmds_config(const sv_mmds_config *m)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_t *ifaces = json_array(); /* owned by o once put succeeds */
	bool ok = put(o, "version", json_string(m->version == SV_MMDS_V2 ? "V2" : "V1")) &&
		  put(o, "network_interfaces", ifaces) &&
		  put_string_if_set(o, "ipv4_address", m->ipv4_address);
	for (size_t i = 0; ok && i < m->n_network_interfaces; i++)
		ok = json_array_append_new(ifaces, json_string(m->network_interfaces[i])) == 0;
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const char *log_level_name(sv_log_level level)
{
	switch (level) {
	case SV_LOG_LEVEL_ERROR:
		return "Error";
	case SV_LOG_LEVEL_WARNING:
		return "Warning";
	case SV_LOG_LEVEL_INFO:
		return "Info";
	case SV_LOG_LEVEL_DEBUG:
		return "Debug";
	case SV_LOG_LEVEL_TRACE:
		return "Trace";
	case SV_LOG_LEVEL_OFF:
		return "Off";
	case SV_LOG_LEVEL_UNSET:
		break;
	}
	return NULL;
}

json_t *sv_json_logger(const sv_logger_config *l)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	bool ok = put_string_if_set(o, "log_path", l->log_path) &&
		  put_string_if_set(o, "level", log_level_name(l->level)) &&
		  put(o, "show_level", json_boolean(l->show_level)) &&
		  put(o, "show_log_origin", json_boolean(l->show_log_origin));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *sv_json_metrics(const sv_metrics_config *m)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	if (!put_string_if_set(o, "metrics_path", m->metrics_path)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *sv_json_entropy(const sv_entropy_config *e)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	if (!put_rate_limiter_if_set(o, "rate_limiter", e->rate_limiter)) {
		json_decref(o);
		return NULL;
	}
	return o;
}
