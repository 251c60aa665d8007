/* The base-image manager fixture (see basefixture.h). */
#include "basefixture.h"

#include "imagesfixture.h"
#include "svtest.h"
#include "util/file.h"
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int svb_setup(void **state)
{
	svb_fixture *f = calloc(1, sizeof(*f));
	f->dir = svt_tmpdir();
	f->cache = sv_path_join(f->dir, "cache");
	f->runtime = sv_path_join(f->dir, "runtime");
	f->http = svt_http_start();
	f->bucket = svt_http_url(f->http, "/bucket");
	f->releases = svt_http_url(f->http, "/releases");
	for (size_t i = 0; i < sizeof(f->kernel); i++)
		f->kernel[i] = (char)('k' + i % 7);
	for (size_t i = 0; i < sizeof(f->rootfs); i++)
		f->rootfs[i] = (char)(i * 31 % 251);
	memset(f->initrd, 'i', sizeof(f->initrd));
	f->dl = (sv_download_options){.version = SV_DOWNLOAD_OPTIONS_VERSION,
				      .max_retries = -1,
				      .retry_backoff_ms = 10,
				      .low_speed_time_s = 1,
				      .max_redirects = 3};
	f->o = (sv_base_image_options){.version = SV_BASE_IMAGE_OPTIONS_VERSION,
				       .cache_dir = f->cache,
				       .runtime_dir = f->runtime,
				       .releases_url = f->releases,
				       .ci_bucket_url = f->bucket,
				       .download = &f->dl};
	svt_serve_bytes(f->http, "/k/vmlinux", f->kernel, sizeof(f->kernel));
	svt_serve_bytes(f->http, "/r/rootfs.ext4", f->rootfs, sizeof(f->rootfs));
	svt_serve_bytes(f->http, "/i/initrd.cpio", f->initrd, sizeof(f->initrd));
	*state = f;
	return 0;
}

int svb_teardown(void **state)
{
	svb_fixture *f = *state;
	svt_http_stop(f->http);
	free(f->bucket);
	free(f->releases);
	free(f->cache);
	free(f->runtime);
	svt_rm_tmpdir(f->dir);
	free(f);
	return 0;
}

char *svb_serve_manifest(svb_fixture *f, const char *name, const char *bundle_id, const char *rootfs_path,
			 const char *rootfs_sha, long long rootfs_size, const char *extra)
{
	char *ksha = svt_sha256_hex(f->kernel, sizeof(f->kernel));
	char *rsha = svt_sha256_hex(f->rootfs, sizeof(f->rootfs));
	char size[64] = "";
	if (rootfs_size >= 0)
		snprintf(size, sizeof(size), ",\"sizeBytes\":%lld", rootfs_size);
	char json[4096];
	snprintf(json, sizeof(json),
		 "{\"schemaVersion\":1,\"bundleId\":\"%s\",\"name\":\"test\",\"arch\":\"x86_64\","
		 "\"firecrackerVersion\":\"v1.16.1\",\"rootfsType\":\"ext4\",%s"
		 "\"kernel\":{\"url\":\"%s/k/vmlinux\",\"sha256\":\"%s\"},"
		 "\"rootfs\":{\"url\":\"%s%s\",\"sha256\":\"%s\"%s}}",
		 bundle_id, extra ? extra : "", svt_http_base(f->http), ksha, svt_http_base(f->http),
		 rootfs_path, rootfs_sha ? rootfs_sha : rsha, size);
	char path[128];
	snprintf(path, sizeof(path), "/m/%s.json", name);
	svt_http_route_text(f->http, path, 200, json);
	free(ksha);
	free(rsha);
	return svt_http_url(f->http, path);
}

void svb_serve_raw_manifest(svb_fixture *f, const char *path, const char *json)
{
	svt_http_route_text(f->http, path, 200, json);
}

int svb_pull_url(svb_fixture *f, const char *url, sv_base_image_bundle **out)
{
	sv_ensure_base_image_opts e = {.version = SV_ENSURE_BASE_IMAGE_OPTS_VERSION, .manifest_url = url};
	return sv_ensure_base_image(out, &f->o, &e);
}

void svb_pull_good(svb_fixture *f)
{
	char *url = svb_serve_manifest(f, "good", "b1", "/r/rootfs.ext4", NULL, -1, NULL);
	sv_base_image_bundle *b = NULL;
	if (svb_pull_url(f, url, &b) != 0)
		fail_msg("pulling the good bundle: %s", sv_last_error());
	sv_base_image_bundle_free(b);
	free(url);
}

void svb_expect_failure_leaves_cache(svb_fixture *f, const char *url, int code, const char *part)
{
	svb_pull_good(f);
	char *before = svt_tree_fingerprint(f->cache);
	sv_base_image_bundle *b = NULL;
	int rc = svb_pull_url(f, url, &b);
	if (rc != code || !strstr(sv_last_error(), part))
		fail_msg("got %d \"%s\", expected %d with \"%s\"", rc, sv_last_error(), code, part);
	assert_null(b);
	char *after = svt_tree_fingerprint(f->cache);
	assert_string_equal(after, before);
	assert_non_null(strstr(after, "b1/rootfs.ext4: 4096 "));
	free(before);
	free(after);
}

void svb_bound_process(unsigned alarm_s, long long max_file_bytes)
{
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit rl = {.rlim_cur = (rlim_t)max_file_bytes, .rlim_max = (rlim_t)max_file_bytes};
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		fail_msg("setrlimit(RLIMIT_FSIZE)");
	alarm(alarm_s);
}
