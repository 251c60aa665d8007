/** @file
 * The manager: holds defaults, the registry of VMs it
 * created or attached to, and cleans all of them up.
 *
 * Thread safety: a manager and its VMs may be used from one thread at a time;
 * separate managers are independent (shared host state is guarded with flock).
 */
#ifndef SMARTVM_MANAGER_H
#define SMARTVM_MANAGER_H

#include <smartvm/common.h>
#include <smartvm/config.h>
#include <smartvm/net.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sv_manager sv_manager;
typedef struct sv_vm sv_vm;

typedef enum { SV_VMM_AUTO = 0, SV_VMM_FIRECRACKER = 1, SV_VMM_QEMU = 2 } sv_vmm_kind;

/** How a manager behaves. Start from SV_MANAGER_OPTIONS_INIT; every other field is
 * optional, zero meaning "default". */
typedef struct {
	unsigned int version; /**< SV_MANAGER_OPTIONS_VERSION */
	const char *data_dir;           /**< env SMARTVM_DATA_DIR, else /var/lib/smartvm as
	                                   root, $XDG_DATA_HOME/smartvm (~/.local/share/
	                                   smartvm) otherwise. Never a directory every
	                                   local user can write, such as /tmp. */
	const char *runtime_dir;        /**< env SMARTVM_RUNTIME_DIR, else /run/smartvm as
	                                   root, $XDG_RUNTIME_DIR/smartvm otherwise
	                                   (`/tmp/smartvm-<uid>/runtime` without it). Both dirs are
	                                   created with a tight mode and, before any use,
	                                   must be owned by the effective uid, not a
	                                   symlink, not group/world-writable (else
	                                   SV_EUNSAFE naming the dir and the fix). */
	sv_tristate ephemeral_writable_drives; /**< default yes */
	const char *firecracker_version;/**< default "latest" */
	sv_arch arch;                   /**< default x86_64 */
	const char *firecracker_binary_path; /**< skips version lookup and download */
	const char *bridge_name;        /**< default "svbr0" */
	const char *subnet;             /**< default "172.30.0.0/24" */
	const char *base_image_cache_dir; /**< default `<data_dir>/base-images` */
	unsigned max_stored_base_images;  /**< default 2 */
	const char *base_image_manifest_url;
	const char *base_image_manifest_path;
	sv_vmm_kind vmm;                /**< default auto */
	const char *releases_url;       /**< Firecracker releases page; default GitHub's
	                                   (env SMARTVM_RELEASES_URL) */
	const char *ci_bucket_url;      /**< CI image bucket; default
	                                   https://s3.amazonaws.com/spec.ccfc.min
	                                   (env SMARTVM_CI_BUCKET_URL) */
	const sv_egress_rule *egress_rules; /**< ordered; first match wins */
	size_t n_egress_rules;
	sv_egress_action egress_default;  /**< default allow */
	const char *outbound_interface; /**< NAT out of this; default: the default route's */
	const char *qemu_binary;        /**< default qemu-system-x86_64 from PATH */
	const char *qemu_accel;         /**< "kvm" | "tcg" | "auto" (default) */
	int stop_timeout_ms;            /**< graceful stop wait, default 10000 */
	int api_timeout_ms;             /**< per VMM API call, default 5000 */
	int socket_timeout_ms;          /**< wait for the API socket, default 5000 */
} sv_manager_options;

/** The version of sv_manager_options this header describes. */
#define SV_MANAGER_OPTIONS_VERSION 1
/** Every field at its default, for this header's version. */
#define SV_MANAGER_OPTIONS_INIT                                                                              \
	{                                                                                                    \
		.version = SV_MANAGER_OPTIONS_VERSION                                                        \
	}
/** Sets *opts to SV_MANAGER_OPTIONS_INIT of `version` (pass SV_MANAGER_OPTIONS_VERSION), for callers
 * that cannot use the macro; SV_EINVAL for a version this library does not know. */
SV_EXTERN int sv_manager_options_init(sv_manager_options *opts, unsigned int version);

/** Creates a manager. opts may be NULL (all defaults). Creates no directories yet. */
SV_EXTERN int sv_manager_new(sv_manager **out, const sv_manager_options *opts);

/** Stops and cleans up every VM this manager started and still owns (not the
 * detached ones), then frees it. NULL is fine. */
SV_EXTERN void sv_manager_free(sv_manager *mgr);

/** Resolved option values (defaults applied). Owned by the manager. */
SV_EXTERN const char *sv_manager_data_dir(const sv_manager *mgr);
SV_EXTERN const char *sv_manager_runtime_dir(const sv_manager *mgr);
SV_EXTERN const sv_manager_options *sv_manager_options_get(const sv_manager *mgr);

/** Creates a VM from cfg (deep-copied) in state "created"; nothing on the host
 * changes until sv_vm_start. cfg->id NULL generates one. Fails with SV_EEXISTS
 * if the id is in use by this manager or by a VM directory in runtime_dir.
 * Relative host paths in cfg are taken from the current directory now (the
 * copy holds absolute ones). The VM is owned by the manager. */
SV_EXTERN int sv_manager_create_vm(sv_vm **out, sv_manager *mgr, const sv_vm_config *cfg);

/** Opens a VM that some (possibly other, possibly dead) process started, from
 * its runtime directory. Owned by the manager; detached VMs are not stopped by
 * sv_manager_free (sv_vm_free releases one early). SV_ENOTFOUND if no such VM
 * directory exists, SV_EUNSAFE if it (or the runtime dir) is one another user
 * could control. A VM nobody supervises any more (its directory's lock is
 * free: supervisor killed, start killed before its first state, or a cleanup
 * that failed) is in state error, with the reason in sv_vm_describe. It holds
 * two fds (the directory and its lock file) until sv_vm_free, so that
 * stopping, killing or waiting for it returns once its supervisor process
 * has exited, also when its directory is gone by then. */
SV_EXTERN int sv_manager_attach_vm(sv_vm **out, sv_manager *mgr, const char *id);

/** The VM with this id in the registry, or NULL. */
SV_EXTERN sv_vm *sv_manager_get_vm(sv_manager *mgr, const char *id);

/** The ids of all VM directories in runtime_dir (any process's), sorted. *ids
 * is a NULL-terminated malloc'd array of malloc'd strings; free with
 * sv_strv_free. The runtime dir is checked, never created (none: no ids). */
SV_EXTERN int sv_manager_list_vm_ids(sv_manager *mgr, char ***ids);
SV_EXTERN void sv_strv_free(char **strv);

/** Stops and cleans up every VM in the registry that this manager owns. Returns
 * the first error but always tries all. */
SV_EXTERN int sv_manager_cleanup(sv_manager *mgr);

/** Cleans up leftovers of VMs nobody supervises any more (their directory's
 * lock is free: the orchestrator or the supervisor was SIGKILLed, or a start
 * was killed before its first state): replays each dead VM's ledger (killing
 * a VMM that outlived its supervisor) and removes its directory, holding its
 * lock meanwhile. What cannot be undone is kept for the next gc (ledger.h)
 * and reported; a directory another user could control is refused. Every VM
 * is tried; returns the first failure. *n_removed (may be NULL) counts the
 * directories removed. */
SV_EXTERN int sv_manager_gc(sv_manager *mgr, size_t *n_removed);

#ifdef __cplusplus
}
#endif
#endif
