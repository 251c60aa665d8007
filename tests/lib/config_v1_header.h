/* The VM config of smartvm/config.h version 1, as a program built against
 * that header sees it (the structs copied as they were, renamed old_*): the
 * tests of sv_vm_config's ABI pass configs in this layout and read the
 * library's answers through it. Never edit: it is the old header. */
#ifndef SVTEST_CONFIG_V1_HEADER_H
#define SVTEST_CONFIG_V1_HEADER_H

#include <smartvm/config.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- smartvm/config.h, version 1 ---- */
typedef struct {
	uint32_t vcpu_count;
	uint32_t mem_size_mib;
	bool smt;
	const char *cpu_template;
	bool track_dirty_pages;
} old_machine_config;

typedef struct {
	const char *iface_id;
	const char *host_dev_name;
	const char *guest_mac;
	const sv_rate_limiter *rx_rate_limiter;
	const sv_rate_limiter *tx_rate_limiter;
} old_net_iface_config;

typedef struct {
	uint32_t amount_mib;
	bool deflate_on_oom;
	uint32_t stats_polling_interval_s;
} old_balloon_config;

typedef struct {
	sv_mmds_version version;
	const char *const *network_interfaces;
	size_t n_network_interfaces;
	const char *ipv4_address;
} old_mmds_config;

typedef struct {
	const char *log_path;
	sv_log_level level;
	bool show_level;
	bool show_log_origin;
} old_logger_config;

typedef struct {
	unsigned int version;
	const char *id;
	const char *base_image;
	sv_boot_source boot_source;
	old_machine_config machine_config;
	const sv_drive_config *drives;
	size_t n_drives;
	const old_net_iface_config *network_interfaces;
	size_t n_network_interfaces;
	const sv_vsock_config *vsock;
	const old_balloon_config *balloon;
	const old_mmds_config *mmds;
	const old_logger_config *logger;
	const sv_metrics_config *metrics;
	const sv_entropy_config *entropy;
	const sv_vm_net_options *net;
} old_vm_config;
/* ---- end of the version 1 header ---- */

#endif
