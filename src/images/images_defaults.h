/* Option defaults for the images module, resolved once per public call into
 * plain owned values, so the rest of the module never looks at environment
 * variables or NULL options. Never touches the network or the disk. */
#ifndef SV_IMAGES_DEFAULTS_H
#define SV_IMAGES_DEFAULTS_H

#include <smartvm/images.h>

#define SV_DEFAULT_RELEASES_URL "https://github.com/firecracker-microvm/firecracker/releases"
#define SV_DEFAULT_CI_BUCKET_URL "https://s3.amazonaws.com/spec.ccfc.min"
#define SV_LTS_CI_VERSION "v1.7"
#define SV_LTS_FIRECRACKER_VERSION "v1.7.0"
#define SV_DEFAULT_BOOT_ARGS "console=ttyS0 reboot=k panic=1 pci=off"

/* Download options with every default applied. */
typedef struct {
	long connect_timeout_ms;
	long low_speed_time_s;
	long low_speed_limit;
	int max_retries;
	int retry_backoff_ms;
	long max_redirects;
	sv_download_progress_fn progress; /* NULL = none */
	void *progress_userdata;
	uint64_t max_bytes; /* cap of a body whose size no one stated */
	long timeout_ms;    /* deadline of one transfer, retries included */
} sv_dl_config;

void sv_dl_config_resolve(sv_dl_config *out, const sv_download_options *o);

/* Each returns a malloc'd string (NULL on OOM). Explicit value, else the
 * environment variable, else the built-in default; trailing slashes removed
 * from URLs. */
char *sv_images_data_dir(const char *given);
char *sv_images_runtime_dir(const char *given);
char *sv_images_releases_url(const char *given);
char *sv_images_ci_bucket_url(const char *given);

#endif
