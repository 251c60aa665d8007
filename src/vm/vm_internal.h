/* The sv_vm object shared by the files of src/vm. Nothing outside src/vm (and
 * src/manager, which creates VMs) may include this. */
#ifndef SV_VM_VM_INTERNAL_H
#define SV_VM_VM_INTERNAL_H

#include "util/ledger.h"
#include "vmm/vmm.h"
#include <smartvm/smartvm.h>
#include <stdbool.h>
#include <sys/types.h>

/* Files inside a VM directory. */
#define SV_VM_CONFIG_FILE "config.json"
#define SV_VM_STATE_FILE "state.json"
#define SV_VM_LAUNCH_FILE "launch.json"
#define SV_VM_CONSOLE_FILE "console.log"
#define SV_VM_STOP_MARKER "stop-requested"
#define SV_VM_BASE_IMAGE_FILE "base-image"
#define SV_VM_DRIVES_DIR "drives"

struct sv_vm {
	sv_manager *mgr;
	char *id;
	char *dir;
	char *console_path;
	sv_vm_config *cfg;        /* as given (deep copy) */
	sv_vm_config *staged;     /* what the VMM gets: staged drives, TAPs, boot args */
	sv_vm_state state;
	const sv_vmm_ops *backend;
	sv_vmm *vmm;              /* API connection, opened lazily */

	pid_t vmm_pid;
	unsigned long long vmm_start_time;
	pid_t supervisor_pid;
	unsigned long long supervisor_start_time;
	int supervisor_pidfd;     /* -1 when unknown */
	int status_fd;            /* supervisor -> us; -1 when not our child */
	int control_fd;           /* us -> supervisor; closing it without 'D' kills the VM */
	bool own_child;           /* we spawned the supervisor and must reap it */
	bool detached;

	sv_tap_device *taps;
	size_t n_taps;
	char *end_reason;         /* how the VMM ended, from the supervisor */
	char *status_buf;         /* unparsed bytes from status_fd */
	size_t status_len;

	struct sv_vm_command *command; /* vm_command.c; NULL = no command */
	bool qemu_incoming;            /* vm_qemu_snapshot.c: boot a QEMU that waits for a snapshot */
};

/* vm.c */
int sv_vm__new(sv_vm **out, sv_manager *mgr, const sv_vm_config *cfg, const char *id);
int sv_vm__open_existing(sv_vm **out, sv_manager *mgr, const char *id);
void sv_vm__free(sv_vm *vm);
bool sv_vm__is_live(const sv_vm *vm);
bool sv_vm__is_detached(const sv_vm *vm);

/* vm_state_file.c: state.json in the VM dir (atomic). */
int sv_vm__save_state(const sv_vm *vm);
int sv_vm__load_state(sv_vm *vm);

/* vm_stage.c: private copies of drives. */
int sv_vm__stage_drives(sv_vm *vm, sv_ledger *ledger, bool ephemeral_writable);

/* vm_launch.c: supervisor + VMM process. */
/* Spawns the supervisor (handing it lock_fd), which spawns the VMM; waits
 * until the VMM's API socket exists or the VMM exits (error with its status
 * and last console lines) or socket_timeout_ms passes. */
int sv_vm__launch(sv_vm *vm, const char *binary, const char *qemu_accel, int lock_fd, int socket_timeout_ms);
/* Polls the supervisor without blocking (timeout_ms 0) or waits. Returns 1
 * when it has ended (vm->end_reason set), 0 when still running. */
int sv_vm__poll_supervisor(sv_vm *vm, int timeout_ms);
/* Stops the VMM: optional graceful request, then TERM, then KILL; waits for
 * the supervisor. */
int sv_vm__terminate(sv_vm *vm, bool graceful, int timeout_ms);

/* vm_backend.c */
int sv_vm__pick_backend(sv_vm *vm, char **binary_out, char **accel_out);
const sv_vmm_ops *sv_vm__backend_by_name(const char *name);

/* vm_command.c: the command a VM runs (smartvm/command.h). */
/* At boot, after the backend is chosen: adds smartvm.cmd= to the staged boot
 * args and opens the console for reading. No command: does nothing. */
int sv_vm__command_apply(sv_vm *vm);
void sv_vm__command_free(struct sv_vm_command *cmd);

/* vm_qemu_snapshot.c: the QEMU ops whose QEMU waits for a snapshot. */
const sv_vmm_ops *sv_vm__qemu_incoming_ops(void);

/* Replays the VM's ledger (registering undo handlers first). */
int sv_vm__cleanup_dir(const char *dir);

#endif
