/* Snapshots of VMs that run on the QEMU backend, at the VM level: save a
 * running guest to files and restore it into a new VM that continues from
 * there.
 *
 * This is the QEMU counterpart of the Firecracker snapshot API (live
 * operations); the two are meant to be unified behind one call. A snapshot
 * directory holds:
 *   vmstate        QEMU's migration stream: CPU, devices and guest memory
 *   config.json    the VM's config (Firecracker --config-file format) with the
 *                  boot args it booted with, its MACs, and every writable
 *                  drive pointing at the copy below
 *   drives/<id>    a copy of each writable drive as it was at the pause
 * Read-only drives are not copied: the restore uses the same files, which
 * must not have changed. A restored VM gets new host network devices and
 * leases; the guest keeps the addresses it had.
 */
#ifndef SMARTVM_QEMU_SNAPSHOT_H
#define SMARTVM_QEMU_SNAPSHOT_H

#include <smartvm/manager.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes a snapshot of vm into dir (created; must not exist). A running VM
 * is paused for it and resumed afterwards; a paused one stays paused.
 * running|paused, QEMU backend only (SV_EUNSUPPORTED otherwise). On failure
 * dir is removed. */
int sv_vm_qemu_snapshot(sv_vm *vm, const char *dir, int timeout_ms);

/* Restores the snapshot in dir into a new VM owned by mgr (id NULL =
 * generated): stages private copies of the snapshot's drives, sets up
 * networking, starts QEMU waiting for the state, loads it and resumes. The
 * manager must use the QEMU backend with the accelerator the snapshot was
 * taken under. The new VM is running; on failure nothing is left behind. */
int sv_manager_qemu_restore_vm(sv_vm **out, sv_manager *mgr, const char *dir, const char *id, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
