/* Shared between the QEMU backend's files; not for other modules. */
#ifndef SV_VMM_QEMU_INTERNAL_H
#define SV_VMM_QEMU_INTERNAL_H

#include "vmm/qemu/qmp.h"
#include "vmm/vmm.h"
#include <stdbool.h>

/* The connection behind an sv_vmm from sv_vmm_qemu_ops. */
typedef struct {
	sv_vmm base;
	sv_qmp *qmp;
	char *config_json; /* the staged config configure() was given, Firecracker format */
} sv_qemu_vmm;

/* The QEMU argument vector for launch; with incoming, QEMU waits for a
 * migration stream ("-incoming defer"). */
int sv_qemu_argv(const sv_vmm_launch *launch, bool incoming, char ***argv_out);

/* The kernel command line QEMU gets for cfg under accel ("tcg"/"kvm"). malloc'd. */
int sv_qemu_kernel_cmdline(const sv_vm_config *cfg, const char *accel, char **out);

/* The QEMU backend's connection, checked (SV_EINVAL if vmm is another backend's). */
int sv_qemu_from_vmm(sv_vmm *vmm, sv_qemu_vmm **out);

#endif
