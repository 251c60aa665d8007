/* The VMM backend interface. The VM layer (src/vm) drives a VMM only through
 * these operations and never knows which one is behind it.
 *
 * Life of a backend: build_argv() gives the command line the supervisor
 * spawns; once <vm_dir>/<api_socket_name> exists the VM layer calls
 * connect(), then configure() (pre-boot sections) and start(). Process
 * management (waiting, signals, reaping) is the VM layer's job, not the
 * backend's.
 */
#ifndef SV_VMM_VMM_H
#define SV_VMM_VMM_H

#include <smartvm/config.h>
#include <stdbool.h>

/* Every backend's connection struct starts with this. */
typedef struct sv_vmm {
	const struct sv_vmm_ops *ops;
} sv_vmm;

typedef struct {
	const char *vm_id;
	const char *vm_dir;         /* <runtime_dir>/<id>; sockets live here */
	const char *binary;         /* firecracker or qemu-system-x86_64 path */
	const sv_vm_config *cfg;    /* staged: drive paths point at staged copies, TAP names filled in */
	const char *qemu_accel;     /* "kvm" | "tcg" (QEMU only) */
} sv_vmm_launch;

typedef struct sv_vmm_ops {
	const char *name;             /* "firecracker", "qemu" */
	const char *api_socket_name;  /* file name of the API socket inside vm_dir */
	/* The kernel command line the VMM uses when boot_args is unset; smartvm
	 * starts from it when it must add arguments (e.g. ip=) itself. */
	const char *default_boot_args;

	/* The VMM's argument vector (NULL-terminated, malloc'd; sv_strv_free). */
	int (*build_argv)(const sv_vmm_launch *launch, char ***argv_out);

	/* Connects to the API socket at socket_path. Every later call on the
	 * connection times out after api_timeout_ms. */
	int (*connect)(sv_vmm **out, const char *socket_path, int api_timeout_ms);
	void (*disconnect)(sv_vmm *vmm);

	/* Sends every configured pre-boot section of cfg (staged). */
	int (*configure)(sv_vmm *vmm, const sv_vm_config *cfg);
	int (*start)(sv_vmm *vmm);
	int (*pause)(sv_vmm *vmm);
	int (*resume)(sv_vmm *vmm);
	/* Asks the guest to power off (SendCtrlAltDel / system_powerdown). */
	int (*request_shutdown)(sv_vmm *vmm);
	/* JSON text, malloc'd. */
	int (*instance_info)(sv_vmm *vmm, char **json_out);
	int (*running_config)(sv_vmm *vmm, char **json_out);
} sv_vmm_ops;

extern const sv_vmm_ops sv_vmm_firecracker_ops;
extern const sv_vmm_ops sv_vmm_qemu_ops;

#endif
