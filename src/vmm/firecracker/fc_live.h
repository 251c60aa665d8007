/* Firecracker's live operations (fc_live.c): snapshots, MMDS data, balloon,
 * PATCH of drives and interfaces, metrics flush. Wired into
 * sv_vmm_firecracker_ops by fc_backend.c. */
#ifndef SV_VMM_FC_LIVE_H
#define SV_VMM_FC_LIVE_H

#include "vmm/vmm.h"

int sv_fc_version(sv_vmm *vmm, char **version_out);
int sv_fc_snapshot_create(sv_vmm *vmm, const sv_vmm_snapshot_create *params);
int sv_fc_snapshot_load(sv_vmm *vmm, const sv_vmm_snapshot_load *params);
int sv_fc_mmds_put(sv_vmm *vmm, const char *json);
int sv_fc_mmds_patch(sv_vmm *vmm, const char *json);
int sv_fc_mmds_get(sv_vmm *vmm, char **json_out);
int sv_fc_balloon_set(sv_vmm *vmm, uint32_t amount_mib);
int sv_fc_balloon_stats_interval(sv_vmm *vmm, uint32_t seconds);
int sv_fc_balloon_stats(sv_vmm *vmm, char **json_out);
int sv_fc_balloon_hinting_start(sv_vmm *vmm, bool acknowledge_on_stop);
int sv_fc_balloon_hinting_stop(sv_vmm *vmm);
int sv_fc_balloon_hinting_status(sv_vmm *vmm, char **json_out);
int sv_fc_memory_hotplug_set(sv_vmm *vmm, uint32_t requested_size_mib);
int sv_fc_memory_hotplug_status(sv_vmm *vmm, char **json_out);
int sv_fc_drive_update(sv_vmm *vmm, const char *drive_id, const char *path, const sv_rate_limiter *rl);
int sv_fc_iface_update(sv_vmm *vmm, const char *iface_id, const sv_rate_limiter *rx, const sv_rate_limiter *tx);
int sv_fc_pmem_update(sv_vmm *vmm, const char *pmem_id, const sv_rate_limiter *rl);
int sv_fc_flush_metrics(sv_vmm *vmm);

#endif
