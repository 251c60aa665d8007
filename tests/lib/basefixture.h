/* The base-image manager fixture shared by the images tests: a temporary
 * cache and runtime dir, an HTTP server serving a kernel, a rootfs and an
 * initrd, download options made for tests (no retries, short timeouts), hosted
 * manifests served on demand, and the "fails with this message and leaves the
 * cache exactly as it was" check. */
#ifndef SVT_BASEFIXTURE_H
#define SVT_BASEFIXTURE_H

#include "httpfixture.h"
#include <smartvm/images.h>

typedef struct {
	char *dir, *cache, *runtime;
	svt_http *http;
	char *bucket, *releases;
	char kernel[1000], rootfs[4096], initrd[300];
	sv_download_options dl;
	sv_base_image_options o;
} svb_fixture;

/* cmocka setup/teardown: *state is an svb_fixture. */
int svb_setup(void **state);
int svb_teardown(void **state);

/* Serves a hosted manifest at /m/<name>.json (bundle bundle_id) whose kernel
 * is /k/vmlinux and whose rootfs is rootfs_path on the server (sha NULL = the
 * right one, size < 0 = no sizeBytes); extra is inserted at the top level
 * ("key":value, with a trailing comma). Returns its URL (malloc'd). */
char *svb_serve_manifest(svb_fixture *f, const char *name, const char *bundle_id, const char *rootfs_path,
			 const char *rootfs_sha, long long rootfs_size, const char *extra);

/* Serves json at path. */
void svb_serve_raw_manifest(svb_fixture *f, const char *path, const char *json);

/* sv_ensure_base_image of a manifest URL with f's options. */
int svb_pull_url(svb_fixture *f, const char *url, sv_base_image_bundle **out);

/* Pulls the good bundle "b1" (manifest /m/good.json); fails the test if it cannot. */
void svb_pull_good(svb_fixture *f);

/* Pulls the good bundle "b1", then url (same bundle id, other content),
 * expects code and a message containing part, and the cache as it was
 * (files, their modes and contents, directories: nothing half-written). */
void svb_expect_failure_leaves_cache(svb_fixture *f, const char *url, int code, const char *part);

/* Bounds a test process that exercises endless inputs, so that a regression
 * fails the test instead of filling the disk or hanging: files it writes are
 * capped at max_file_bytes (writes beyond fail with EFBIG; SIGXFSZ is ignored)
 * and the process is killed after alarm_s seconds. */
void svb_bound_process(unsigned alarm_s, long long max_file_bytes);

#endif
