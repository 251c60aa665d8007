/* Validation rules the generic ones (required, non-empty, bounds, enum
 * spellings) cannot say, as check hooks for the section tables
 * (config_sections.c). Each returns 0 or SV_EINVAL "<path>: <rule>". */
#ifndef SV_CONFIG_CONFIG_RULES_H
#define SV_CONFIG_CONFIG_RULES_H

#include "config/config_schema.h"

/* Field hooks: value points at the field (a const char * for strings). */
int sv_rule_vm_id(const char *path, const void *value, const sv_check_ctx *ctx);
int sv_rule_id_chars(const char *path, const void *value, const sv_check_ctx *ctx);
int sv_rule_regular_file(const char *path, const void *value, const sv_check_ctx *ctx);
int sv_rule_file_or_blockdev(const char *path, const void *value, const sv_check_ctx *ctx);
int sv_rule_ifname(const char *path, const void *value, const sv_check_ctx *ctx);
int sv_rule_unicast_mac(const char *path, const void *value, const sv_check_ctx *ctx);
int sv_rule_socket_dir(const char *path, const void *value, const sv_check_ctx *ctx);
int sv_rule_mmds_address(const char *path, const void *value, const sv_check_ctx *ctx);
int sv_rule_json_object(const char *path, const void *value, const sv_check_ctx *ctx);

/* Section hooks: obj points at the section's struct. */
int sv_rule_machine_config(const char *path, const void *obj, const sv_check_ctx *ctx);
int sv_rule_drive(const char *path, const void *obj, const sv_check_ctx *ctx);
int sv_rule_net_iface(const char *path, const void *obj, const sv_check_ctx *ctx);
int sv_rule_balloon(const char *path, const void *obj, const sv_check_ctx *ctx);
int sv_rule_mmds(const char *path, const void *obj, const sv_check_ctx *ctx);
int sv_rule_pmem(const char *path, const void *obj, const sv_check_ctx *ctx);
int sv_rule_memory_hotplug(const char *path, const void *obj, const sv_check_ctx *ctx);

#endif
