/* The layout of sv_vm_config version 1, frozen: the structs as smartvm/config.h
 * declared them before Firecracker v1.16.1's fields were appended (version 2),
 * and their descriptions. The conversion walker (config_copy.c) reads an old
 * caller's config through these and writes old callers' answers with them,
 * matching fields by C name. Sections whose struct did not change since
 * (boot source, drive, rate limiter, vsock, metrics, entropy, network
 * options) are the current descriptions.
 *
 * Never edit a struct here: a released layout is what old programs were
 * compiled with. A new version copies the then-current structs into a file
 * like this one before the header changes.
 */
#include "config/config_schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint32_t vcpu_count;
	uint32_t mem_size_mib;
	bool smt;
	const char *cpu_template;
	bool track_dirty_pages;
} machine_config_v1;

typedef struct {
	const char *iface_id;
	const char *host_dev_name;
	const char *guest_mac;
	const sv_rate_limiter *rx_rate_limiter;
	const sv_rate_limiter *tx_rate_limiter;
} net_iface_v1;

typedef struct {
	uint32_t amount_mib;
	bool deflate_on_oom;
	uint32_t stats_polling_interval_s;
} balloon_v1;

typedef struct {
	sv_mmds_version version;
	const char *const *network_interfaces;
	size_t n_network_interfaces;
	const char *ipv4_address;
} mmds_v1;

typedef struct {
	const char *log_path;
	sv_log_level level;
	bool show_level;
	bool show_log_origin;
} logger_v1;

typedef struct {
	unsigned int version;
	const char *id;
	const char *base_image;
	sv_boot_source boot_source;
	machine_config_v1 machine_config;
	const sv_drive_config *drives;
	size_t n_drives;
	const net_iface_v1 *network_interfaces;
	size_t n_network_interfaces;
	const sv_vsock_config *vsock;
	const balloon_v1 *balloon;
	const mmds_v1 *mmds;
	const logger_v1 *logger;
	const sv_metrics_config *metrics;
	const sv_entropy_config *entropy;
	const sv_vm_net_options *net;
} vm_config_v1;

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SECTION(T, fields_)                                                                                  \
	{                                                                                                    \
		.size = sizeof(T), .fields = fields_, .n_fields = N(fields_)                                 \
	}
/* Only what the conversion needs: the C name, the kind, where it is. */
#define F(T, m, k, ...)                                                                                      \
	{                                                                                                    \
		.json = #m, .kind = k, .offset = offsetof(T, m), __VA_ARGS__                                 \
	}

static const sv_field machine_config_fields[] = {
    F(machine_config_v1, vcpu_count, SV_FK_U32),
    F(machine_config_v1, mem_size_mib, SV_FK_U32),
    F(machine_config_v1, smt, SV_FK_BOOL),
    F(machine_config_v1, cpu_template, SV_FK_STRING),
    F(machine_config_v1, track_dirty_pages, SV_FK_BOOL),
};
static const sv_section machine_config = SECTION(machine_config_v1, machine_config_fields);

static const sv_field net_iface_fields[] = {
    F(net_iface_v1, iface_id, SV_FK_STRING),
    F(net_iface_v1, host_dev_name, SV_FK_STRING),
    F(net_iface_v1, guest_mac, SV_FK_STRING),
    F(net_iface_v1, rx_rate_limiter, SV_FK_SECTION, .sub = &sv_cs_rate_limiter),
    F(net_iface_v1, tx_rate_limiter, SV_FK_SECTION, .sub = &sv_cs_rate_limiter),
};
static const sv_section net_iface = SECTION(net_iface_v1, net_iface_fields);

static const sv_field balloon_fields[] = {
    F(balloon_v1, amount_mib, SV_FK_U32),
    F(balloon_v1, deflate_on_oom, SV_FK_BOOL),
    F(balloon_v1, stats_polling_interval_s, SV_FK_U32),
};
static const sv_section balloon = SECTION(balloon_v1, balloon_fields);

static const sv_field mmds_fields[] = {
    F(mmds_v1, version, SV_FK_ENUM),
    F(mmds_v1, network_interfaces, SV_FK_STRV, .aux = offsetof(mmds_v1, n_network_interfaces)),
    F(mmds_v1, ipv4_address, SV_FK_STRING),
};
static const sv_section mmds = SECTION(mmds_v1, mmds_fields);

static const sv_field logger_fields[] = {
    F(logger_v1, log_path, SV_FK_STRING),
    F(logger_v1, level, SV_FK_ENUM),
    F(logger_v1, show_level, SV_FK_BOOL),
    F(logger_v1, show_log_origin, SV_FK_BOOL),
};
static const sv_section logger = SECTION(logger_v1, logger_fields);

static const sv_field vm_fields[] = {
    F(vm_config_v1, id, SV_FK_STRING),
    F(vm_config_v1, base_image, SV_FK_STRING),
    F(vm_config_v1, boot_source, SV_FK_INLINE, .sub = &sv_cs_boot_source),
    F(vm_config_v1, machine_config, SV_FK_INLINE, .sub = &machine_config),
    F(vm_config_v1, drives, SV_FK_ARRAY, .aux = offsetof(vm_config_v1, n_drives), .sub = &sv_cs_drive),
    F(vm_config_v1, network_interfaces, SV_FK_ARRAY, .aux = offsetof(vm_config_v1, n_network_interfaces),
      .sub = &net_iface),
    F(vm_config_v1, vsock, SV_FK_SECTION, .sub = &sv_cs_vsock),
    F(vm_config_v1, balloon, SV_FK_SECTION, .sub = &balloon),
    F(vm_config_v1, mmds, SV_FK_SECTION, .sub = &mmds),
    F(vm_config_v1, logger, SV_FK_SECTION, .sub = &logger),
    F(vm_config_v1, metrics, SV_FK_SECTION, .sub = &sv_cs_metrics),
    F(vm_config_v1, entropy, SV_FK_SECTION, .sub = &sv_cs_entropy),
    F(vm_config_v1, net, SV_FK_SECTION, .sub = &sv_cs_net_options),
};
const sv_section sv_cs_vm_v1 = SECTION(vm_config_v1, vm_fields);

/* The version field leads every layout: it is how the library tells them apart. */
_Static_assert(offsetof(vm_config_v1, version) == 0 && offsetof(sv_vm_config, version) == 0,
	       "sv_vm_config.version must stay the first member");
