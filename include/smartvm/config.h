/** @file
 * The VM configuration model: one plain struct per section of Firecracker's
 * configuration, with the fields and defaults of Firecracker's --config-file
 * JSON.
 *
 * Callers start from SV_VM_CONFIG_INIT and fill the rest with designated
 * initialisers; strings are borrowed (const char *) and the library copies
 * whatever it keeps. Configs the library hands out (sv_vm_config_load,
 * sv_vm_config_copy, ...) are deep copies in the layout of the version the
 * caller asked for, released with sv_vm_config_free().
 *
 * ABI: sv_vm_config.version names the layout of the whole tree: the
 * sv_vm_config itself, the sections it embeds (boot_source, machine_config)
 * or points at, and the element stride of its arrays (drives, pmem,
 * network_interfaces). A new Firecracker field is appended to its struct and
 * moves SV_VM_CONFIG_VERSION; the library keeps the layout of every earlier
 * version and converts a caller's config from it (and its answers to it), so
 * a program built against an older header keeps working unchanged. A version
 * this library does not know (0, or a newer header's) is refused with
 * SV_EINVAL naming sv_vm_config.version.
 *
 * Optional sections are pointers (NULL = absent). Optional booleans that have a
 * non-false default use sv_tristate.
 *
 * Thread safety: the functions here touch only the configs they are given
 * (and the file they load or save), so they may be called from any thread;
 * one config is not written by two threads at once.
 */
#ifndef SMARTVM_CONFIG_H
#define SMARTVM_CONFIG_H

#include <smartvm/common.h>
#include <smartvm/net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SV_UNSET = 0, SV_YES = 1, SV_NO = 2 } sv_tristate;

typedef enum { SV_ARCH_X86_64 = 0, SV_ARCH_AARCH64 = 1 } sv_arch;

/** Token bucket: size tokens, refilled over refill_time milliseconds;
 * one_time_burst extra tokens at start (0 = none). */
typedef struct {
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_time;
} sv_token_bucket;

typedef struct {
	bool has_bandwidth;
	sv_token_bucket bandwidth; /**< bytes */
	bool has_ops;
	sv_token_bucket ops;       /**< operations */
} sv_rate_limiter;

typedef struct {
	const char *kernel_image_path; /**< required */
	const char *boot_args;         /**< NULL = VMM default */
	const char *initrd_path;       /**< optional */
} sv_boot_source;

/** What backs guest memory (machine-config.huge_pages). */
typedef enum { SV_HUGE_PAGES_NONE = 0, SV_HUGE_PAGES_2M = 1 } sv_huge_pages;

typedef struct {
	uint32_t vcpu_count;      /**< 1-32 */
	uint32_t mem_size_mib;    /**< > 0 */
	bool smt;                 /**< default false */
	const char *cpu_template; /**< C3, T2, T2S, T2CL, T2A, V1N1, None; NULL = unset */
	bool track_dirty_pages;   /**< default false */
	sv_huge_pages huge_pages; /**< default None (not the qemu backend) */
} sv_machine_config;

typedef enum { SV_CACHE_UNSAFE = 0, SV_CACHE_WRITEBACK = 1 } sv_cache_type;
typedef enum { SV_IO_ENGINE_SYNC = 0, SV_IO_ENGINE_ASYNC = 1 } sv_io_engine;

typedef struct {
	const char *drive_id;      /**< [A-Za-z0-9_-]+, unique */
	const char *path_on_host;  /**< must exist */
	bool is_root_device;       /**< at most one */
	bool is_read_only;
	const char *partuuid;      /**< optional; only meaningful for the root device */
	sv_cache_type cache_type;  /**< default Unsafe */
	sv_io_engine io_engine;    /**< default Sync */
	const sv_rate_limiter *rate_limiter; /**< optional */
	/** Stage a private copy into the VM dir. UNSET = yes for writable drives,
	 * no for read-only ones (and no when the manager disables staging). */
	sv_tristate ephemeral;
} sv_drive_config;

typedef struct {
	const char *iface_id;      /**< [A-Za-z0-9_-]+, unique */
	const char *host_dev_name; /**< TAP on the host; NULL = smartvm creates one */
	const char *guest_mac;     /**< NULL = derived from (vm id, iface id) */
	const sv_rate_limiter *rx_rate_limiter;
	const sv_rate_limiter *tx_rate_limiter;
	uint32_t mtu;              /**< advertised to the guest, 68-65535; 0 = not advertised
	                              (not the qemu backend) */
} sv_net_iface_config;

typedef struct {
	uint32_t guest_cid;        /**< >= 3 */
	const char *uds_path;      /**< host UDS path */
} sv_vsock_config;

typedef struct {
	uint32_t amount_mib;
	bool deflate_on_oom;
	uint32_t stats_polling_interval_s; /**< 0 = statistics disabled; at most 65535 */
	bool free_page_hinting;   /**< default false (not the qemu backend) */
	bool free_page_reporting; /**< default false (not the qemu backend) */
} sv_balloon_config;

typedef enum { SV_MMDS_V1 = 0, SV_MMDS_V2 = 1 } sv_mmds_version;

typedef struct {
	sv_mmds_version version;         /**< default V1 */
	const char *const *network_interfaces; /**< iface ids, at least one */
	size_t n_network_interfaces;
	const char *ipv4_address;        /**< NULL = 169.254.169.254 */
	bool imds_compat;                /**< answer text/plain whatever the Accept header, as EC2 IMDS */
} sv_mmds_config;

typedef enum {
	SV_LOG_LEVEL_UNSET = 0, /**< VMM default (Info) */
	SV_LOG_LEVEL_ERROR,
	SV_LOG_LEVEL_WARNING,
	SV_LOG_LEVEL_INFO,
	SV_LOG_LEVEL_DEBUG,
	SV_LOG_LEVEL_TRACE,
	SV_LOG_LEVEL_OFF,
} sv_log_level;

typedef struct {
	const char *log_path;      /**< required */
	sv_log_level level;
	bool show_level;
	bool show_log_origin;
	const char *module;        /**< only messages of this module path; NULL = all */
} sv_logger_config;

typedef struct {
	const char *metrics_path;  /**< required */
} sv_metrics_config;

typedef struct {
	const sv_rate_limiter *rate_limiter; /**< optional */
} sv_entropy_config;

/** A virtio-pmem device (pmem): a host file the guest sees as persistent
 * memory. Not the qemu backend. */
typedef struct {
	const char *id;           /**< [A-Za-z0-9_-]+, unique among pmem devices */
	const char *path_on_host; /**< a regular file */
	bool root_device;         /**< boot from it; one root among drives and pmem */
	bool read_only;
	const sv_rate_limiter *rate_limiter; /**< optional */
} sv_pmem_config;

/** Hotpluggable memory, a virtio-mem device (memory-hotplug). Not the qemu
 * backend. */
typedef struct {
	uint32_t total_size_mib; /**< > 0, a multiple of the slot size */
	uint32_t slot_size_mib;  /**< 0 = 128; else at least 128, a multiple of the block size */
	uint32_t block_size_mib; /**< 0 = 2; else at least 2, a power of two */
} sv_memory_hotplug_config;

/** The serial console (serial): where the guest's serial output goes, and
 * how fast. Not the qemu backend. */
typedef struct {
	/** A file or named pipe the VMM writes the guest's serial output to;
	 * NULL = its stdout, which smartvm keeps as the console log (logs,
	 * attach). With a path, the console log and attach see no output. A
	 * jailed VM writes a file of that name in its jail. */
	const char *serial_out_path;
	bool has_rate_limiter;        /**< rate_limiter is set */
	sv_token_bucket rate_limiter; /**< bytes; output beyond it is dropped (has_rate_limiter) */
} sv_serial_config;

/** A whole VM: every section of its Firecracker configuration. */
typedef struct sv_vm_config {
	unsigned int version; /**< SV_VM_CONFIG_VERSION: the layout of this struct and all it holds */
	const char *id;            /**< NULL = generated; [A-Za-z0-9_-], at most 64 bytes */
	const char *base_image;    /**< bundle id this VM boots from (keeps it from cache
	                              eviction while the VM runs); NULL = none */
	sv_boot_source boot_source;
	sv_machine_config machine_config;
	const sv_drive_config *drives;
	size_t n_drives;
	const sv_net_iface_config *network_interfaces;
	size_t n_network_interfaces;
	const sv_vsock_config *vsock;     /**< NULL = no vsock */
	const sv_balloon_config *balloon; /**< NULL = no balloon */
	const sv_mmds_config *mmds;       /**< NULL = no MMDS */
	const sv_logger_config *logger;   /**< NULL = no logger */
	const sv_metrics_config *metrics; /**< NULL = no metrics */
	const sv_entropy_config *entropy; /**< NULL = no entropy device */
	const sv_vm_net_options *net;     /**< NULL = default networking (smartvm/net.h);
	                                     config file: "smartvm": {"network": {...}} */
	const sv_pmem_config *pmem;       /**< virtio-pmem devices */
	size_t n_pmem;
	const sv_memory_hotplug_config *memory_hotplug; /**< NULL = none */
	/** Firecracker's custom CPU template (cpu-config) as JSON object text,
	 * passed through as written; NULL = none. Not the qemu backend. */
	const char *cpu_config;
	const sv_serial_config *serial; /**< NULL = the VMM's default serial console */
} sv_vm_config;

/** The version of sv_vm_config (and of every section struct above) this
 * header describes. 1: before Firecracker v1.16.1's fields (huge_pages, mtu,
 * free_page_hinting/_reporting, imds_compat, logger module, pmem,
 * memory_hotplug, cpu_config, serial); 2: with them. */
#define SV_VM_CONFIG_VERSION 2
/** An empty config of this header's version: begin with it. */
#define SV_VM_CONFIG_INIT                                                                                    \
	{                                                                                                    \
		.version = SV_VM_CONFIG_VERSION                                                              \
	}
/** Sets *cfg to SV_VM_CONFIG_INIT of `version` (pass SV_VM_CONFIG_VERSION), for
 * callers that cannot use the macro; SV_EINVAL for a version this library does
 * not know. */
SV_EXTERN int sv_vm_config_init(sv_vm_config *cfg, unsigned int version);

/** Deep-copies cfg into a new allocation owned by the caller, in cfg's
 * version's layout. */
SV_EXTERN int sv_vm_config_copy(sv_vm_config **out, const sv_vm_config *cfg);

/** Frees a config returned by sv_vm_config_copy / _load / _from_json /
 * sv_vm_config_get (of whichever version it is). NULL is fine. */
SV_EXTERN void sv_vm_config_free(sv_vm_config *cfg);

/** Checks every rule without touching the host except to test that the files the
 * config names exist. On failure returns SV_EINVAL and sv_last_error() reads
 * "`<field path>: <rule>`", e.g. "drives[1].rate_limiter.bandwidth.size: must be
 * greater than 0". */
SV_EXTERN int sv_vm_config_validate(const sv_vm_config *cfg);

/** Parses Firecracker's --config-file JSON (keys boot-source, machine-config,
 * cpu-config, drives, pmem, network-interfaces, vsock, balloon, mmds-config,
 * logger, metrics, entropy, memory-hotplug, serial). Unknown keys are rejected by their path. Does not validate rules
 * beyond types; call sv_vm_config_validate for that. *out has the layout of
 * `version` (pass SV_VM_CONFIG_VERSION); a field that version does not have
 * is refused by its path rather than dropped. */
SV_EXTERN int sv_vm_config_from_json(sv_vm_config **out, unsigned int version, const char *json_text);
/** The same from a file (a regular file of at most 1 MiB). Relative host paths
 * in it (kernel, initrd, drives, pmem, vsock socket, logger, metrics) are made
 * absolute against the file's directory, so the file means the same wherever
 * it is loaded from. */
SV_EXTERN int sv_vm_config_load(sv_vm_config **out, unsigned int version, const char *path);

/** Serialises cfg in Firecracker's --config-file format. *out is malloc'd. */
SV_EXTERN int sv_vm_config_to_json(char **out, const sv_vm_config *cfg);
/** Writes it atomically to path. */
SV_EXTERN int sv_vm_config_save(const sv_vm_config *cfg, const char *path);

#ifdef __cplusplus
}
#endif
#endif
