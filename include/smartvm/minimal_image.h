/** @file
 * The minimal guest image: a Debian cloud kernel, an initramfs with busybox
 * and smartvm's own init, and a read-only ext4 root, built
 * offline by the smartvm-build-minimal-image program and imported into the
 * base-image cache as bundle "minimal". VMs booted from it run one command
 * (smartvm/command.h) and power off.
 *
 * Thread safety: sv_minimal_image_build may be called from several threads
 * and processes; builds into one cache_dir take turns (a lock file), and the
 * import follows smartvm/images.h. */
#ifndef SMARTVM_MINIMAL_IMAGE_H
#define SMARTVM_MINIMAL_IMAGE_H

#include <smartvm/common.h>
#include <smartvm/images.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The bundle id the minimal image is imported as. */
#define SV_MINIMAL_IMAGE_ID "minimal"

typedef struct {
	unsigned int version; /**< SV_MINIMAL_IMAGE_OPTIONS_VERSION */
	const char *cache_dir;	  /**< the builder's downloads and output; default
				     `<data_dir>/minimal-image` */
	const char *builder_path; /**< default: smartvm-build-minimal-image next to the
				     running program (or in its tools/ dir, the build
				     tree), else libexecdir/smartvm */
	const char *init_path;	  /**< the static guest init; default: smartvm-init,
				     found the same way (guest/ in the build tree) */
	int timeout_ms;		  /**< for the builder; default 15 minutes (the first run
				     downloads the kernel package) */
} sv_minimal_image_options;

/** The version of sv_minimal_image_options this header describes. */
#define SV_MINIMAL_IMAGE_OPTIONS_VERSION 1
/** Every field at its default, for this header's version. */
#define SV_MINIMAL_IMAGE_OPTIONS_INIT                                                                        \
	{                                                                                                    \
		.version = SV_MINIMAL_IMAGE_OPTIONS_VERSION                                                  \
	}
/** Sets *opts to SV_MINIMAL_IMAGE_OPTIONS_INIT of `version` (pass SV_MINIMAL_IMAGE_OPTIONS_VERSION), for
 * callers that cannot use the macro; SV_EINVAL for a version this library does not know. */
SV_EXTERN int sv_minimal_image_options_init(sv_minimal_image_options *opts, unsigned int version);

/** Runs the builder (which reuses what did not change), then imports the
 * hosted manifest it wrote through the base-image manager
 * (sv_ensure_base_image with its manifest path; the data_dir, cache and
 * eviction options come from cache). The builder's messages end up in the
 * error when it fails, and are logged (SV_LOG_INFO) when it succeeds.
 * o and cache may be NULL. *out is freed with sv_base_image_bundle_free. */
SV_EXTERN int sv_minimal_image_build(sv_base_image_bundle **out, const sv_minimal_image_options *o,
				     const sv_base_image_options *cache);

#ifdef __cplusplus
}
#endif
#endif
