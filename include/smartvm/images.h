/** @file
 * Getting a verified Firecracker binary and a bootable kernel + rootfs.
 *
 * Two managers, both driven by plain option values (no sv_manager needed):
 *  - the binary manager downloads `firecracker-<tag>-<arch>.tgz` from the
 *    releases page, verifies it against the published .sha256.txt and installs
 *    firecracker + jailer into `<data_dir>/bin/<tag>/`;
 *  - the base-image manager resolves a bundle (kernel, rootfs, optional initrd,
 *    boot args) from the Firecracker CI bucket (presets latest / lts) or from a
 *    hosted manifest, downloads and verifies it into
 *    `<cache_dir>/<bundle_id>/` with a bundle.json, and keeps at most
 *    max_stored_base_images bundles, evicting the least recently used one that
 *    no running VM uses.
 *
 * Thread safety: everything here may be called from several threads and
 * processes at once:
 * a given release or bundle is downloaded once (flock), and a cache hit needs
 * no network. Strings in option structs are borrowed; everything returned is
 * owned by the caller and released with the matching *_free function.
 */
#ifndef SMARTVM_IMAGES_H
#define SMARTVM_IMAGES_H

#include <smartvm/common.h>
#include <smartvm/config.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Where one file download stands, handed to an sv_download_progress_fn.
 * Filled by the library; fields may be added at the end. */
typedef struct {
	const char *url;      /**< what is being downloaded */
	const char *name;     /**< the URL's file name (last path segment), for display */
	uint64_t bytes_done;  /**< received so far in this attempt (a retry starts at 0) */
	uint64_t bytes_total; /**< the size the server announced; 0 = unknown */
	bool done;            /**< the attempt ended (complete or failed): the last call for it */
} sv_download_progress;

/** Called as a file download proceeds: every time bytes arrive (often, so
 * throttle what you draw), when nothing arrives at least once a second, and
 * once with done set when the attempt ends. Runs on the thread that called
 * into the library. Returning non-zero cancels the download, which then
 * fails with SV_EDOWNLOAD ("downloading URL: cancelled by the progress
 * callback"). Small documents (manifests, listings, checksums) report no
 * progress. */
typedef int (*sv_download_progress_fn)(const sv_download_progress *progress, void *userdata);

/** How downloads behave. Zero fields mean the default. */
typedef struct {
	unsigned int version; /**< SV_DOWNLOAD_OPTIONS_VERSION */
	int connect_timeout_ms;   /**< default 15000 */
	int low_speed_time_s;     /**< abort a transfer slower than low_speed_limit
	                             bytes/s for this many seconds; default 30 */
	long low_speed_limit;     /**< bytes/s; default 1024 */
	int max_retries;          /**< retries after a 5xx, a dropped connection or a
	                             timeout; default 3; < 0 = none */
	int retry_backoff_ms;     /**< first retry delay, doubled each time; default 1000 */
	int max_redirects;        /**< default 10 */
	sv_download_progress_fn progress; /**< NULL = no progress reported (the default) */
	void *progress_userdata;  /**< passed to progress */
	int64_t max_bytes;        /**< the most one artifact may hold when its source states
	                             no size (a manifest artifact without sizeBytes, a
	                             release archive, the CI bucket's objects when the
	                             listing has no size); default 4 GiB
	                             (SV_DEFAULT_MAX_DOWNLOAD_BYTES). A stated size is
	                             always the cap. */
	int timeout_ms;           /**< deadline of one transfer, retries included;
	                             default 30 min (SV_DEFAULT_DOWNLOAD_TIMEOUT_MS) */
} sv_download_options;

/** The version of sv_download_options this header describes. */
#define SV_DOWNLOAD_OPTIONS_VERSION 1
/** Every field at its default, for this header's version. */
#define SV_DOWNLOAD_OPTIONS_INIT                                                                             \
	{                                                                                                    \
		.version = SV_DOWNLOAD_OPTIONS_VERSION                                                       \
	}
/** Sets *opts to SV_DOWNLOAD_OPTIONS_INIT of `version` (pass SV_DOWNLOAD_OPTIONS_VERSION), for callers
 * that cannot use the macro; SV_EINVAL for a version this library does not know. */
SV_EXTERN int sv_download_options_init(sv_download_options *opts, unsigned int version);

#define SV_DEFAULT_MAX_DOWNLOAD_BYTES (4LL << 30)
#define SV_DEFAULT_DOWNLOAD_TIMEOUT_MS (30 * 60 * 1000)

/** Options of the Firecracker binary manager. */
typedef struct {
	unsigned int version; /**< SV_BINARY_OPTIONS_VERSION */
	const char *data_dir;     /**< default as the manager's (env SMARTVM_DATA_DIR) */
	const char *firecracker_version; /**< "latest" (default) or "vX.Y.Z" */
	sv_arch arch;             /**< default x86_64 */
	const char *binary_path;  /**< firecrackerBinaryPath: returned as is when it is an
	                             executable file; no lookup, no download */
	const char *releases_url; /**< default https://github.com/firecracker-microvm/firecracker/releases
	                             (env SMARTVM_RELEASES_URL) */
	const sv_download_options *download; /**< NULL = defaults */
} sv_binary_options;

/** The version of sv_binary_options this header describes. */
#define SV_BINARY_OPTIONS_VERSION 1
/** Every field at its default, for this header's version. */
#define SV_BINARY_OPTIONS_INIT                                                                               \
	{                                                                                                    \
		.version = SV_BINARY_OPTIONS_VERSION                                                         \
	}
/** Sets *opts to SV_BINARY_OPTIONS_INIT of `version` (pass SV_BINARY_OPTIONS_VERSION), for callers
 * that cannot use the macro; SV_EINVAL for a version this library does not know. */
SV_EXTERN int sv_binary_options_init(sv_binary_options *opts, unsigned int version);

/** Returns the path of a verified firecracker binary (jailer next to it),
 * downloading and installing the release if it is not cached. "latest" is
 * resolved through `<releases_url>/latest`; if that fails and some version is
 * cached, the newest cached one is used with a warning. *path_out is malloc'd. */
SV_EXTERN int sv_ensure_binary(char **path_out, const sv_binary_options *o);

/** The cached `<data_dir>/bin/<version>/firecracker` without any network access.
 * version NULL or "latest" = the newest cached tag. SV_ENOTFOUND if absent.
 * data_dir NULL = the default. The cache layout does not encode the arch; arch
 * is accepted so a future layout can. *path_out is malloc'd. */
SV_EXTERN int sv_firecracker_binary_cached(char **path_out, const char *data_dir, const char *version,
					   sv_arch arch);

typedef enum {
	SV_BASE_IMAGE_PRESET_LATEST = 0, /**< CI images of the latest release's vMAJOR.MINOR */
	SV_BASE_IMAGE_PRESET_LTS = 1,    /**< CI v1.7, Firecracker v1.7.0 */
	SV_BASE_IMAGE_PRESET_HOSTED = 2, /**< the hosted manifest named in the options */
} sv_base_image_preset;

typedef enum { SV_ROOTFS_EXT4 = 0, SV_ROOTFS_SQUASHFS = 1 } sv_rootfs_type;

/** Options of the base-image manager: the cache, where it lives, where bundles come from. */
typedef struct {
	unsigned int version; /**< SV_BASE_IMAGE_OPTIONS_VERSION */
	sv_arch arch;                     /**< default x86_64 */
	const char *cache_dir;            /**< default `<data_dir>/base-images` */
	unsigned max_stored_base_images;  /**< default 2 */
	const char *hosted_manifest_url;  /**< used by the hosted preset */
	const char *hosted_manifest_path; /**< used by the hosted preset (wins over url) */
	const char *data_dir;      /**< only for the cache_dir default; default as the
	                              manager's (env SMARTVM_DATA_DIR) */
	const char *runtime_dir;   /**< where VM directories are, to tell which bundles are in
	                              use; default as the manager's (env SMARTVM_RUNTIME_DIR) */
	const char *releases_url;  /**< as in sv_binary_options (env SMARTVM_RELEASES_URL) */
	const char *ci_bucket_url; /**< default https://s3.amazonaws.com/spec.ccfc.min
	                              (env SMARTVM_CI_BUCKET_URL) */
	const sv_download_options *download; /**< NULL = defaults */
} sv_base_image_options;

/** The version of sv_base_image_options this header describes. */
#define SV_BASE_IMAGE_OPTIONS_VERSION 1
/** Every field at its default, for this header's version. */
#define SV_BASE_IMAGE_OPTIONS_INIT                                                                           \
	{                                                                                                    \
		.version = SV_BASE_IMAGE_OPTIONS_VERSION                                                     \
	}
/** Sets *opts to SV_BASE_IMAGE_OPTIONS_INIT of `version` (pass SV_BASE_IMAGE_OPTIONS_VERSION), for callers
 * that cannot use the macro; SV_EINVAL for a version this library does not know. */
SV_EXTERN int sv_base_image_options_init(sv_base_image_options *opts, unsigned int version);

/** Which bundle sv_ensure_base_image gets, and how. */
typedef struct {
	unsigned int version; /**< SV_ENSURE_BASE_IMAGE_OPTS_VERSION */
	sv_base_image_preset preset; /**< default latest */
	bool override_arch;          /**< use arch below instead of the manager's */
	sv_arch arch;
	bool force_download;         /**< re-fetch even when cached */
	const char *manifest_url;    /**< hosted manifest; overrides the preset */
	const char *manifest_path;   /**< local hosted manifest; overrides the preset (wins over url) */
} sv_ensure_base_image_opts;

/** The version of sv_ensure_base_image_opts this header describes. */
#define SV_ENSURE_BASE_IMAGE_OPTS_VERSION 1
/** Every field at its default, for this header's version. */
#define SV_ENSURE_BASE_IMAGE_OPTS_INIT                                                                       \
	{                                                                                                    \
		.version = SV_ENSURE_BASE_IMAGE_OPTS_VERSION                                                 \
	}
/** Sets *opts to SV_ENSURE_BASE_IMAGE_OPTS_INIT of `version` (pass SV_ENSURE_BASE_IMAGE_OPTS_VERSION), for
 * callers that cannot use the macro; SV_EINVAL for a version this library does not know. */
SV_EXTERN int sv_ensure_base_image_opts_init(sv_ensure_base_image_opts *opts, unsigned int version);

typedef enum {
	SV_BASE_IMAGE_SOURCE_FIRECRACKER_CI = 0,
	SV_BASE_IMAGE_SOURCE_HOSTED_MANIFEST = 1,
} sv_base_image_source_type;

/** A cached bundle, as its bundle.json records it. Every string is malloc'd and
 * owned by the struct; optional ones are NULL when absent, sizes 0 when unknown.
 * initrd_* are set for bundles whose kernel needs an initrd.
 *
 * Only the library allocates it (sv_ensure_base_image, _open, _list) and it is
 * flat: new fields are appended, so a program built against an older header
 * reads the fields it knows at the offsets it knows. Use it through the
 * pointer; never copy it by value (its size grows). */
typedef struct {
	unsigned int version;      /**< SV_BASE_IMAGE_BUNDLE_VERSION of the library that filled it:
	                              the fields it has */
	sv_base_image_preset preset;
	sv_arch arch;
	char *ci_version;          /**< "v1.16"; for hosted bundles vMAJOR.MINOR of firecracker_version */
	char *firecracker_version; /**< "v1.16.1" */
	char *bundle_id;           /**< [A-Za-z0-9._-]+ */
	char *bundle_dir;
	char *kernel_image_path;
	char *rootfs_path;
	char *initrd_path;         /**< NULL = none */
	sv_rootfs_type rootfs_type;
	bool rootfs_is_read_only;
	char *boot_args;
	/* where it came from */
	sv_base_image_source_type source_type;
	char *bucket_url, *kernel_key, *rootfs_key;          /**< CI */
	char *manifest_url, *manifest_path;                  /**< hosted */
	char *kernel_url, *rootfs_url, *initrd_url;
	char *kernel_source_path, *rootfs_source_path, *initrd_source_path;
	/* what it must hash to and weigh */
	char *kernel_sha256, *rootfs_sha256, *initrd_sha256;
	uint64_t kernel_bytes, rootfs_bytes, initrd_bytes;
	char *created_at;          /**< ISO 8601 UTC, e.g. "2025-01-31T12:00:00.000Z" */
	char *last_accessed_at;
} sv_base_image_bundle;

/** The version of sv_base_image_bundle this header describes. */
#define SV_BASE_IMAGE_BUNDLE_VERSION 1

/** Resolves, downloads (if needed) and verifies a bundle, records the access and
 * evicts least recently used bundles beyond max_stored_base_images (never the
 * returned one, never one a running VM uses; each eviction is a warning).
 * e may be NULL (preset latest). *out is freed with sv_base_image_bundle_free. */
SV_EXTERN int sv_ensure_base_image(sv_base_image_bundle **out, const sv_base_image_options *o,
				   const sv_ensure_base_image_opts *e);

/** The cached bundles, least recently used first. *out is a malloc'd array of
 * *n bundles; free it with sv_base_image_bundles_free. No network. */
SV_EXTERN int sv_base_image_list(sv_base_image_bundle ***out, size_t *n, const sv_base_image_options *o);

/** Loads the cached bundle bundle_id and records the access (a VM about to
 * boot from it). No network. SV_ENOTFOUND if it is not cached. */
SV_EXTERN int sv_base_image_open(sv_base_image_bundle **out, const sv_base_image_options *o,
				 const char *bundle_id);

/** The bundle as bundle.json text; malloc'd. */
SV_EXTERN int sv_base_image_bundle_to_json(char **out, const sv_base_image_bundle *b);

/** Removes a cached bundle. SV_ENOTFOUND if it is not cached, SV_EBUSY if a
 * running VM uses it. */
SV_EXTERN int sv_base_image_remove(const sv_base_image_options *o, const char *bundle_id);

/** *in_use: whether a running VM uses bundle_id: one that registered itself in
 * the cache when it started (wherever its runtime dir is), or a live VM in
 * o->runtime_dir naming it. Judged from each VM's own directory lock. When
 * that cannot be told, returns the error and *in_use is true (fail closed). */
SV_EXTERN int sv_base_image_in_use(bool *in_use, const sv_base_image_options *o, const char *bundle_id);

SV_EXTERN void sv_base_image_bundle_free(sv_base_image_bundle *b);
SV_EXTERN void sv_base_image_bundles_free(sv_base_image_bundle **bundles, size_t n);

/** Fills cfg from a bundle: boot_source (kernel, boot args, initrd), base_image
 * (the bundle id) and *root_drive (drive id "rootfs", the bundle's rootfs,
 * is_root_device, read-only as the bundle says). If cfg has no drives yet,
 * cfg->drives is pointed at root_drive; otherwise the caller places root_drive
 * in its own array. Strings are borrowed from b, which must outlive cfg. */
SV_EXTERN int sv_base_image_vm_config(sv_vm_config *cfg, sv_drive_config *root_drive,
				      const sv_base_image_bundle *b);

/** "latest" / "lts" / "hosted", "ext4" / "squashfs", "x86_64" / "aarch64",
 * and back (SV_EINVAL naming the value). */
SV_EXTERN const char *sv_base_image_preset_name(sv_base_image_preset p);
SV_EXTERN int sv_base_image_preset_parse(sv_base_image_preset *out, const char *s);
SV_EXTERN const char *sv_rootfs_type_name(sv_rootfs_type t);
SV_EXTERN const char *sv_arch_name(sv_arch a);
SV_EXTERN int sv_arch_parse(sv_arch *out, const char *s);

#ifdef __cplusplus
}
#endif
#endif
