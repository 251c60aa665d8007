/* The QEMU microvm backend beyond the common VMM interface (vmm.h): choosing
 * the accelerator, QEMU's raw run state, and quitting QEMU.
 *
 * Snapshots go through the common interface (snapshot_create/snapshot_load,
 * see qemu_snapshot.c): the state file is QEMU's migration stream, which
 * holds the guest memory too, and a restore launches QEMU with
 * sv_vmm_launch.incoming. The balloon goes through the common ops as well
 * (qemu_balloon.c); MMDS, drive and interface updates and metrics have no
 * QEMU counterpart and are left NULL ("not supported by the qemu backend").
 */
#ifndef SV_VMM_QEMU_QEMU_H
#define SV_VMM_QEMU_QEMU_H

#include "vmm/vmm.h"

/* The unix socket in the VM dir behind the guest agent's virtio-serial
 * port (qemu_agent_port.c); QEMU listens, the supervisor connects. */
#define SV_QEMU_AGENT_PORT_SOCKET "vport.sock"

/* The kernel command line when the config sets none. */
#define SV_QEMU_DEFAULT_BOOT_ARGS "console=ttyS0 panic=-1"

/* Resolves the accelerator: "tcg" and "kvm" are taken as asked (kvm fails with
 * SV_EUNSUPPORTED if /dev/kvm can't be opened); "auto" or NULL picks kvm only
 * when /dev/kvm is usable and is not the PVM nested hypervisor (module
 * kvm_pvm, under which ordinary guest kernels hang), else tcg. *out is a
 * static string. Anything else: SV_EINVAL "qemu_accel: ...". */
int sv_qemu_pick_accel(const char *requested, const char **out);

/* The same with the host paths given (tests): sys_module_dir is where
 * kvm_pvm would appear ("/sys/module"), dev_kvm the device ("/dev/kvm"). */
int sv_qemu_pick_accel_at(const char *requested, const char *sys_module_dir, const char *dev_kvm,
			  const char **out);

/* The resolve op (vmm.h): binary as given when it contains a '/', else the
 * first executable PATH entry, made absolute; accel from sv_qemu_pick_accel.
 * Errors name the option (qemu_binary, qemu_accel). */
int sv_qemu_resolve(const char *binary, const char *accel, char **binary_out, char **accel_out);

/* Asks QEMU itself to exit now ("quit"), without involving the guest: the
 * step after request_shutdown when the guest did not power off in time. The
 * VM layer still reaps the process. */
int sv_qemu_quit(sv_vmm *vmm);

/* The raw run state QEMU reports ("running", "paused", "prelaunch",
 * "inmigrate", "postmigrate", "shutdown", ...), malloc'd. */
int sv_qemu_status(sv_vmm *vmm, char **status_out);

#endif
