/* One microVM (the seed's MicroVM): its state machine and lifecycle.
 *
 * States: created -> configuring -> running <-> paused -> stopped, and error
 * from anywhere a step fails or the VMM dies. A call not allowed in the current
 * state fails with SV_EINVALID_STATE and a message naming the state and the
 * allowed ones. VMs are owned by their sv_manager.
 */
#ifndef SMARTVM_VM_H
#define SMARTVM_VM_H

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

/* "created", "configuring", "running", "paused", "stopped", "error". */
const char *sv_vm_state_name(sv_vm_state state);

const char *sv_vm_id(const sv_vm *vm);

/* The current state. For a VM whose VMM died since the last call, this notices,
 * records "error" (or "stopped" after a requested stop) and cleans up. */
sv_vm_state sv_vm_get_state(sv_vm *vm);

/* The VM's config as it was given (not staged). Owned by the VM. */
const sv_vm_config *sv_vm_config_get(const sv_vm *vm);

/* <runtime_dir>/<id>, and the console log in it. Owned by the VM. */
const char *sv_vm_dir(const sv_vm *vm);
const char *sv_vm_console_path(const sv_vm *vm);

/* The VMM's pid (0 when not running). */
pid_t sv_vm_pid(const sv_vm *vm);

/* Validates the config, creates the VM directory, stages drives, sets up
 * networking, launches the VMM under its supervisor, configures every section
 * and boots. created -> configuring -> running. On any failure everything
 * created so far is removed and the state is error. */
int sv_vm_start(sv_vm *vm);

/* running -> paused, paused -> running. The VMM's own state is asked first
 * (it wins over state.json), and state.json is written before the VMM is
 * asked (a full runtime directory refuses the call and changes nothing).
 * Waits for another live operation on the VM (at most api_timeout_ms, else
 * SV_EBUSY). */
int sv_vm_pause(sv_vm *vm);
int sv_vm_resume(sv_vm *vm);

/* Graceful stop: asks the guest to shut down (SendCtrlAltDel / powerdown),
 * waits timeout_ms (< 0 = manager default), then SIGTERM, then SIGKILL.
 * A paused VM is resumed first (if that fails, it gets the signals at once).
 * Cleans up. running|paused -> stopped. */
int sv_vm_stop(sv_vm *vm, int timeout_ms);

/* SIGKILL the VMM at once, then clean up. running|paused|configuring -> stopped. */
int sv_vm_kill(sv_vm *vm);

/* Leave the VM running when this process exits or the manager is freed: its
 * supervisor keeps watching the VMM and cleans up when it exits. */
int sv_vm_detach(sv_vm *vm);

/* Waits until the VMM exits (timeout_ms < 0 = forever). SV_ETIMEOUT if it
 * doesn't. Afterwards the state is stopped or error and all is cleaned up. */
int sv_vm_wait(sv_vm *vm, int timeout_ms);

/* Releases a VM and removes it from its manager's registry (a long-lived
 * orchestrator frees the VMs it is done with). A live VM this process owns
 * is stopped and cleaned up first; a detached one keeps running. NULL is
 * fine. */
void sv_vm_free(sv_vm *vm);

/* The VMM's instance information (GET /) and running configuration
 * (GET /vm/config) as JSON text; *out is malloc'd. running|paused only. */
int sv_vm_instance_info(sv_vm *vm, char **out);
int sv_vm_running_config(sv_vm *vm, char **out);

/* Everything known about the VM as JSON text (*out malloc'd): id, state, pid,
 * dir, console, vmm, base_image, config (Firecracker format), network (one
 * object per interface: iface_id, tap_name, guest_ip, gateway_ip,
 * subnet_mask, mac). Works in every state, also for attached VMs. */
int sv_vm_describe(sv_vm *vm, char **out);

/* The host side of each network interface, in config order (the seed's
 * ITapDevice). Valid from start until cleanup; owned by the VM. */
int sv_vm_tap_devices(const sv_vm *vm, const sv_tap_device **taps, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
