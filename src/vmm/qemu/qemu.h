/* The QEMU microvm backend beyond the common VMM interface (vmm.h): choosing
 * the accelerator, restoring from a snapshot, snapshotting to a file.
 *
 * Snapshots are QEMU migration streams written to a regular file. QEMU 7.2
 * has no "file:" migration URI and "exec:" would run a shell, so the file is
 * opened here and handed to QEMU over the QMP socket (getfd, SCM_RIGHTS), then
 * migrated with the "fd:" URI. A snapshot holds CPU, device and memory state,
 * not the drives: a restore launches the same staged config (same drive files)
 * with sv_qemu_build_argv_incoming(), connects, and calls sv_qemu_restore().
 */
#ifndef SV_VMM_QEMU_QEMU_H
#define SV_VMM_QEMU_QEMU_H

#include "vmm/vmm.h"

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

/* build_argv plus "-incoming defer": QEMU starts, waits for sv_qemu_restore,
 * and stays paused afterwards until resume (cont). */
int sv_qemu_build_argv_incoming(const sv_vmm_launch *launch, char ***argv_out);

/* Writes the paused VM's state to state_path (mode 0600; complete or absent),
 * waiting at most timeout_ms for the migration. The VM must be paused
 * (SV_EINVALID_STATE otherwise); it stays paused afterwards and can be
 * resumed. vmm must come from sv_vmm_qemu_ops.connect. */
int sv_qemu_snapshot(sv_vmm *vmm, const char *state_path, int timeout_ms);

/* Loads state_path into a QEMU started with sv_qemu_build_argv_incoming,
 * waiting at most timeout_ms. The VM is paused afterwards; resume() runs it. */
int sv_qemu_restore(sv_vmm *vmm, const char *state_path, int timeout_ms);

/* Asks QEMU itself to exit now ("quit"), without involving the guest: the
 * step after request_shutdown when the guest did not power off in time. The
 * VM layer still reaps the process. */
int sv_qemu_quit(sv_vmm *vmm);

/* The raw run state QEMU reports ("running", "paused", "prelaunch",
 * "inmigrate", "postmigrate", "shutdown", ...), malloc'd. */
int sv_qemu_status(sv_vmm *vmm, char **status_out);

#endif
