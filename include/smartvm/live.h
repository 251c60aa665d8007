/** @file
 * Live operations on a VM: snapshots, restore and clones, the MMDS data
 * store, the balloon, hot updates of drives and network interfaces, metrics.
 *
 * Every call answers SV_EUNSUPPORTED ("`<operation>`: not supported by the
 * `<name>` backend") when the VM's backend cannot do it, and
 * SV_EINVALID_STATE (naming the state and the allowed ones) when the VM is
 * not in a state the call accepts. Unless stated otherwise a call needs the
 * VM running or paused.
 *
 * Both backends: snapshots, restores, clones and the balloon are the same
 * calls on Firecracker and QEMU. The QEMU backend has no MMDS, hot drive or
 * interface updates, metrics or Uffd: those answer "...: not supported by
 * the qemu backend".
 *
 * Thread safety: as for smartvm/vm.h, a VM is used by one thread at a time
 * with its manager; live operations on one VM from several processes take
 * turns (each waits at most the manager's api_timeout_ms, else SV_EBUSY).
 */
#ifndef SMARTVM_LIVE_H
#define SMARTVM_LIVE_H

#include <smartvm/common.h>
#include <smartvm/config.h>
#include <smartvm/manager.h>
#include <smartvm/vm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- snapshots ---- */

typedef enum { SV_SNAPSHOT_FULL = 0, SV_SNAPSHOT_DIFF = 1 } sv_snapshot_type;

typedef struct {
	unsigned int version; /**< SV_SNAPSHOT_CREATE_OPTIONS_VERSION */
	sv_snapshot_type type;  /**< Diff needs machine_config.track_dirty_pages */
	bool keep_paused;       /**< leave the VM paused afterwards (default: back to
	                           the state it was in) */
} sv_snapshot_create_options;

/** The version of sv_snapshot_create_options this header describes. */
#define SV_SNAPSHOT_CREATE_OPTIONS_VERSION 1
/** Every field at its default, for this header's version. */
#define SV_SNAPSHOT_CREATE_OPTIONS_INIT                                                                      \
	{                                                                                                    \
		.version = SV_SNAPSHOT_CREATE_OPTIONS_VERSION                                                \
	}
/** Sets *opts to SV_SNAPSHOT_CREATE_OPTIONS_INIT of `version` (pass SV_SNAPSHOT_CREATE_OPTIONS_VERSION), for
 * callers that cannot use the macro; SV_EINVAL for a version this library does not know. */
SV_EXTERN int sv_snapshot_create_options_init(sv_snapshot_create_options *opts, unsigned int version);

/** Writes a snapshot of vm into dir (created; must not exist or be empty):
 *   vmstate        the VMM's state file (QEMU: its migration stream, which
 *                  holds the guest memory too)
 *   memory         the guest memory (sparse; Firecracker only)
 *   `drives/<file>`  a copy of every writable drive as it was at the pause
 *   snapshot.json  smartvm's manifest: VM config, VMM name and version, arch,
 *                  creation time, the path each drive had, the SHA-256 of
 *                  every file
 * Pauses a running VM first and resumes it after (unless keep_paused);
 * state.json says paused meanwhile, and other live operations on the VM
 * wait (vm_live: at most api_timeout_ms, else SV_EBUSY). dir must pass the
 * trusted-directory checks (yours, not writable by others); snapshot.json
 * also records every file's size. A Diff snapshot cannot be restored on its
 * own. opts may be NULL (Full, resume). running|paused. On failure dir is
 * removed. */
SV_EXTERN int sv_vm_snapshot_create(sv_vm *vm, const char *dir, const sv_snapshot_create_options *opts);

typedef enum { SV_MEM_BACKEND_FILE = 0, SV_MEM_BACKEND_UFFD = 1 } sv_mem_backend;

/** A restored interface's host device (Firecracker's network_overrides). */
typedef struct {
	const char *iface_id;
	const char *host_dev_name;
} sv_net_override;

typedef struct {
	unsigned int version; /**< SV_RESTORE_OPTIONS_VERSION */
	const char *id;              /**< the new VM's id; NULL = generated. For clones,
	                                the prefix: "<id>-<n>" (n from 1) */
	sv_mem_backend mem_backend;  /**< default File: the snapshot's memory file */
	const char *uffd_socket_path;/**< Uffd: the page-fault handler's socket (required) */
	bool track_dirty_pages;      /**< not kept in snapshots; ask again to take diffs */
	sv_tristate resume;          /**< default yes; no = the VM is left paused */
	/** Replace the host device of these interfaces. Interfaces not named keep
	 * the device the snapshot names, if any, else the networking layer makes
	 * one. Not allowed for clones (one device cannot serve many VMs). */
	const sv_net_override *network_overrides;
	size_t n_network_overrides;
	const char *vsock_uds_path;  /**< default `<vm dir>/vsock.sock` when the snapshot has a vsock */
	/** Advance the guest's kvmclock by the wall-clock time since the snapshot
	 * (Firecracker's clock_realtime, x86_64); default no: the clock resumes
	 * where it stopped. Not the qemu backend. */
	bool clock_realtime;
} sv_restore_options;

/** The version of sv_restore_options this header describes. */
#define SV_RESTORE_OPTIONS_VERSION 1
/** Every field at its default, for this header's version. */
#define SV_RESTORE_OPTIONS_INIT                                                                              \
	{                                                                                                    \
		.version = SV_RESTORE_OPTIONS_VERSION                                                        \
	}
/** Sets *opts to SV_RESTORE_OPTIONS_INIT of `version` (pass SV_RESTORE_OPTIONS_VERSION), for callers
 * that cannot use the macro; SV_EINVAL for a version this library does not know. */
SV_EXTERN int sv_restore_options_init(sv_restore_options *opts, unsigned int version);

/** Restores the snapshot in dir into a new VM owned by mgr, on the backend
 * that took the snapshot (a manager whose vmm option names the other backend
 * refuses it). A snapshot directory is trusted like a config file: dir must
 * be yours and not writable by others (SV_EUNSAFE), and only regular files
 * inside it are read, never through a link. Checks first, before anything
 * is created: the architecture, the backend, that it is a Full snapshot
 * (a Diff one is refused), every read-only drive as a config's drive (it
 * exists; the config's own path), every file's size (the memory file's is
 * the VM's memory size) and then its SHA-256 (refusing with SV_ECHECKSUM /
 * SV_EUNSUPPORTED / SV_EINVAL and a message naming the file or the
 * mismatch); the VMM version on the fresh VMM. Then creates the VM directory with private copies of the
 * snapshot's drives, sets up networking, launches a fresh VMM and loads the
 * snapshot into it. The new VM is running (or paused with resume = no).
 * opts may be NULL. Everything is undone on failure. */
SV_EXTERN int sv_manager_restore_vm(sv_vm **out, sv_manager *mgr, const char *dir,
				    const sv_restore_options *opts);

/** Restores count VMs from one snapshot (the checks run once), each with its
 * own id, runtime directory, private drive copies, host network devices and
 * vsock socket. *vms_out is a malloc'd array of count VMs owned by mgr (free
 * the array, not the VMs). On failure the clones already made are stopped
 * and removed. */
SV_EXTERN int sv_manager_clone_vms(sv_vm ***vms_out, sv_manager *mgr, const char *dir, size_t count,
				   const sv_restore_options *opts);

/* ---- jailer ---- */

/** Launching the VMM through Firecracker's jailer program. */
typedef struct {
	unsigned int version; /**< SV_JAIL_OPTIONS_VERSION */
	const char *jailer_binary;     /**< required */
	unsigned uid, gid;	       /**< the VMM runs as these (required, both non-zero) */
	const char *chroot_base_dir;   /**< default `<runtime_dir>/.jail` */
	const char *cgroup_cpu_max;    /**< cgroup v2 cpu.max, e.g. "50000 100000"; NULL = none */
	const char *cgroup_memory_max; /**< cgroup v2 memory.max in bytes; NULL = none */
	/** Where the jailer makes cgroups; default /sys/fs/cgroup. Its layout
	 * gives the version: v2 (cgroup.controllers there), else v1
	 * hierarchies `<root>/<controller>` (also on hybrid hosts), where the
	 * limits become cpu.cfs_quota_us / cpu.cfs_period_us and
	 * memory.limit_in_bytes. */
	const char *cgroup_root;
	const char *netns;             /**< a network namespace path (/var/run/netns/x); NULL = ours */
	bool new_pid_ns;               /**< refused for now (the jailer's parent exits at once) */
	bool daemonize;                /**< the jailer detaches the VMM from our session and stdio */
} sv_jail_options;

/** The version of sv_jail_options this header describes. */
#define SV_JAIL_OPTIONS_VERSION 1
/** Every field at its default, for this header's version. */
#define SV_JAIL_OPTIONS_INIT                                                                                 \
	{                                                                                                    \
		.version = SV_JAIL_OPTIONS_VERSION                                                           \
	}
/** Sets *opts to SV_JAIL_OPTIONS_INIT of `version` (pass SV_JAIL_OPTIONS_VERSION), for callers
 * that cannot use the macro; SV_EINVAL for a version this library does not know. */
SV_EXTERN int sv_jail_options_init(sv_jail_options *opts, unsigned int version);

/** Makes vm start through the jailer: the jail is
 * `<chroot_base_dir>/<firecracker binary name>/<jail id>/root`, the jail id
 * being the VM id with '-' written "--" and '_' "-u" (so no two VMs share
 * one). chroot_base_dir must pass the trusted-directory checks (created
 * 0700 if missing). The jail is built as root before the jailer runs: the
 * kernel, initrd and read-only drives copied (root's, readable by gid
 * only), our private copies of writable drives hard-linked, the metrics
 * and log files created; only what the VMM writes is handed to uid/gid, and
 * last. The VMM sees them at jail paths, and cleanup removes the jail (after
 * checking it is still this VM's) and its cgroups. created only;
 * Firecracker backend only. */
SV_EXTERN int sv_vm_set_jail(sv_vm *vm, const sv_jail_options *jail);

/* ---- MMDS ---- */

/** Replaces / merges (RFC 7396 JSON merge patch) the MMDS data store with the
 * JSON text given. The VM needs an MMDS config (mmds section at boot). */
SV_EXTERN int sv_vm_mmds_put(sv_vm *vm, const char *json);
SV_EXTERN int sv_vm_mmds_patch(sv_vm *vm, const char *json);
/** The data store as JSON text (*out malloc'd). SV_ENOTFOUND before any put
 * (Firecracker itself would answer "{}"; a restored VM starts empty, as the
 * data store is not part of a snapshot). */
SV_EXTERN int sv_vm_mmds_get(sv_vm *vm, char **out);

/* ---- balloon ---- */

/** A new target size: amount_mib is how much memory the balloon takes from
 * the guest (Firecracker's meaning). On QEMU this becomes QMP "balloon" with
 * the guest's target size, mem_size_mib - amount_mib (so amount_mib must be
 * less than the guest's memory). The VM needs a balloon (balloon section at
 * boot). */
SV_EXTERN int sv_vm_balloon_set(sv_vm *vm, uint32_t amount_mib);
/** A new statistics interval. Firecracker: statistics cannot be switched on
 * or off after boot (0 -> n and n -> 0 are refused by the VMM); QEMU allows
 * both. */
SV_EXTERN int sv_vm_balloon_set_stats_interval(sv_vm *vm, uint32_t seconds);
/** The latest balloon statistics (Firecracker's BalloonStats) as JSON text.
 * Refused while the statistics interval is 0. On QEMU: actual_* from QEMU,
 * target_* only when this process set the target (QEMU does not report it),
 * and the guest's counters QEMU has (swap_in ... hugetlb_failures), each
 * left out until the guest has reported it. */
SV_EXTERN int sv_vm_balloon_stats(sv_vm *vm, char **out);

/** Starts a free page hinting run: the guest reports pages it does not use,
 * which the host may then reclaim. acknowledge_on_stop: Firecracker answers
 * the guest's "done" itself. Firecracker only, with the balloon's
 * free_page_hinting set at boot; running|paused. */
SV_EXTERN int sv_vm_balloon_hinting_start(sv_vm *vm, bool acknowledge_on_stop);
/** Ends the current hinting run. */
SV_EXTERN int sv_vm_balloon_hinting_stop(sv_vm *vm);
/** Firecracker's BalloonHintingStatus ({"host_cmd": N, "guest_cmd": M}) as
 * JSON text; *out is malloc'd. */
SV_EXTERN int sv_vm_balloon_hinting_status(sv_vm *vm, char **out);

/* ---- memory hotplug ---- */

/** Asks the guest to plug (or unplug) hotpluggable memory until
 * requested_size_mib of it is plugged (a multiple of the block size, at most
 * the total size). Firecracker only, with a memory_hotplug section at boot;
 * running|paused. The guest follows at its own pace: see the status. */
SV_EXTERN int sv_vm_memory_hotplug_set(sv_vm *vm, uint32_t requested_size_mib);
/** Firecracker's MemoryHotplugStatus (total, slot, block, plugged and
 * requested sizes in MiB) as JSON text; *out is malloc'd. */
SV_EXTERN int sv_vm_memory_hotplug_status(sv_vm *vm, char **out);

/* ---- hot updates ---- */

/** Points a drive at a new backing file (path; NULL = keep) and/or sets a new
 * rate limiter (rl; NULL = keep). At least one must be given. The new file
 * follows the rules of a boot: it must be a regular file or block device
 * (a relative path is the caller's), a writable drive gets a private staged
 * copy (path is only read), a read-only one uses path in place; the VM's
 * config (sv_vm_describe, config.json) names the new file afterwards. Like
 * every live operation that changes a VM, it waits (at most the manager's
 * api_timeout_ms) for another one on the same VM, from any process, to
 * finish, else SV_EBUSY. */
SV_EXTERN int sv_vm_drive_update(sv_vm *vm, const char *drive_id, const char *path,
				 const sv_rate_limiter *rl);
/** New rate limiters for an interface (NULL = keep that direction). */
SV_EXTERN int sv_vm_net_iface_update(sv_vm *vm, const char *iface_id, const sv_rate_limiter *rx,
				     const sv_rate_limiter *tx);

/** A new rate limiter for pmem device pmem_id (PATCH /pmem/{id}; required:
 * the limiter given replaces the one in force). The VM's config shows it
 * afterwards. Firecracker only; running|paused; waits for another live
 * operation like sv_vm_drive_update. */
SV_EXTERN int sv_vm_pmem_update(sv_vm *vm, const char *pmem_id, const sv_rate_limiter *rl);

/* ---- metrics ---- */

/** Asks the VMM to flush its metrics (flush = true), then reads the end of
 * the metrics file (the metrics section's path; one JSON object per line per
 * flush, the last complete one is taken; at most 1 MiB is read). *out
 * (malloc'd) is the latest object as JSON text; *n_flushes (may be NULL;
 * counting reads the whole file) the number of flushes in the file. A
 * metrics file smartvm owns (a jailed VM's, in the jail; a restored VM's, in
 * its VM directory) is emptied after reading once it passes 4 MiB; the
 * caller's own file is only read. The VM needs a metrics section. */
SV_EXTERN int sv_vm_metrics(sv_vm *vm, bool flush, char **out, size_t *n_flushes);

#ifdef __cplusplus
}
#endif
#endif
