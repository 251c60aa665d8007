/* Every section of a VM config, described once (see config_schema.h): the
 * JSON names are those of firecracker-api-v1.16.1.yaml, the C names those of
 * smartvm/config.h. Adding a Firecracker field is one line here (plus its
 * struct member, appended at the end of its struct) and a test.
 *
 * Writing follows the table order; unset optional fields are left out so
 * Firecracker applies its own defaults, while fields whose C default is a
 * real value (drive flags, cache type, smt, ...) are always written.
 * sv_config_path, at the end, spells the C field paths the walkers report.
 */
#include "config/config_rules.h"
#include "config/config_schema.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SECTION(T, fields_, ...) { .size = sizeof(T), .fields = fields_, .n_fields = N(fields_), __VA_ARGS__ }
/* A field whose JSON key is the C member's name. */
#define F(T, m, k, ...) { .json = #m, .kind = k, .offset = offsetof(T, m), __VA_ARGS__ }
/* One whose JSON key differs. */
#define FJ(key, T, m, k, ...) { .json = key, .c = #m, .kind = k, .offset = offsetof(T, m), __VA_ARGS__ }

enum { REQ = SV_FF_REQUIRED, NONEMPTY = SV_FF_NONEMPTY, UNSET0 = SV_FF_ZERO_UNSET, PATH = SV_FF_HOST_PATH };
#define TB_MAX INT64_MAX /* Firecracker's token buckets are int64 */

static const sv_field token_bucket_fields[] = {
	F(sv_token_bucket, size, SV_FK_U64, .min = 1, .max = TB_MAX),
	/* refill_time = 0 would divide by zero in Firecracker's refill rate */
	F(sv_token_bucket, refill_time, SV_FK_U64, .min = 1, .max = TB_MAX),
	F(sv_token_bucket, one_time_burst, SV_FK_U64, .max = TB_MAX, .flags = UNSET0),
};
static const sv_section token_bucket = SECTION(sv_token_bucket, token_bucket_fields);

static const sv_field rate_limiter_fields[] = {
	F(sv_rate_limiter, bandwidth, SV_FK_TOKEN_BUCKET, .aux = offsetof(sv_rate_limiter, has_bandwidth),
	  .sub = &token_bucket),
	F(sv_rate_limiter, ops, SV_FK_TOKEN_BUCKET, .aux = offsetof(sv_rate_limiter, has_ops), .sub = &token_bucket),
};
const sv_section sv_cs_rate_limiter = SECTION(sv_rate_limiter, rate_limiter_fields);

static const sv_field boot_source_fields[] = {
	F(sv_boot_source, kernel_image_path, SV_FK_STRING, .flags = REQ | NONEMPTY | PATH,
	  .check = sv_rule_regular_file),
	F(sv_boot_source, boot_args, SV_FK_STRING),
	F(sv_boot_source, initrd_path, SV_FK_STRING, .flags = NONEMPTY | PATH, .check = sv_rule_regular_file),
};
const sv_section sv_cs_boot_source = SECTION(sv_boot_source, boot_source_fields);

static const char *const cpu_templates[] = {"C3", "T2", "T2S", "T2CL", "T2A", "V1N1", "None", NULL};
static const char *const huge_pages[] = {"None", "2M", NULL}; /* sv_huge_pages order */
static const sv_field machine_config_fields[] = {
	F(sv_machine_config, vcpu_count, SV_FK_U32, .min = 1, .max = 32, .flags = SV_FF_RANGE_MSG),
	F(sv_machine_config, mem_size_mib, SV_FK_U32, .min = 1),
	F(sv_machine_config, smt, SV_FK_BOOL),
	F(sv_machine_config, track_dirty_pages, SV_FK_BOOL),
	F(sv_machine_config, cpu_template, SV_FK_STRING, .names = cpu_templates),
	F(sv_machine_config, huge_pages, SV_FK_ENUM, .names = huge_pages, .flags = UNSET0),
};
const sv_section sv_cs_machine_config = SECTION(sv_machine_config, machine_config_fields,
						.check = sv_rule_machine_config);

static const char *const cache_types[] = {"Unsafe", "Writeback", NULL}; /* sv_cache_type order */
static const char *const io_engines[] = {"Sync", "Async", NULL};	 /* sv_io_engine order */
static const sv_field drive_fields[] = {
	F(sv_drive_config, drive_id, SV_FK_STRING, .flags = REQ | NONEMPTY, .check = sv_rule_id_chars),
	F(sv_drive_config, path_on_host, SV_FK_STRING, .flags = REQ | NONEMPTY | PATH,
	  .check = sv_rule_file_or_blockdev),
	F(sv_drive_config, is_root_device, SV_FK_BOOL),
	F(sv_drive_config, is_read_only, SV_FK_BOOL),
	F(sv_drive_config, partuuid, SV_FK_STRING),
	F(sv_drive_config, cache_type, SV_FK_ENUM, .names = cache_types),
	F(sv_drive_config, io_engine, SV_FK_ENUM, .names = io_engines),
	F(sv_drive_config, rate_limiter, SV_FK_SECTION, .sub = &sv_cs_rate_limiter),
	F(sv_drive_config, ephemeral, SV_FK_TRISTATE, .flags = SV_FF_SMARTVM),
};
static const char *const drive_refused[] = {"socket", NULL};
const sv_section sv_cs_drive = SECTION(sv_drive_config, drive_fields, .refused = drive_refused,
				       .check = sv_rule_drive);

static const sv_field net_iface_fields[] = {
	F(sv_net_iface_config, iface_id, SV_FK_STRING, .flags = REQ | NONEMPTY, .check = sv_rule_id_chars),
	F(sv_net_iface_config, host_dev_name, SV_FK_STRING, .flags = NONEMPTY, .check = sv_rule_ifname),
	F(sv_net_iface_config, guest_mac, SV_FK_STRING, .check = sv_rule_unicast_mac),
	F(sv_net_iface_config, rx_rate_limiter, SV_FK_SECTION, .sub = &sv_cs_rate_limiter),
	F(sv_net_iface_config, tx_rate_limiter, SV_FK_SECTION, .sub = &sv_cs_rate_limiter),
	F(sv_net_iface_config, mtu, SV_FK_U32, .min = 68, .max = 65535, .flags = UNSET0 | SV_FF_RANGE_MSG),
};
const sv_section sv_cs_net_iface = SECTION(sv_net_iface_config, net_iface_fields, .check = sv_rule_net_iface);

static const sv_field vsock_fields[] = {
	F(sv_vsock_config, guest_cid, SV_FK_U32, .min = 3),
	F(sv_vsock_config, uds_path, SV_FK_STRING, .flags = REQ | NONEMPTY | PATH, .check = sv_rule_socket_dir),
	/* deprecated in Firecracker and ignored by it */
	{.json = "vsock_id", .kind = SV_FK_IGNORED},
};
const sv_section sv_cs_vsock = SECTION(sv_vsock_config, vsock_fields);

static const sv_field balloon_fields[] = {
	F(sv_balloon_config, amount_mib, SV_FK_U32),
	F(sv_balloon_config, deflate_on_oom, SV_FK_BOOL),
	/* Firecracker's is a u16 */
	F(sv_balloon_config, stats_polling_interval_s, SV_FK_U32, .max = UINT16_MAX, .flags = UNSET0),
	F(sv_balloon_config, free_page_hinting, SV_FK_BOOL, .flags = UNSET0),
	F(sv_balloon_config, free_page_reporting, SV_FK_BOOL, .flags = UNSET0),
};
const sv_section sv_cs_balloon = SECTION(sv_balloon_config, balloon_fields, .check = sv_rule_balloon);

static const char *const mmds_versions[] = {"V1", "V2", NULL}; /* sv_mmds_version order */
static const sv_field mmds_fields[] = {
	F(sv_mmds_config, version, SV_FK_ENUM, .names = mmds_versions),
	F(sv_mmds_config, network_interfaces, SV_FK_STRV, .aux = offsetof(sv_mmds_config, n_network_interfaces)),
	F(sv_mmds_config, ipv4_address, SV_FK_STRING, .check = sv_rule_mmds_address),
	F(sv_mmds_config, imds_compat, SV_FK_BOOL, .flags = UNSET0),
};
const sv_section sv_cs_mmds = SECTION(sv_mmds_config, mmds_fields, .check = sv_rule_mmds);

/* Value 0 of sv_log_level is UNSET, which has no spelling (and is not written). */
static const char *const log_levels[] = {"Error", "Warning", "Info", "Debug", "Trace", "Off", NULL};
static const sv_field logger_fields[] = {
	F(sv_logger_config, log_path, SV_FK_STRING, .flags = REQ | NONEMPTY | PATH),
	F(sv_logger_config, level, SV_FK_ENUM, .names = log_levels, .enum_base = 1, .flags = SV_FF_FOLD_CASE),
	F(sv_logger_config, show_level, SV_FK_BOOL),
	F(sv_logger_config, show_log_origin, SV_FK_BOOL),
	F(sv_logger_config, module, SV_FK_STRING, .flags = NONEMPTY),
};
const sv_section sv_cs_logger = SECTION(sv_logger_config, logger_fields);

static const sv_field metrics_fields[] = {
	F(sv_metrics_config, metrics_path, SV_FK_STRING, .flags = REQ | NONEMPTY | PATH),
};
const sv_section sv_cs_metrics = SECTION(sv_metrics_config, metrics_fields);

static const sv_field entropy_fields[] = {
	F(sv_entropy_config, rate_limiter, SV_FK_SECTION, .sub = &sv_cs_rate_limiter),
};
const sv_section sv_cs_entropy = SECTION(sv_entropy_config, entropy_fields);

static const sv_field pmem_fields[] = {
	F(sv_pmem_config, id, SV_FK_STRING, .flags = REQ | NONEMPTY, .check = sv_rule_id_chars),
	F(sv_pmem_config, path_on_host, SV_FK_STRING, .flags = REQ | NONEMPTY | PATH, .check = sv_rule_regular_file),
	F(sv_pmem_config, root_device, SV_FK_BOOL),
	F(sv_pmem_config, read_only, SV_FK_BOOL),
	F(sv_pmem_config, rate_limiter, SV_FK_SECTION, .sub = &sv_cs_rate_limiter),
};
const sv_section sv_cs_pmem = SECTION(sv_pmem_config, pmem_fields, .check = sv_rule_pmem);

static const sv_field memory_hotplug_fields[] = {
	F(sv_memory_hotplug_config, total_size_mib, SV_FK_U32, .min = 1),
	F(sv_memory_hotplug_config, slot_size_mib, SV_FK_U32, .min = 128, .flags = UNSET0),
	F(sv_memory_hotplug_config, block_size_mib, SV_FK_U32, .min = 2, .flags = UNSET0),
};
const sv_section sv_cs_memory_hotplug = SECTION(sv_memory_hotplug_config, memory_hotplug_fields,
						.check = sv_rule_memory_hotplug);

static const sv_field serial_fields[] = {
	F(sv_serial_config, serial_out_path, SV_FK_STRING, .flags = NONEMPTY | PATH),
	F(sv_serial_config, rate_limiter, SV_FK_TOKEN_BUCKET, .aux = offsetof(sv_serial_config, has_rate_limiter),
	  .sub = &token_bucket),
};
const sv_section sv_cs_serial = SECTION(sv_serial_config, serial_fields);

/* smartvm's own: "smartvm": {"network": {...}}; validated by the network
 * layer (sv_net_check_vm_options). */
static const sv_field net_options_fields[] = {
	FJ("wireguard", sv_vm_net_options, wireguard_config, SV_FK_STRING, .flags = PATH),
	FJ("netns", sv_vm_net_options, netns_path, SV_FK_STRING, .flags = PATH),
	F(sv_vm_net_options, existing_taps, SV_FK_BOOL, .flags = UNSET0),
	F(sv_vm_net_options, allow_vm_to_vm, SV_FK_BOOL, .flags = UNSET0),
	F(sv_vm_net_options, allow_host_dns, SV_FK_BOOL, .flags = UNSET0),
	F(sv_vm_net_options, publish, SV_FK_STRV, .aux = offsetof(sv_vm_net_options, n_publish), .flags = UNSET0),
	F(sv_vm_net_options, join_dev, SV_FK_STRING),
};
const sv_section sv_cs_net_options = SECTION(sv_vm_net_options, net_options_fields,
					     .version_offset = offsetof(sv_vm_net_options, version),
					     .version = SV_VM_NET_OPTIONS_VERSION,
					     .v1_size = offsetof(sv_vm_net_options, join_dev));

/* The whole VM, in the order its sections are read, checked and written. */
static const sv_field vm_fields[] = {
	F(sv_vm_config, id, SV_FK_STRING, .flags = SV_FF_SMARTVM, .check = sv_rule_vm_id),
	F(sv_vm_config, base_image, SV_FK_STRING, .flags = SV_FF_SMARTVM),
	FJ("boot-source", sv_vm_config, boot_source, SV_FK_INLINE, .sub = &sv_cs_boot_source),
	FJ("machine-config", sv_vm_config, machine_config, SV_FK_INLINE, .sub = &sv_cs_machine_config),
	FJ("cpu-config", sv_vm_config, cpu_config, SV_FK_JSON, .check = sv_rule_json_object),
	FJ("drives", sv_vm_config, drives, SV_FK_ARRAY, .aux = offsetof(sv_vm_config, n_drives),
	   .sub = &sv_cs_drive),
	F(sv_vm_config, pmem, SV_FK_ARRAY, .aux = offsetof(sv_vm_config, n_pmem), .sub = &sv_cs_pmem, .flags = UNSET0),
	FJ("network-interfaces", sv_vm_config, network_interfaces, SV_FK_ARRAY,
	   .aux = offsetof(sv_vm_config, n_network_interfaces), .sub = &sv_cs_net_iface),
	F(sv_vm_config, vsock, SV_FK_SECTION, .sub = &sv_cs_vsock),
	F(sv_vm_config, balloon, SV_FK_SECTION, .sub = &sv_cs_balloon),
	FJ("mmds-config", sv_vm_config, mmds, SV_FK_SECTION, .sub = &sv_cs_mmds),
	F(sv_vm_config, logger, SV_FK_SECTION, .sub = &sv_cs_logger),
	F(sv_vm_config, metrics, SV_FK_SECTION, .sub = &sv_cs_metrics),
	F(sv_vm_config, entropy, SV_FK_SECTION, .sub = &sv_cs_entropy),
	FJ("memory-hotplug", sv_vm_config, memory_hotplug, SV_FK_SECTION, .sub = &sv_cs_memory_hotplug),
	/* PUT /serial has no key in Firecracker's --config-file (nor in GET
	 * /vm/config): a file carries it as "smartvm": {"serial": {...}}. */
	F(sv_vm_config, serial, SV_FK_SECTION, .sub = &sv_cs_serial, .flags = SV_FF_SMARTVM),
	F(sv_vm_config, net, SV_FK_SECTION, .sub = &sv_cs_net_options, .flags = SV_FF_SMARTVM),
};
const sv_section sv_cs_vm = SECTION(sv_vm_config, vm_fields);

/* Appends src at *len, as much as fits; false when it did not all fit. */
static bool path_append(char *dst, size_t *len, const char *src)
{
	size_t n = strlen(src), room = SV_CONFIG_PATH_LEN - 1 - *len;
	bool fits = n <= room;
	memcpy(dst + *len, src, fits ? n : room);
	*len += fits ? n : room;
	return fits;
}

/* Every walk (validate, copy, convert, paths) spells the path of every field
 * it visits, error or not: plain copies, since snprintf here cost more than
 * the walks' own work (a fifth of a VM start's instructions). */
void sv_config_path(char dst[SV_CONFIG_PATH_LEN], const char *path, const char *name, size_t index)
{
	char brackets[24], *p = brackets + sizeof(brackets);
	if (!name) {
		*--p = '\0';
		*--p = ']';
		do
			*--p = (char)('0' + index % 10);
		while ((index /= 10) > 0);
		*--p = '[';
	}
	size_t len = 0;
	bool fits = path_append(dst, &len, path) &&
		    (name ? path_append(dst, &len, *path ? "." : "") && path_append(dst, &len, name)
			  : path_append(dst, &len, p));
	dst[len] = '\0';
	if (!fits)
		memcpy(dst + SV_CONFIG_PATH_LEN - 4, "...", 4);
}
