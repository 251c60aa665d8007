/* The VMM backend interface. The VM layer (src/vm) drives a VMM only through
 * these operations and never knows which one is behind it.
 *
 * Life of a backend: build_argv() gives the command line the supervisor
 * spawns; once <vm_dir>/<api_socket_name> exists the VM layer calls
 * connect(), then configure() (pre-boot sections) and start(), or, when the
 * VMM booted from config_document's file, boot_wait(). Process
 * management (waiting, signals, reaping) is the VM layer's job, not the
 * backend's.
 */
#ifndef SV_VMM_VMM_H
#define SV_VMM_VMM_H

#include <smartvm/config.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every backend's connection struct starts with this. */
typedef struct sv_vmm {
	const struct sv_vmm_ops *ops;
} sv_vmm;

/* Launching through Firecracker's jailer (see src/vm/vm_jail.c). */
typedef struct {
	const char *jailer;         /* the jailer binary */
	const char *id;             /* --id (the instance id) */
	const char *chroot_base;    /* --chroot-base-dir */
	unsigned uid, gid;
	int cgroup_version;	    /* --cgroup-version: the host's, for these cgroups */
	char *const *cgroups;	    /* --cgroup values ("file=value"), NULL-terminated; may be NULL */
	const char *netns;          /* --netns PATH; NULL = none */
	bool new_pid_ns;
	bool daemonize;
} sv_vmm_jail;

typedef struct {
	const char *vm_id;
	const char *vm_dir;         /* <runtime_dir>/<id>; sockets live here */
	const char *binary;         /* firecracker or qemu-system-x86_64 path */
	const sv_vm_config *cfg;    /* staged: drive paths point at staged copies, TAP names filled in */
	const char *qemu_accel;     /* "kvm" | "tcg" (QEMU only) */
	/* Beyond the first version (additive): */
	const sv_vmm_jail *jail;    /* NULL = run the VMM directly */
	const char *api_socket;     /* the API socket path as the VMM sees it; NULL = <vm_dir>/<name> */
	bool incoming;              /* a restore: snapshot_load follows instead of configure()
	                               and start() (QEMU must be told at launch) */
	const char *config_file;    /* the VMM boots from this document (config_document)
	                               instead of configure() and start(); NULL = none */
} sv_vmm_launch;

/* Snapshot parameters, paths as the VMM sees them. */
typedef struct {
	const char *state_path;
	const char *mem_path;       /* NULL when the backend's snapshot_memory_in_state */
	bool diff;
} sv_vmm_snapshot_create;

typedef struct {
	const char *iface_id;
	const char *host_dev_name;
} sv_vmm_net_override;

typedef struct {
	const char *state_path;
	const char *mem_path;        /* File backend: the memory file (NULL when the backend's
	                                snapshot_memory_in_state); Uffd: the handler's socket */
	bool uffd;
	bool track_dirty_pages;
	bool resume;
	const sv_vmm_net_override *net_overrides;
	size_t n_net_overrides;
	const char *vsock_uds_path;  /* NULL = keep the snapshot's */
	bool clock_realtime;         /* advance kvmclock by the time since the snapshot */
	const sv_vm_config *outputs; /* logger and metrics to configure first (may be NULL) */
} sv_vmm_snapshot_load;

typedef struct sv_vmm_ops {
	const char *name;             /* "firecracker", "qemu" */
	const char *api_socket_name;  /* file name of the API socket inside vm_dir */
	/* The kernel command line the VMM uses when boot_args is unset; smartvm
	 * starts from it when it must add arguments (e.g. ip=) itself. */
	const char *default_boot_args;

	/* Optional: finds the program to run from the manager's options for it
	 * (binary: a path, or a name looked up in PATH) and the accelerator
	 * (accel; "auto" or NULL picks). *binary_out and *accel_out are
	 * malloc'd. NULL: the VM layer finds the binary itself (Firecracker:
	 * the given path or a cached download) and there is no accelerator. */
	int (*resolve)(const char *binary, const char *accel, char **binary_out, char **accel_out);

	/* The VMM's argument vector (NULL-terminated, malloc'd; sv_strv_free). */
	int (*build_argv)(const sv_vmm_launch *launch, char ***argv_out);

	/* Optional: loads what the API client needs (Firecracker: libcurl, about
	 * 6 ms of CPU here), called while the supervisor and the VMM start, so
	 * that a process's first VM does not wait for both one after the other.
	 * Its failure is connect's to report. */
	int (*client_load)(void);

	/* Connects to the API socket at socket_path. Every later call on the
	 * connection times out after api_timeout_ms. */
	int (*connect)(sv_vmm **out, const char *socket_path, int api_timeout_ms);
	void (*disconnect)(sv_vmm *vmm);
	/* Optional: the VM layer is done with the VMM for now. A VMM that
	 * serves one client at a time (QEMU's QMP) lets the connection go, and
	 * the next call makes it again, so that another process can reach the
	 * VM meanwhile. */
	void (*release)(sv_vmm *vmm);

	/* Sends every configured pre-boot section of cfg (staged). */
	int (*configure)(sv_vmm *vmm, const sv_vm_config *cfg);
	int (*start)(sv_vmm *vmm);
	/* Optional, with boot_wait: cfg (staged) as one document the VMM boots
	 * from at launch, which saves an API request per section; *text_out is
	 * NULL (and 0 returned) when cfg has a section the document cannot
	 * carry, and the VM layer configures through the API instead. */
	int (*config_document)(const sv_vm_config *cfg, char **text_out);
	/* After a launch with a config_file: waits until the VMM has booted
	 * from it and checks that the guest runs. */
	int (*boot_wait)(sv_vmm *vmm);
	int (*pause)(sv_vmm *vmm);
	int (*resume)(sv_vmm *vmm);
	/* Asks the guest to power off (SendCtrlAltDel / system_powerdown). */
	int (*request_shutdown)(sv_vmm *vmm);
	/* JSON text, malloc'd. */
	int (*instance_info)(sv_vmm *vmm, char **json_out);
	int (*running_config)(sv_vmm *vmm, char **json_out);

	/* ---- Live operations. Every one is optional: NULL means the backend
	 * cannot do it, and the VM layer answers SV_EUNSUPPORTED
	 * "<operation>: not supported by the <name> backend". ---- */
	/* Its snapshots have no memory file: the state file holds the guest
	 * memory too (QEMU's migration stream). Such a backend can't serve guest
	 * memory from a page-fault handler (Uffd). */
	bool snapshot_memory_in_state;
	/* The VMM's version ("1.16.1"), malloc'd. */
	int (*version)(sv_vmm *vmm, char **version_out);
	/* The VM is paused; writes the state and memory files. */
	int (*snapshot_create)(sv_vmm *vmm, const sv_vmm_snapshot_create *params);
	/* On a fresh VMM process: outputs first, then the load. */
	int (*snapshot_load)(sv_vmm *vmm, const sv_vmm_snapshot_load *params);
	/* MMDS data store; JSON text in and out (malloc'd). */
	int (*mmds_put)(sv_vmm *vmm, const char *json);
	int (*mmds_patch)(sv_vmm *vmm, const char *json);
	int (*mmds_get)(sv_vmm *vmm, char **json_out);
	int (*balloon_set)(sv_vmm *vmm, uint32_t amount_mib);
	int (*balloon_stats_interval)(sv_vmm *vmm, uint32_t seconds);
	int (*balloon_stats)(sv_vmm *vmm, char **json_out);
	/* path NULL = keep; rl NULL = keep. */
	int (*drive_update)(sv_vmm *vmm, const char *drive_id, const char *path, const sv_rate_limiter *rl);
	int (*iface_update)(sv_vmm *vmm, const char *iface_id, const sv_rate_limiter *rx, const sv_rate_limiter *tx);
	/* A pmem device's new rate limiter (required). */
	int (*pmem_update)(sv_vmm *vmm, const char *pmem_id, const sv_rate_limiter *rl);
	int (*flush_metrics)(sv_vmm *vmm);
	/* Free page hinting runs (balloon free_page_hinting); status as JSON text. */
	int (*balloon_hinting_start)(sv_vmm *vmm, bool acknowledge_on_stop);
	int (*balloon_hinting_stop)(sv_vmm *vmm);
	int (*balloon_hinting_status)(sv_vmm *vmm, char **json_out);
	/* Hotpluggable memory (memory_hotplug): the size asked of the guest; status as JSON text. */
	int (*memory_hotplug_set)(sv_vmm *vmm, uint32_t requested_size_mib);
	int (*memory_hotplug_status)(sv_vmm *vmm, char **json_out);
} sv_vmm_ops;

extern const sv_vmm_ops sv_vmm_firecracker_ops;
extern const sv_vmm_ops sv_vmm_qemu_ops;

#endif
