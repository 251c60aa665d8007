/* Shared between the QEMU backend's files; not for other modules. */
#ifndef SV_VMM_QEMU_INTERNAL_H
#define SV_VMM_QEMU_INTERNAL_H

#include "util/strv.h"
#include "vmm/qemu/qmp.h"
#include "vmm/vmm.h"
#include <stdbool.h>
#include <stdint.h>

/* The balloon device's QOM path (its -device id is balloon0). */
#define SV_QEMU_BALLOON_PATH "/machine/peripheral/balloon0"

/* The connection behind an sv_vmm from sv_vmm_qemu_ops. */
typedef struct {
	sv_vmm base;
	sv_qmp *qmp;
	int api_timeout_ms;
	char *config_json; /* the staged config configure() was given, Firecracker format */
	/* The balloon's last target set on this connection, in Firecracker's
	 * terms (MiB the balloon takes); QEMU itself cannot be asked for it. */
	bool balloon_target_known;
	uint32_t balloon_target_mib;
} sv_qemu_vmm;

/* The QEMU argument vector for launch; with launch->incoming, QEMU waits for
 * a migration stream ("-incoming defer"). The build_argv op. */
int sv_qemu_argv(const sv_vmm_launch *launch, char ***argv_out);

/* Adds the guest agent's port: a virtio-serial device with one port named
 * org.smartvm.agent.0 on a unix socket chardev in the VM dir (vm_dir with
 * QEMU's commas doubled; NULL fails the builder). */
void sv_qemu_push_agent_port(sv_strv_builder *argv, const char *escaped_vm_dir);

/* The kernel command line QEMU gets for cfg under accel ("tcg"/"kvm"). malloc'd. */
int sv_qemu_kernel_cmdline(const sv_vm_config *cfg, const char *accel, char **out);

/* The QEMU backend's connection, checked (SV_EINVAL if vmm is another backend's). */
int sv_qemu_from_vmm(sv_vmm *vmm, sv_qemu_vmm **out);

/* qemu_snapshot.c: the snapshot_create and snapshot_load ops. */
int sv_qemu_snapshot_create(sv_vmm *vmm, const sv_vmm_snapshot_create *params);
int sv_qemu_snapshot_load(sv_vmm *vmm, const sv_vmm_snapshot_load *params);

/* qemu_balloon.c: the balloon ops, and the balloon section of a config
 * applied before the start (amount and statistics interval). */
int sv_qemu_balloon_configure(sv_qemu_vmm *q, const sv_vm_config *cfg);
int sv_qemu_balloon_set(sv_vmm *vmm, uint32_t amount_mib);
int sv_qemu_balloon_stats_interval(sv_vmm *vmm, uint32_t seconds);
int sv_qemu_balloon_stats(sv_vmm *vmm, char **json_out);

#endif
