/* Firecracker JSON for each config section, shared by the --config-file
 * writer (config_json_write.c) and the Firecracker API client, which PUTs the
 * very same objects. Field names are exactly those of
 * firecracker-api-v1.16.1.yaml. Each returns a new reference (NULL on OOM);
 * optional fields that are unset are omitted. */
#ifndef SV_CONFIG_CONFIG_JSON_H
#define SV_CONFIG_CONFIG_JSON_H

#include <jansson.h>
#include <smartvm/config.h>

json_t *sv_json_rate_limiter(const sv_rate_limiter *rl);
json_t *sv_json_boot_source(const sv_boot_source *bs);
json_t *sv_json_machine_config(const sv_machine_config *mc);
json_t *sv_json_drive(const sv_drive_config *d);
json_t *sv_json_net_iface(const sv_net_iface_config *n);
json_t *sv_json_vsock(const sv_vsock_config *v);
json_t *sv_json_balloon(const sv_balloon_config *b);
json_t *sv_json_mmds_config(const sv_mmds_config *m);
json_t *sv_json_logger(const sv_logger_config *l);
json_t *sv_json_metrics(const sv_metrics_config *m);
json_t *sv_json_entropy(const sv_entropy_config *e);

#endif
