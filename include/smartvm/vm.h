/** @file
 * One microVM: its state machine and lifecycle.
 *
 * States: created -> configuring -> running <-> paused -> stopped, and error
 * from anywhere a step fails or the VMM dies. A call not allowed in the current
 * state fails with SV_EINVALID_STATE and a message naming the state and the
 * allowed ones. VMs are owned by their sv_manager.
 *
 * Thread safety: a VM is used by one thread at a time, together with its
 * manager (smartvm/manager.h). Another process may act on the same VM (stop
 * it, snapshot it): live operations take turns through a lock in the VM's
 * directory.
 */
#ifndef SMARTVM_VM_H
#define SMARTVM_VM_H

#include <smartvm/common.h>
#include <smartvm/config.h>
#include <smartvm/manager.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
	SV_VM_CREATED = 0,
	SV_VM_CONFIGURING,
	SV_VM_RUNNING,
	SV_VM_PAUSED,
	SV_VM_STOPPED,
	SV_VM_ERROR,
} sv_vm_state;

/** "created", "configuring", "running", "paused", "stopped", "error". */
SV_EXTERN const char *sv_vm_state_name(sv_vm_state state);

SV_EXTERN const char *sv_vm_id(const sv_vm *vm);

/** The current state. For a VM whose VMM died since the last call, this notices,
 * records "error" (or "stopped" after a requested stop) and cleans up. */
SV_EXTERN sv_vm_state sv_vm_get_state(sv_vm *vm);

/** A copy of the VM's config as it was given (not staged), in the layout of
 * `version` (pass SV_VM_CONFIG_VERSION); free it with sv_vm_config_free. A
 * field that version does not have must be unset (SV_EINVAL naming it). */
SV_EXTERN int sv_vm_config_get(sv_vm_config **out, const sv_vm *vm, unsigned int version);

/** `<runtime_dir>/<id>`, and the console log in it. Owned by the VM. */
SV_EXTERN const char *sv_vm_dir(const sv_vm *vm);
SV_EXTERN const char *sv_vm_console_path(const sv_vm *vm);

/** The VMM's pid (0 when not running). */
SV_EXTERN pid_t sv_vm_pid(const sv_vm *vm);

/** Validates the config, creates the VM directory, stages drives, sets up
 * networking, launches the VMM under its supervisor, configures every section
 * and boots. created -> configuring -> running. On any failure everything
 * created so far is removed and the state is error. */
SV_EXTERN int sv_vm_start(sv_vm *vm);

/** running -> paused, paused -> running. The VMM's own state is asked first
 * (it wins over state.json), and state.json is written before the VMM is
 * asked (a full runtime directory refuses the call and changes nothing).
 * Waits for another live operation on the VM (at most api_timeout_ms, else
 * SV_EBUSY). */
SV_EXTERN int sv_vm_pause(sv_vm *vm);
SV_EXTERN int sv_vm_resume(sv_vm *vm);

/** Graceful stop: asks the guest to shut down (SendCtrlAltDel / powerdown),
 * waits timeout_ms (< 0 = manager default), then SIGTERM, then SIGKILL.
 * A paused VM is resumed first (if that fails, it gets the signals at once).
 * Cleans up. running|paused -> stopped. */
SV_EXTERN int sv_vm_stop(sv_vm *vm, int timeout_ms);

/** SIGKILL the VMM at once, then clean up. running|paused|configuring|error
 * -> stopped (sv_vm_stop also works in error: it goes straight to signals).
 * A VM another process is still configuring is ended too: that process's
 * sv_vm_start fails with SV_EPROCESS and cleans up, and this call returns
 * once it has. */
SV_EXTERN int sv_vm_kill(sv_vm *vm);

/** Leave the VM running when this process exits or the manager is freed: its
 * supervisor keeps watching the VMM and cleans up when it exits, keeping an
 * end record (exit status, end time, command; its console log and config)
 * in the VM's directory until sv_vm_remove, as `docker run -d` does. */
SV_EXTERN int sv_vm_detach(sv_vm *vm);

/** Waits until the VMM exits (timeout_ms < 0 = forever). SV_ETIMEOUT if it
 * doesn't. Afterwards the state is stopped or error and all is cleaned up
 * (but for the end record of a detached VM: sv_vm_remove). Works for VMs
 * other processes started too: they end when their directory's lock is
 * free. */
SV_EXTERN int sv_vm_wait(sv_vm *vm, int timeout_ms);

/** sv_vm_remove flag: kill a live VM (any state but created) first. */
#define SV_VM_REMOVE_FORCE 1u

/** Removes what is left of a VM that has ended: a VM that ended detached
 * keeps a record of how it ended (its exit status, end time and command:
 * "ended" in sv_vm_describe, `smartvm ps -a`) with its console log in its
 * directory until this call, which also undoes anything a dead VM left
 * behind (smartvm gc keeps end records). A live VM (its directory's lock is
 * held) is refused with SV_EINVALID_STATE naming its state, unless flags has
 * SV_VM_REMOVE_FORCE: then it is killed first (sv_vm_kill), also when stuck
 * in configuring or error. Never touches a new VM that took the id after the
 * old one's directory went. */
SV_EXTERN int sv_vm_remove(sv_vm *vm, unsigned flags);

/** Releases a VM and removes it from its manager's registry (a long-lived
 * orchestrator frees the VMs it is done with). A live VM this process owns
 * is stopped and cleaned up first; a detached one keeps running. NULL is
 * fine. */
SV_EXTERN void sv_vm_free(sv_vm *vm);

/** The VMM's instance information (GET /) and running configuration
 * (GET /vm/config) as JSON text; *out is malloc'd. running|paused only. */
SV_EXTERN int sv_vm_instance_info(sv_vm *vm, char **out);
SV_EXTERN int sv_vm_running_config(sv_vm *vm, char **out);

/** Everything known about the VM as JSON text (*out malloc'd): id, state, pid,
 * dir, console, vmm, base_image, config (Firecracker format), network (one
 * object per interface: iface_id, tap_name, guest_ip, gateway_ip,
 * subnet_mask, mac), end_reason once it ended, and for a VM that ended
 * detached "ended": {id, status ("exited" | "unknown"), exit_code (null
 * when unknown), signal ("SIGKILL" | null), ended_at, vmm, command (argv |
 * null), reason, command_finished}. Works in every state, also for attached
 * VMs. */
SV_EXTERN int sv_vm_describe(sv_vm *vm, char **out);

/** The host side of network interface `index` (config order); NULL past the
 * last one, or before start and after cleanup. Owned by the VM, valid until
 * cleanup. One at a time, so sv_tap_device may grow at its end. */
SV_EXTERN const sv_tap_device *sv_vm_tap_device(const sv_vm *vm, size_t index);

#ifdef __cplusplus
}
#endif
#endif
