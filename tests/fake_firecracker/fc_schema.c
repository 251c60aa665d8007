/* The spec's request schemas as tables, and one checker that walks a body
 * against them (see fc_schema.h for the rules and the message style).
 *
 * The tables are transcribed from firecracker-api-v1.16.1.yaml; the Rust type
 * names and integer widths are Firecracker's (vcpu_count is a u8,
 * mem_size_mib a usize, token bucket fields u64, mtu u16, ...). Semantic rules
 * that Firecracker checks after deserialising (vCPU count parity, memory size,
 * ids matching the path) live with the handlers, not here.
 */
#include "fc_schema.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the tables ---- */

#define STR(n, req) { .name = n, .type = FT_STRING, .required = req }
#define BOOL(n, req) { .name = n, .type = FT_BOOL, .required = req }
#define UINT(n, req, rt, min) { .name = n, .type = FT_UINT, .required = req, .rust_int = rt, .minimum = min }
#define ENUM(n, req, v) { .name = n, .type = FT_ENUM, .required = req, .variants = v }
#define STRUCT(n, req, s) { .name = n, .type = FT_STRUCT, .required = req, .schema = &s }
#define END { .name = NULL }

static const fc_field token_bucket_fields[] = {
	UINT("size", true, "u64", 0),
	UINT("one_time_burst", false, "u64", 0),
	UINT("refill_time", true, "u64", 0),
	END,
};
static const fc_schema token_bucket = { "TokenBucketConfig", token_bucket_fields, false };

static const fc_field rate_limiter_fields[] = {
	STRUCT("bandwidth", false, token_bucket),
	STRUCT("ops", false, token_bucket),
	END,
};
static const fc_schema rate_limiter = { "RateLimiterConfig", rate_limiter_fields, false };

static const fc_field boot_source_fields[] = {
	STR("kernel_image_path", true),
	STR("initrd_path", false),
	STR("boot_args", false),
	END,
};
const fc_schema fc_schema_boot_source = { "BootSourceConfig", boot_source_fields, false };

static const char *const cpu_templates[] = { "C3", "T2", "T2S", "T2CL", "T2A", "V1N1", "None", NULL };
static const char *const huge_pages[] = { "None", "2M", NULL };
static const fc_field machine_config_fields[] = {
	UINT("vcpu_count", true, "u8", 0),
	UINT("mem_size_mib", true, "usize", 0),
	BOOL("smt", false),
	ENUM("cpu_template", false, cpu_templates),
	BOOL("track_dirty_pages", false),
	ENUM("huge_pages", false, huge_pages),
	END,
};
const fc_schema fc_schema_machine_config = { "MachineConfig", machine_config_fields, false };

static const char *const cache_types[] = { "Unsafe", "Writeback", NULL };
static const char *const io_engines[] = { "Sync", "Async", NULL };
static const fc_field drive_fields[] = {
	STR("drive_id", true),
	STR("partuuid", false),
	BOOL("is_root_device", true),
	ENUM("cache_type", false, cache_types),
	BOOL("is_read_only", false),
	STR("path_on_host", false),
	STRUCT("rate_limiter", false, rate_limiter),
	ENUM("io_engine", false, io_engines),
	STR("socket", false),
	END,
};
const fc_schema fc_schema_drive = { "BlockDeviceConfig", drive_fields, false };

static const fc_field net_iface_fields[] = {
	STR("iface_id", true),
	STR("host_dev_name", true),
	STR("guest_mac", false),
	UINT("mtu", false, "u16", 68),
	STRUCT("rx_rate_limiter", false, rate_limiter),
	STRUCT("tx_rate_limiter", false, rate_limiter),
	END,
};
const fc_schema fc_schema_net_iface = { "NetworkInterfaceConfig", net_iface_fields, false };

static const fc_field vsock_fields[] = {
	STR("vsock_id", false),
	UINT("guest_cid", true, "u32", 3),
	STR("uds_path", true),
	END,
};
const fc_schema fc_schema_vsock = { "VsockDeviceConfig", vsock_fields, false };

static const fc_field balloon_fields[] = {
	UINT("amount_mib", true, "u32", 0),
	BOOL("deflate_on_oom", true),
	UINT("stats_polling_interval_s", false, "u16", 0),
	BOOL("free_page_hinting", false),
	BOOL("free_page_reporting", false),
	END,
};
const fc_schema fc_schema_balloon = { "BalloonDeviceConfig", balloon_fields, false };

static const char *const mmds_versions[] = { "V1", "V2", NULL };
static const fc_field mmds_config_fields[] = {
	ENUM("version", false, mmds_versions),
	{ .name = "network_interfaces", .type = FT_STRING_ARRAY, .required = true },
	STR("ipv4_address", false),
	BOOL("imds_compat", false),
	END,
};
const fc_schema fc_schema_mmds_config = { "MmdsConfig", mmds_config_fields, false };

static const char *const log_levels[] = { "Error", "Warning", "Info", "Debug", "Trace", "Off", NULL };
static const fc_field logger_fields[] = {
	STR("log_path", false),
	{ .name = "level", .type = FT_ENUM, .variants = log_levels, .case_insensitive = true },
	BOOL("show_level", false),
	BOOL("show_log_origin", false),
	STR("module", false),
	END,
};
const fc_schema fc_schema_logger = { "LoggerConfig", logger_fields, false };

static const fc_field metrics_fields[] = {
	STR("metrics_path", true),
	END,
};
const fc_schema fc_schema_metrics = { "MetricsConfig", metrics_fields, false };

static const fc_field entropy_fields[] = {
	STRUCT("rate_limiter", false, rate_limiter),
	END,
};
const fc_schema fc_schema_entropy = { "EntropyDeviceConfig", entropy_fields, false };

static const fc_field pmem_fields[] = {
	STR("id", true),
	STR("path_on_host", true),
	BOOL("root_device", false),
	BOOL("read_only", false),
	STRUCT("rate_limiter", false, rate_limiter),
	END,
};
const fc_schema fc_schema_pmem = { "PmemConfig", pmem_fields, false };

static const fc_field serial_fields[] = {
	STR("serial_out_path", false),
	STRUCT("rate_limiter", false, token_bucket),
	END,
};
const fc_schema fc_schema_serial = { "SerialDevice", serial_fields, false };

static const fc_field memory_hotplug_fields[] = {
	UINT("total_size_mib", true, "usize", 0),
	UINT("slot_size_mib", false, "usize", 128),
	UINT("block_size_mib", false, "usize", 2),
	END,
};
const fc_schema fc_schema_memory_hotplug = { "MemoryHotplugConfig", memory_hotplug_fields, false };

/* The custom CPU template (flags and index are i32 in the spec). */
static const char *const cpuid_registers[] = { "eax", "ebx", "ecx", "edx", NULL };
static const fc_field cpuid_register_fields[] = {
	ENUM("register", true, cpuid_registers),
	STR("bitmap", true),
	END,
};
static const fc_schema cpuid_register = { "CpuidRegisterModifier", cpuid_register_fields, false };
static const fc_field cpuid_leaf_fields[] = {
	STR("leaf", true),
	STR("subleaf", true),
	UINT("flags", true, "i32", 0),
	{ .name = "modifiers", .type = FT_STRUCT_ARRAY, .required = true, .schema = &cpuid_register },
	END,
};
static const fc_schema cpuid_leaf = { "CpuidLeafModifier", cpuid_leaf_fields, false };
static const fc_field addr_bitmap_fields[] = {
	STR("addr", true),
	STR("bitmap", true),
	END,
};
static const fc_schema msr_modifier = { "MsrModifier", addr_bitmap_fields, false };
static const fc_schema reg_modifier = { "ArmRegisterModifier", addr_bitmap_fields, false };
static const fc_field vcpu_feature_fields[] = {
	UINT("index", true, "i32", 0),
	STR("bitmap", true),
	END,
};
static const fc_schema vcpu_features = { "VcpuFeatures", vcpu_feature_fields, false };
static const fc_field cpu_config_fields[] = {
	{ .name = "kvm_capabilities", .type = FT_STRING_ARRAY },
	{ .name = "cpuid_modifiers", .type = FT_STRUCT_ARRAY, .schema = &cpuid_leaf },
	{ .name = "msr_modifiers", .type = FT_STRUCT_ARRAY, .schema = &msr_modifier },
	{ .name = "reg_modifiers", .type = FT_STRUCT_ARRAY, .schema = &reg_modifier },
	{ .name = "vcpu_features", .type = FT_STRUCT_ARRAY, .schema = &vcpu_features },
	END,
};
const fc_schema fc_schema_cpu_config = { "CustomCpuTemplate", cpu_config_fields, false };

static const fc_field balloon_start_cmd_fields[] = {
	BOOL("acknowledge_on_stop", false),
	END,
};
const fc_schema fc_schema_balloon_start_cmd = { "StartHintingCmd", balloon_start_cmd_fields, false };

static const fc_field memory_hotplug_update_fields[] = {
	UINT("requested_size_mib", true, "usize", 0),
	END,
};
const fc_schema fc_schema_memory_hotplug_update = { "MemoryHotplugSizeUpdate", memory_hotplug_update_fields, false };

static const char *const action_types[] = { "FlushMetrics", "InstanceStart", "SendCtrlAltDel", NULL };
static const fc_field action_fields[] = {
	ENUM("action_type", true, action_types),
	END,
};
const fc_schema fc_schema_action = { "ActionBody", action_fields, false };

static const char *const vm_states[] = { "Paused", "Resumed", NULL };
static const fc_field vm_state_fields[] = {
	ENUM("state", true, vm_states),
	END,
};
const fc_schema fc_schema_vm_state = { "Vm", vm_state_fields, false };

static const fc_field no_fields[] = { END };
const fc_schema fc_schema_mmds_contents = { "Value", no_fields, .any_value = true };

static const fc_field balloon_update_fields[] = {
	UINT("amount_mib", true, "u32", 0),
	END,
};
const fc_schema fc_schema_balloon_update = { "BalloonUpdateConfig", balloon_update_fields, false };

static const fc_field balloon_stats_update_fields[] = {
	UINT("stats_polling_interval_s", true, "u16", 0),
	END,
};
const fc_schema fc_schema_balloon_stats_update = { "BalloonUpdateStatsConfig", balloon_stats_update_fields, false };

static const fc_field partial_drive_fields[] = {
	STR("drive_id", true),
	STR("path_on_host", false),
	STRUCT("rate_limiter", false, rate_limiter),
	END,
};
const fc_schema fc_schema_partial_drive = { "BlockDeviceUpdateConfig", partial_drive_fields, false };

static const fc_field partial_net_iface_fields[] = {
	STR("iface_id", true),
	STRUCT("rx_rate_limiter", false, rate_limiter),
	STRUCT("tx_rate_limiter", false, rate_limiter),
	END,
};
const fc_schema fc_schema_partial_net_iface = { "NetworkInterfaceUpdateConfig", partial_net_iface_fields, false };

static const fc_field partial_pmem_fields[] = {
	STR("id", true),
	STRUCT("rate_limiter", false, rate_limiter),
	END,
};
const fc_schema fc_schema_partial_pmem = { "PartialPmem", partial_pmem_fields, false };

static const char *const snapshot_types[] = { "Full", "Diff", NULL };
static const fc_field snapshot_create_fields[] = {
	ENUM("snapshot_type", false, snapshot_types),
	STR("snapshot_path", true),
	STR("mem_file_path", true),
	END,
};
const fc_schema fc_schema_snapshot_create = { "CreateSnapshotParams", snapshot_create_fields, false };

static const char *const backend_types[] = { "File", "Uffd", NULL };
static const fc_field mem_backend_fields[] = {
	ENUM("backend_type", true, backend_types),
	STR("backend_path", true),
	END,
};
static const fc_schema mem_backend = { "MemBackendConfig", mem_backend_fields, false };
static const fc_field network_override_fields[] = {
	STR("iface_id", true),
	STR("host_dev_name", true),
	END,
};
static const fc_schema network_override = { "NetworkOverride", network_override_fields, false };
static const fc_field vsock_override_fields[] = {
	STR("uds_path", true),
	END,
};
static const fc_schema vsock_override = { "VsockOverride", vsock_override_fields, false };
static const fc_field snapshot_load_fields[] = {
	BOOL("enable_diff_snapshots", false),
	BOOL("track_dirty_pages", false),
	STR("mem_file_path", false),
	STRUCT("mem_backend", false, mem_backend),
	STR("snapshot_path", true),
	BOOL("resume_vm", false),
	{ .name = "network_overrides", .type = FT_STRUCT_ARRAY, .schema = &network_override },
	STRUCT("vsock_override", false, vsock_override),
	BOOL("clock_realtime", false),
	END,
};
const fc_schema fc_schema_snapshot_load = { "LoadSnapshotConfig", snapshot_load_fields, false };

/* ---- the checker ---- */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *s = NULL;
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* "path: message", or just the message at the top level. Frees msg. */
static char *at_path(const char *path, char *msg)
{
	if (!path[0] || !msg)
		return msg;
	char *s = fmt("%s: %s", path, msg);
	free(msg);
	return s;
}

/* serde's description of the value it was given. */
static char *describe_unexpected(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: return fmt("string \"%s\"", json_string_value(v));
	case JSON_INTEGER: return fmt("integer `%lld`", (long long)json_integer_value(v));
	case JSON_REAL: return fmt("floating point `%g`", json_real_value(v));
	case JSON_TRUE: return fmt("boolean `true`");
	case JSON_FALSE: return fmt("boolean `false`");
	case JSON_NULL: return fmt("null");
	case JSON_ARRAY: return fmt("sequence");
	case JSON_OBJECT: return fmt("map");
	}
	return fmt("value");
}

static char *invalid_type(const char *path, const json_t *v, const char *expected)
{
	char *u = describe_unexpected(v);
	char *m = fmt("invalid type: %s, expected %s", u ? u : "value", expected);
	free(u);
	return at_path(path, m);
}

/* serde's list of alternatives: "`a`", "`a` or `b`", "one of `a`, `b`, `c`". */
static char *alternatives(const char *const *names, size_t n)
{
	if (n == 0)
		return fmt("there are no fields");
	if (n == 1)
		return fmt("`%s`", names[0]);
	if (n == 2)
		return fmt("`%s` or `%s`", names[0], names[1]);
	size_t len = strlen("one of ") + 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(names[i]) + 4;
	char *s = malloc(len);
	if (!s)
		return NULL;
	strcpy(s, "one of ");
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(s, ", ");
		strcat(s, "`");
		strcat(s, names[i]);
		strcat(s, "`");
	}
	return s;
}

static unsigned long long rust_int_max(const char *t)
{
	if (!strcmp(t, "u8")) return UINT8_MAX;
	if (!strcmp(t, "u16")) return UINT16_MAX;
	if (!strcmp(t, "u32")) return UINT32_MAX;
	return UINT64_MAX;
}

static char *check_struct(const fc_schema *s, const json_t *v, const char *path);

static char *child_path(const char *path, const char *name)
{
	return path[0] ? fmt("%s.%s", path, name) : fmt("%s", name);
}

static char *check_field(const fc_field *f, const json_t *v, const char *path)
{
	/* Optional fields are Option<T>: null means None. */
	if (json_is_null(v) && !f->required)
		return NULL;
	switch (f->type) {
	case FT_STRING:
		return json_is_string(v) ? NULL : invalid_type(path, v, "a string");
	case FT_BOOL:
		return json_is_boolean(v) ? NULL : invalid_type(path, v, "a boolean");
	case FT_UINT: {
		if (!json_is_integer(v))
			return invalid_type(path, v, f->rust_int);
		long long n = json_integer_value(v);
		bool i32 = !strcmp(f->rust_int, "i32");
		unsigned long long max = i32 ? INT32_MAX : rust_int_max(f->rust_int);
		if (n < (i32 ? INT32_MIN : 0) || (n > 0 && (unsigned long long)n > max))
			return at_path(path, fmt("invalid value: integer `%lld`, expected %s", n, f->rust_int));
		if (f->minimum && n < f->minimum)
			return at_path(path, fmt("invalid value: integer `%lld`, expected a value of at least %lld",
						 n, f->minimum));
		return NULL;
	}
	case FT_ENUM: {
		if (!json_is_string(v))
			return invalid_type(path, v, "a string");
		const char *s = json_string_value(v);
		size_t n = 0;
		for (; f->variants[n]; n++)
			if (f->case_insensitive ? !strcasecmp(s, f->variants[n]) : !strcmp(s, f->variants[n]))
				return NULL;
		char *alt = alternatives(f->variants, n);
		char *m = fmt("unknown variant `%s`, expected %s", s, alt ? alt : "?");
		free(alt);
		return at_path(path, m);
	}
	case FT_STRUCT:
		return check_struct(f->schema, v, path);
	case FT_STRUCT_ARRAY: {
		if (!json_is_array(v))
			return invalid_type(path, v, "a sequence");
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item) {
			char *p = fmt("%s[%zu]", path, i);
			char *m = check_struct(f->schema, item, p ? p : path);
			free(p);
			if (m)
				return m;
		}
		return NULL;
	}
	case FT_STRING_ARRAY: {
		if (!json_is_array(v))
			return invalid_type(path, v, "a sequence");
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item) {
			if (!json_is_string(item)) {
				char *p = fmt("%s[%zu]", path, i);
				char *m = invalid_type(p ? p : path, item, "a string");
				free(p);
				return m;
			}
		}
		return NULL;
	}
	}
	return NULL;
}

static char *check_struct(const fc_schema *s, const json_t *v, const char *path)
{
	if (!json_is_object(v)) {
		char *exp = fmt("struct %s", s->name);
		char *m = invalid_type(path, v, exp ? exp : s->name);
		free(exp);
		return m;
	}
	size_t n_fields = 0;
	while (s->fields[n_fields].name)
		n_fields++;

	/* Fields in the order they appear, as serde visits them. */
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)v, key, value) {
		const fc_field *f = NULL;
		for (size_t i = 0; i < n_fields; i++)
			if (!strcmp(s->fields[i].name, key))
				f = &s->fields[i];
		if (!f) {
			const char **names = calloc(n_fields + 1, sizeof(*names));
			if (!names)
				return NULL;
			for (size_t i = 0; i < n_fields; i++)
				names[i] = s->fields[i].name;
			char *alt = alternatives(names, n_fields);
			free(names);
			char *m = fmt("unknown field `%s`, expected %s", key, alt ? alt : "?");
			free(alt);
			return at_path(path, m);
		}
		char *p = child_path(path, key);
		char *err = check_field(f, value, p ? p : key);
		free(p);
		if (err)
			return err;
	}
	for (size_t i = 0; i < n_fields; i++)
		if (s->fields[i].required && !json_object_get(v, s->fields[i].name))
			return at_path(path, fmt("missing field `%s`", s->fields[i].name));
	return NULL;
}

char *fc_schema_check(const fc_schema *s, const json_t *body)
{
	if (s->any_value)
		return NULL;
	return check_struct(s, body, "");
}
