/* Firecracker JSON for each config section, shared by the --config-file
 * writer (config_json_write.c) and the Firecracker API client, which PUTs the
 * very same objects. Field names are exactly those of
 * firecracker-api-v1.16.1.yaml (config_sections.c). Each returns a new
 * reference (NULL on OOM); optional fields that are unset are omitted. */
#ifndef SV_CONFIG_CONFIG_JSON_H
#define SV_CONFIG_CONFIG_JSON_H

#include "config/config_schema.h"

#include <jansson.h>
#include <smartvm/config.h>

#define SV_SECTION_JSON(name, T, section) \
	static inline json_t *name(const T *obj) { return sv_config_section_json(&section, obj); }
SV_SECTION_JSON(sv_json_rate_limiter, sv_rate_limiter, sv_cs_rate_limiter)
SV_SECTION_JSON(sv_json_boot_source, sv_boot_source, sv_cs_boot_source)
SV_SECTION_JSON(sv_json_machine_config, sv_machine_config, sv_cs_machine_config)
SV_SECTION_JSON(sv_json_drive, sv_drive_config, sv_cs_drive)
SV_SECTION_JSON(sv_json_net_iface, sv_net_iface_config, sv_cs_net_iface)
SV_SECTION_JSON(sv_json_vsock, sv_vsock_config, sv_cs_vsock)
SV_SECTION_JSON(sv_json_balloon, sv_balloon_config, sv_cs_balloon)
SV_SECTION_JSON(sv_json_mmds_config, sv_mmds_config, sv_cs_mmds)
SV_SECTION_JSON(sv_json_logger, sv_logger_config, sv_cs_logger)
SV_SECTION_JSON(sv_json_metrics, sv_metrics_config, sv_cs_metrics)
SV_SECTION_JSON(sv_json_entropy, sv_entropy_config, sv_cs_entropy)
SV_SECTION_JSON(sv_json_pmem, sv_pmem_config, sv_cs_pmem)
SV_SECTION_JSON(sv_json_memory_hotplug, sv_memory_hotplug_config, sv_cs_memory_hotplug)
SV_SECTION_JSON(sv_json_serial, sv_serial_config, sv_cs_serial)
/* Every Firecracker section of a VM, none of smartvm's own: the body of
 * Firecracker's --config-file (whose "cpu-config" is a file's path, not this
 * object: callers leave a config with one to the API). */
SV_SECTION_JSON(sv_json_vm_sections, sv_vm_config, sv_cs_vm)
#undef SV_SECTION_JSON

#endif
