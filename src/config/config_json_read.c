/* sv_vm_config_from_json / sv_vm_config_load: Firecracker's --config-file
 * format (plus smartvm's own "smartvm" key) into an owned sv_vm_config.
 *
 * The reader checks shape only: every key is known at its level, every value
 * has the right JSON type, enums are spelled right and unsigned fields are not
 * negative. Rules (ranges, files existing, cross references) belong to
 * sv_vm_config_validate and are not checked here. Errors name the JSON path,
 * with the document's own key spelling: "drives[0].foo: unknown field",
 * "machine-config.vcpu_count: must be an integer". Firecracker fields smartvm
 * does not model are refused ("not supported by smartvm") rather than silently
 * dropped, unless they ask for nothing (null, or huge_pages "None"); the
 * deprecated vsock.vsock_id carries no meaning and is accepted and dropped. A JSON null counts as absent, as
 * in Firecracker's own GET /vm/config.
 *
 * The config is built directly in its final, owned form; on any error the
 * half-built config is released with sv_vm_config_free, which is safe because
 * every array count is set only together with its allocation.
 */
#include <smartvm/config.h>

#include "config/config_paths.h"
#include "util/error.h"
#include "util/file.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_CONFIG_BYTES (1024 * 1024)
#define JPATH_LEN 256

/* A path too long for the buffer (a hostile document) ends in "...". */
static void mark_truncated(char *dst, int n)
{
	if (n >= JPATH_LEN)
		memcpy(dst + JPATH_LEN - 4, "...", 4);
}

/* "path.key", or just "key" at the top level. */
static void join(char *dst, const char *path, const char *key)
{
	mark_truncated(dst, *path ? snprintf(dst, JPATH_LEN, "%s.%s", path, key) : snprintf(dst, JPATH_LEN, "%s", key));
}

static void index_path(char *dst, const char *path, size_t i)
{
	mark_truncated(dst, snprintf(dst, JPATH_LEN, "%s[%zu]", path, i));
}

static bool in_list(const char *const *list, const char *key)
{
	for (; list && *list; list++)
		if (strcmp(*list, key) == 0)
			return true;
	return false;
}

/* known: keys we read; unsupported: Firecracker keys we refuse by name. */
static int check_keys(json_t *obj, const char *path, const char *const *known, const char *const *unsupported)
{
	const char *key;
	json_t *val;
	json_object_foreach(obj, key, val)
	{
		if (in_list(known, key))
			continue;
		char p[JPATH_LEN];
		join(p, path, key);
		/* Firecracker's own GET /vm/config writes null for features it has
		 * off; null asks for nothing we lack, so it is accepted. */
		if (in_list(unsupported, key) && json_is_null(val))
			continue;
		if (in_list(unsupported, key))
			return sv_err(SV_EINVAL, "%s: not supported by smartvm", p);
		return sv_err(SV_EINVAL, "%s: unknown field", p);
	}
	return 0;
}

/* The value at obj[key], NULL when absent or JSON null. */
static json_t *field(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

static int oom(void) { return sv_err(SV_ENOMEM, "reading config: out of memory"); }

static int get_string(json_t *obj, const char *path, const char *key, const char **out)
{
	json_t *v = field(obj, key);
	if (!v)
		return 0;
	char p[JPATH_LEN];
	join(p, path, key);
	if (!json_is_string(v))
		return sv_err(SV_EINVAL, "%s: must be a string", p);
	/* Strings with NUL inside can't be C strings. */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return sv_err(SV_EINVAL, "%s: must not contain NUL characters", p);
	*out = strdup(json_string_value(v));
	return *out ? 0 : oom();
}

static int get_bool(json_t *obj, const char *path, const char *key, bool *out)
{
	json_t *v = field(obj, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		char p[JPATH_LEN];
		join(p, path, key);
		return sv_err(SV_EINVAL, "%s: must be a boolean", p);
	}
	*out = json_is_true(v);
	return 0;
}

static int get_uint(json_t *obj, const char *path, const char *key, uint64_t max, uint64_t *out)
{
	json_t *v = field(obj, key);
	if (!v)
		return 0;
	char p[JPATH_LEN];
	join(p, path, key);
	if (!json_is_integer(v))
		return sv_err(SV_EINVAL, "%s: must be an integer", p);
	json_int_t n = json_integer_value(v);
	if (n < 0)
		return sv_err(SV_EINVAL, "%s: must not be negative", p);
	if ((uint64_t)n > max)
		return sv_err(SV_EINVAL, "%s: must be at most %ju", p, (uintmax_t)max);
	*out = (uint64_t)n;
	return 0;
}

static int get_u32(json_t *obj, const char *path, const char *key, uint32_t *out)
{
	uint64_t v = *out;
	int rc = get_uint(obj, path, key, UINT32_MAX, &v);
	*out = (uint32_t)v;
	return rc;
}

/* names[i] is the spelling of enum value i; accepted as written, or in any
 * case when fold_case (Firecracker's logger level is case-insensitive). */
static int get_enum(json_t *obj, const char *path, const char *key, const char *const *names, size_t n,
		    bool fold_case, int *out)
{
	json_t *v = field(obj, key);
	if (!v)
		return 0;
	const char *s = json_string_value(v); /* NULL unless a string */
	for (size_t i = 0; s && i < n; i++)
		if (fold_case ? strcasecmp(s, names[i]) == 0 : strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	char p[JPATH_LEN];
	join(p, path, key);
	char list[JPATH_LEN] = "";
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(list);
		snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);
	}
	return sv_err(SV_EINVAL, "%s: must be one of %s", p, list);
}

/* The object at obj[key] (NULL if absent), or an error if it is not one. */
static int get_object(json_t *obj, const char *path, const char *key, json_t **out)
{
	*out = field(obj, key);
	if (*out && !json_is_object(*out)) {
		char p[JPATH_LEN];
		join(p, path, key);
		*out = NULL;
		return sv_err(SV_EINVAL, "%s: must be an object", p);
	}
	return 0;
}

static int get_array(json_t *obj, const char *path, const char *key, json_t **out)
{
	*out = field(obj, key);
	if (*out && !json_is_array(*out)) {
		char p[JPATH_LEN];
		join(p, path, key);
		*out = NULL;
		return sv_err(SV_EINVAL, "%s: must be an array", p);
	}
	return 0;
}

static int read_token_bucket(json_t *rl, const char *path, const char *key, bool *has, sv_token_bucket *tb)
{
	static const char *const known[] = {"size", "one_time_burst", "refill_time", NULL};
	json_t *o;
	int rc = get_object(rl, path, key, &o);
	if (rc || !o)
		return rc;
	char p[JPATH_LEN];
	join(p, path, key);
	*has = true;
	if ((rc = check_keys(o, p, known, NULL)) || (rc = get_uint(o, p, "size", INT64_MAX, &tb->size)) ||
	    (rc = get_uint(o, p, "one_time_burst", INT64_MAX, &tb->one_time_burst)) ||
	    (rc = get_uint(o, p, "refill_time", INT64_MAX, &tb->refill_time)))
		return rc;
	return 0;
}

static int read_rate_limiter(json_t *obj, const char *path, const char *key, const sv_rate_limiter **out)
{
	static const char *const known[] = {"bandwidth", "ops", NULL};
	json_t *o;
	int rc = get_object(obj, path, key, &o);
	if (rc || !o)
		return rc;
	sv_rate_limiter *rl = calloc(1, sizeof(*rl));
	if (!rl)
		return oom();
	*out = rl;
	char p[JPATH_LEN];
	join(p, path, key);
	if ((rc = check_keys(o, p, known, NULL)) ||
	    (rc = read_token_bucket(o, p, "bandwidth", &rl->has_bandwidth, &rl->bandwidth)) ||
	    (rc = read_token_bucket(o, p, "ops", &rl->has_ops, &rl->ops)))
		return rc;
	return 0;
}

static int read_boot_source(json_t *root, sv_boot_source *bs)
{
	static const char *const known[] = {"kernel_image_path", "boot_args", "initrd_path", NULL};
	const char *p = "boot-source";
	json_t *o;
	int rc = get_object(root, "", p, &o);
	if (rc || !o)
		return rc;
	if ((rc = check_keys(o, p, known, NULL)) ||
	    (rc = get_string(o, p, "kernel_image_path", &bs->kernel_image_path)) ||
	    (rc = get_string(o, p, "boot_args", &bs->boot_args)) ||
	    (rc = get_string(o, p, "initrd_path", &bs->initrd_path)))
		return rc;
	return 0;
}

/* huge_pages "None" is Firecracker's default and asks for nothing. */
static int check_huge_pages(json_t *o)
{
	json_t *v = field(o, "huge_pages");
	if (v && !(json_is_string(v) && strcmp(json_string_value(v), "None") == 0))
		return sv_err(SV_EINVAL, "machine-config.huge_pages: not supported by smartvm");
	return 0;
}

static int read_machine_config(json_t *root, sv_machine_config *mc)
{
	static const char *const known[] = {"vcpu_count",	 "mem_size_mib", "smt", "cpu_template",
					    "track_dirty_pages", "huge_pages",	 NULL};
	const char *p = "machine-config";
	json_t *o;
	int rc = get_object(root, "", p, &o);
	if (rc || !o)
		return rc;
	if ((rc = check_keys(o, p, known, NULL)) || (rc = check_huge_pages(o)) ||
	    (rc = get_u32(o, p, "vcpu_count", &mc->vcpu_count)) ||
	    (rc = get_u32(o, p, "mem_size_mib", &mc->mem_size_mib)) ||
	    (rc = get_bool(o, p, "smt", &mc->smt)) ||
	    (rc = get_string(o, p, "cpu_template", &mc->cpu_template)) ||
	    (rc = get_bool(o, p, "track_dirty_pages", &mc->track_dirty_pages)))
		return rc;
	return 0;
}

static int read_drive(json_t *o, const char *p, sv_drive_config *d)
{
	static const char *const known[] = {"drive_id",	    "path_on_host", "is_root_device",
					    "is_read_only", "partuuid",	    "cache_type",
					    "io_engine",    "rate_limiter", NULL};
	static const char *const unsupported[] = {"socket", NULL};
	static const char *const cache_types[] = {"Unsafe", "Writeback"}; /* sv_cache_type order */
	static const char *const io_engines[] = {"Sync", "Async"};	  /* sv_io_engine order */
	int cache = SV_CACHE_UNSAFE, engine = SV_IO_ENGINE_SYNC;
	int rc;
	if ((rc = check_keys(o, p, known, unsupported)) ||
	    (rc = get_string(o, p, "drive_id", &d->drive_id)) ||
	    (rc = get_string(o, p, "path_on_host", &d->path_on_host)) ||
	    (rc = get_bool(o, p, "is_root_device", &d->is_root_device)) ||
	    (rc = get_bool(o, p, "is_read_only", &d->is_read_only)) ||
	    (rc = get_string(o, p, "partuuid", &d->partuuid)) ||
	    (rc = get_enum(o, p, "cache_type", cache_types, 2, false, &cache)) ||
	    (rc = get_enum(o, p, "io_engine", io_engines, 2, false, &engine)) ||
	    (rc = read_rate_limiter(o, p, "rate_limiter", &d->rate_limiter)))
		return rc;
	d->cache_type = (sv_cache_type)cache;
	d->io_engine = (sv_io_engine)engine;
	return 0;
}

static int read_net_iface(json_t *o, const char *p, sv_net_iface_config *n)
{
	static const char *const known[] = {"iface_id",	       "host_dev_name",	  "guest_mac",
					    "rx_rate_limiter", "tx_rate_limiter", NULL};
	static const char *const unsupported[] = {"mtu", NULL};
	int rc;
	if ((rc = check_keys(o, p, known, unsupported)) ||
	    (rc = get_string(o, p, "iface_id", &n->iface_id)) ||
	    (rc = get_string(o, p, "host_dev_name", &n->host_dev_name)) ||
	    (rc = get_string(o, p, "guest_mac", &n->guest_mac)) ||
	    (rc = read_rate_limiter(o, p, "rx_rate_limiter", &n->rx_rate_limiter)) ||
	    (rc = read_rate_limiter(o, p, "tx_rate_limiter", &n->tx_rate_limiter)))
		return rc;
	return 0;
}

/* Checks that every element of the array is an object, before allocating. */
static int check_elements_are_objects(json_t *a, const char *path)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		if (!json_is_object(v)) {
			char p[JPATH_LEN];
			index_path(p, path, i);
			return sv_err(SV_EINVAL, "%s: must be an object", p);
		}
	}
	return 0;
}

static int read_drives(json_t *root, sv_vm_config *cfg)
{
	json_t *a;
	int rc = get_array(root, "", "drives", &a);
	if (rc || !a || json_array_size(a) == 0)
		return rc;
	if ((rc = check_elements_are_objects(a, "drives")))
		return rc;
	sv_drive_config *drives = calloc(json_array_size(a), sizeof(*drives));
	if (!drives)
		return oom();
	cfg->drives = drives;
	cfg->n_drives = json_array_size(a);
	for (size_t i = 0; i < cfg->n_drives; i++) {
		char p[JPATH_LEN];
		index_path(p, "drives", i);
		if ((rc = read_drive(json_array_get(a, i), p, &drives[i])))
			return rc;
	}
	return 0;
}

static int read_net_ifaces(json_t *root, sv_vm_config *cfg)
{
	const char *path = "network-interfaces";
	json_t *a;
	int rc = get_array(root, "", path, &a);
	if (rc || !a || json_array_size(a) == 0)
		return rc;
	if ((rc = check_elements_are_objects(a, path)))
		return rc;
	sv_net_iface_config *ifaces = calloc(json_array_size(a), sizeof(*ifaces));
	if (!ifaces)
		return oom();
	cfg->network_interfaces = ifaces;
	cfg->n_network_interfaces = json_array_size(a);
	for (size_t i = 0; i < cfg->n_network_interfaces; i++) {
		char p[JPATH_LEN];
		index_path(p, path, i);
		if ((rc = read_net_iface(json_array_get(a, i), p, &ifaces[i])))
			return rc;
	}
	return 0;
}

static int read_vsock(json_t *root, sv_vm_config *cfg)
{
	/* vsock_id is deprecated in Firecracker and ignored by it: accept, drop. */
	static const char *const known[] = {"guest_cid", "uds_path", "vsock_id", NULL};
	const char *p = "vsock";
	json_t *o;
	int rc = get_object(root, "", p, &o);
	if (rc || !o)
		return rc;
	sv_vsock_config *v = calloc(1, sizeof(*v));
	if (!v)
		return oom();
	cfg->vsock = v;
	json_t *id = field(o, "vsock_id");
	if ((rc = check_keys(o, p, known, NULL)))
		return rc;
	if (id && !json_is_string(id))
		return sv_err(SV_EINVAL, "vsock.vsock_id: must be a string");
	if ((rc = get_u32(o, p, "guest_cid", &v->guest_cid)) ||
	    (rc = get_string(o, p, "uds_path", &v->uds_path)))
		return rc;
	return 0;
}

static int read_balloon(json_t *root, sv_vm_config *cfg)
{
	static const char *const known[] = {"amount_mib", "deflate_on_oom", "stats_polling_interval_s", NULL};
	static const char *const unsupported[] = {"free_page_hinting", "free_page_reporting", NULL};
	const char *p = "balloon";
	json_t *o;
	int rc = get_object(root, "", p, &o);
	if (rc || !o)
		return rc;
	sv_balloon_config *b = calloc(1, sizeof(*b));
	if (!b)
		return oom();
	cfg->balloon = b;
	if ((rc = check_keys(o, p, known, unsupported)) ||
	    (rc = get_u32(o, p, "amount_mib", &b->amount_mib)) ||
	    (rc = get_bool(o, p, "deflate_on_oom", &b->deflate_on_oom)) ||
	    (rc = get_u32(o, p, "stats_polling_interval_s", &b->stats_polling_interval_s)))
		return rc;
	return 0;
}

static int read_mmds_interfaces(json_t *o, const char *p, sv_mmds_config *m)
{
	json_t *a;
	int rc = get_array(o, p, "network_interfaces", &a);
	if (rc || !a || json_array_size(a) == 0)
		return rc;
	const char **names = calloc(json_array_size(a), sizeof(*names));
	if (!names)
		return oom();
	m->network_interfaces = names;
	m->n_network_interfaces = json_array_size(a);
	for (size_t i = 0; i < m->n_network_interfaces; i++) {
		json_t *v = json_array_get(a, i);
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
			return sv_err(SV_EINVAL, "%s.network_interfaces[%zu]: must be a string", p, i);
		if (!(names[i] = strdup(json_string_value(v))))
			return oom();
	}
	return 0;
}

static int read_mmds(json_t *root, sv_vm_config *cfg)
{
	static const char *const known[] = {"version", "network_interfaces", "ipv4_address", NULL};
	static const char *const unsupported[] = {"imds_compat", NULL};
	static const char *const versions[] = {"V1", "V2"}; /* sv_mmds_version order */
	const char *p = "mmds-config";
	json_t *o;
	int rc = get_object(root, "", p, &o);
	if (rc || !o)
		return rc;
	sv_mmds_config *m = calloc(1, sizeof(*m));
	if (!m)
		return oom();
	cfg->mmds = m;
	int version = SV_MMDS_V1;
	if ((rc = check_keys(o, p, known, unsupported)) ||
	    (rc = get_enum(o, p, "version", versions, 2, false, &version)) ||
	    (rc = read_mmds_interfaces(o, p, m)) || (rc = get_string(o, p, "ipv4_address", &m->ipv4_address)))
		return rc;
	m->version = (sv_mmds_version)version;
	return 0;
}

static int read_logger(json_t *root, sv_vm_config *cfg)
{
	static const char *const known[] = {"log_path", "level", "show_level", "show_log_origin", NULL};
	static const char *const unsupported[] = {"module", NULL};
	/* Offset by one: index 0 of sv_log_level is UNSET, which has no spelling. */
	static const char *const levels[] = {"Error", "Warning", "Info", "Debug", "Trace", "Off"};
	const char *p = "logger";
	json_t *o;
	int rc = get_object(root, "", p, &o);
	if (rc || !o)
		return rc;
	sv_logger_config *l = calloc(1, sizeof(*l));
	if (!l)
		return oom();
	cfg->logger = l;
	int level = -1;
	if ((rc = check_keys(o, p, known, unsupported)) ||
	    (rc = get_string(o, p, "log_path", &l->log_path)) ||
	    (rc = get_enum(o, p, "level", levels, 6, true, &level)) ||
	    (rc = get_bool(o, p, "show_level", &l->show_level)) ||
	    (rc = get_bool(o, p, "show_log_origin", &l->show_log_origin)))
		return rc;
	l->level = (sv_log_level)(level + 1);
	return 0;
}

static int read_metrics(json_t *root, sv_vm_config *cfg)
{
	static const char *const known[] = {"metrics_path", NULL};
	const char *p = "metrics";
	json_t *o;
	int rc = get_object(root, "", p, &o);
	if (rc || !o)
		return rc;
	sv_metrics_config *m = calloc(1, sizeof(*m));
	if (!m)
		return oom();
	cfg->metrics = m;
	if ((rc = check_keys(o, p, known, NULL)) || (rc = get_string(o, p, "metrics_path", &m->metrics_path)))
		return rc;
	return 0;
}

static int read_entropy(json_t *root, sv_vm_config *cfg)
{
	static const char *const known[] = {"rate_limiter", NULL};
	const char *p = "entropy";
	json_t *o;
	int rc = get_object(root, "", p, &o);
	if (rc || !o)
		return rc;
	sv_entropy_config *e = calloc(1, sizeof(*e));
	if (!e)
		return oom();
	cfg->entropy = e;
	if ((rc = check_keys(o, p, known, NULL)) ||
	    (rc = read_rate_limiter(o, p, "rate_limiter", &e->rate_limiter)))
		return rc;
	return 0;
}

/* Runs after the drives are read: each key names a drive. */
static int read_ephemeral_drives(json_t *sv, sv_vm_config *cfg)
{
	const char *p = "smartvm.ephemeral_drives";
	json_t *o;
	int rc = get_object(sv, "smartvm", "ephemeral_drives", &o);
	if (rc || !o)
		return rc;
	sv_drive_config *drives = (sv_drive_config *)(uintptr_t)cfg->drives;
	const char *drive_id;
	json_t *v;
	json_object_foreach(o, drive_id, v)
	{
		char dp[JPATH_LEN];
		join(dp, p, drive_id);
		if (!json_is_boolean(v))
			return sv_err(SV_EINVAL, "%s: must be a boolean", dp);
		bool found = false;
		for (size_t i = 0; i < cfg->n_drives; i++)
			if (drives[i].drive_id && strcmp(drives[i].drive_id, drive_id) == 0) {
				drives[i].ephemeral = json_is_true(v) ? SV_YES : SV_NO;
				found = true;
			}
		if (!found)
			return sv_err(SV_EINVAL, "%s: no drive with this drive_id", dp);
	}
	return 0;
}

/* smartvm.network: the VM's sv_vm_net_options. */
static int read_network(json_t *sv, sv_vm_config *cfg)
{
	static const char *const known[] = {"wireguard",     "publish",	       "netns",
					    "existing_taps", "allow_vm_to_vm", "allow_host_dns", NULL};
	const char *p = "smartvm.network";
	json_t *o, *a;
	int rc = get_object(sv, "smartvm", "network", &o);
	if (rc || !o)
		return rc;
	sv_vm_net_options *n = calloc(1, sizeof(*n));
	if (!n)
		return oom();
	n->version = SV_VM_NET_OPTIONS_VERSION;
	cfg->net = n;
	if ((rc = check_keys(o, p, known, NULL)) || (rc = get_string(o, p, "wireguard", &n->wireguard_config)) ||
	    (rc = get_string(o, p, "netns", &n->netns_path)) ||
	    (rc = get_bool(o, p, "existing_taps", &n->existing_taps)) ||
	    (rc = get_bool(o, p, "allow_vm_to_vm", &n->allow_vm_to_vm)) ||
	    (rc = get_bool(o, p, "allow_host_dns", &n->allow_host_dns)) || (rc = get_array(o, p, "publish", &a)))
		return rc;
	if (!a || json_array_size(a) == 0)
		return 0;
	const char **specs = calloc(json_array_size(a), sizeof(*specs));
	if (!specs)
		return oom();
	n->publish = specs;
	n->n_publish = json_array_size(a);
	for (size_t i = 0; i < n->n_publish; i++) {
		json_t *v = json_array_get(a, i);
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
			return sv_err(SV_EINVAL, "%s.publish[%zu]: must be a string", p, i);
		if (!(specs[i] = strdup(json_string_value(v))))
			return oom();
	}
	return 0;
}

static int read_smartvm(json_t *root, sv_vm_config *cfg)
{
	static const char *const known[] = {"id", "base_image", "ephemeral_drives", "network", NULL};
	const char *p = "smartvm";
	json_t *o;
	int rc = get_object(root, "", p, &o);
	if (rc || !o)
		return rc;
	if ((rc = check_keys(o, p, known, NULL)) || (rc = get_string(o, p, "id", &cfg->id)) ||
	    (rc = get_string(o, p, "base_image", &cfg->base_image)) || (rc = read_ephemeral_drives(o, cfg)) ||
	    (rc = read_network(o, cfg)))
		return rc;
	return 0;
}

static int read_config(json_t *root, sv_vm_config *cfg)
{
	static const char *const known[] = {
	    "boot-source", "machine-config", "drives",	    "network-interfaces",
	    "vsock",	   "balloon",	     "mmds-config", "logger",
	    "metrics",	   "entropy",	     "smartvm",	    NULL};
	static const char *const unsupported[] = {"cpu-config", "memory-hotplug", "pmem", NULL};
	int rc;
	if ((rc = check_keys(root, "", known, unsupported)) ||
	    (rc = read_boot_source(root, &cfg->boot_source)) ||
	    (rc = read_machine_config(root, &cfg->machine_config)) || (rc = read_drives(root, cfg)) ||
	    (rc = read_net_ifaces(root, cfg)) || (rc = read_vsock(root, cfg)) ||
	    (rc = read_balloon(root, cfg)) || (rc = read_mmds(root, cfg)) || (rc = read_logger(root, cfg)) ||
	    (rc = read_metrics(root, cfg)) || (rc = read_entropy(root, cfg)) ||
	    (rc = read_smartvm(root, cfg)))
		return rc;
	return 0;
}

int sv_vm_config_from_json(sv_vm_config **out, const char *json_text)
{
	sv_err_clear();
	*out = NULL;
	if (!json_text)
		return sv_err(SV_EINVAL, "config: NULL");
	json_error_t jerr;
	json_t *root = json_loads(json_text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return sv_err(SV_EINVAL, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return sv_err(SV_EINVAL, "config: must be a JSON object");
	}
	sv_vm_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		json_decref(root);
		return oom();
	}
	int rc = read_config(root, cfg);
	json_decref(root);
	if (rc) {
		sv_vm_config_free(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

int sv_vm_config_load(sv_vm_config **out, const char *path)
{
	sv_err_clear();
	*out = NULL;
	char *text = NULL;
	int rc = sv_read_file(path, MAX_CONFIG_BYTES, &text, NULL);
	if (rc)
		return rc; /* sv_read_file's message already names the path */
	rc = sv_vm_config_from_json(out, text);
	free(text);
	if (rc)
		return sv_err_prefix("%s", path);
	/* Its relative paths are the file's, wherever it is loaded from. */
	char *file = sv_path_absolute(path, NULL);
	char *slash = file ? strrchr(file, '/') : NULL;
	if (slash)
		slash[slash == file ? 1 : 0] = '\0';
	rc = file ? sv_config_resolve_paths(*out, file)
		  : sv_err_errno(SV_EIO, errno, "%s: its directory", path);
	free(file);
	if (rc) {
		sv_vm_config_free(*out);
		*out = NULL;
		return sv_err_prefix("%s", path);
	}
	return 0;
}
