/* Where a hosted manifest may take its artifacts from. A remote manifest is
 * untrusted: http(s) URLs only (relative ones resolved against the manifest's
 * URL), each with a sha256, never a local path. A local manifest is the
 * caller's own: paths relative to its directory or absolute, regular files
 * only, and the cached copy never more readable than its source. */
#include "svtest.h"

#include "basefixture.h"
#include "imagesfixture.h"
#include "util/file.h"
#include <smartvm/error.h>
#include <smartvm/images.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef svb_fixture fixture;

#define SHA1 "1111111111111111111111111111111111111111111111111111111111111111"

/* A remote manifest whose kernel is the artifact JSON given. */
static char *serve_with_kernel(fixture *f, const char *name, const char *kernel)
{
	char *rsha = svt_sha256_hex(f->rootfs, sizeof(f->rootfs));
	char json[2048], path[128];
	snprintf(
	    json, sizeof(json),
	    "{\"schemaVersion\":1,\"bundleId\":\"b1\",\"arch\":\"x86_64\",\"firecrackerVersion\":\"v1.7.0\","
	    "\"rootfsType\":\"ext4\",\"kernel\":%s,"
	    "\"rootfs\":{\"url\":\"%s/r/rootfs.ext4\",\"sha256\":\"%s\"}}",
	    kernel, svt_http_base(f->http), rsha);
	snprintf(path, sizeof(path), "/m/%s.json", name);
	svb_serve_raw_manifest(f, path, json);
	free(rsha);
	return svt_http_url(f->http, path);
}

static void test_remote_manifest_may_not_name_a_local_path(void **state)
{
	fixture *f = *state;
	/* A file only root may read, as /etc/shadow. */
	char *secret = svt_write(f->dir, "secret", "root:$6$hash:19000:0:99999:7:::\n");
	assert_int_equal(chmod(secret, 0600), 0);
	char *fifo = sv_path_join(f->dir, "fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	const char *paths[] = {secret, "../../../../etc/passwd", "/dev/zero", fifo, "vmlinux"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char kernel[512], name[16];
		snprintf(kernel, sizeof(kernel), "{\"path\":\"%s\"}", paths[i]);
		snprintf(name, sizeof(name), "p%zu", i);
		char *url = serve_with_kernel(f, name, kernel);
		char expected[512];
		snprintf(expected, sizeof(expected),
			 "resolving base image from %s: manifest %s: kernel.path: not allowed in a remote "
			 "manifest (use url with sha256)",
			 url, url);
		svb_expect_failure_leaves_cache(f, url, SV_EINVAL, expected);
		assert_string_equal(sv_last_error(), expected);
		free(url);
	}
	free(fifo);
	free(secret);
}

static void test_remote_manifest_relative_urls_resolve_against_its_url(void **state)
{
	fixture *f = *state;
	char *ksha = svt_sha256_hex(f->kernel, sizeof(f->kernel));
	char *rsha = svt_sha256_hex(f->rootfs, sizeof(f->rootfs));
	char *isha = svt_sha256_hex(f->initrd, sizeof(f->initrd));
	char json[2048];
	snprintf(
	    json, sizeof(json),
	    "{\"schemaVersion\":1,\"bundleId\":\"rel\",\"arch\":\"x86_64\",\"firecrackerVersion\":\"v1.7.0\","
	    "\"rootfsType\":\"ext4\",\"kernel\":{\"url\":\"../k/vmlinux\",\"sha256\":\"%s\"},"
	    "\"rootfs\":{\"url\":\"rootfs.ext4\",\"sha256\":\"%s\"},"
	    "\"initrd\":{\"url\":\"/i/initrd.cpio\",\"sha256\":\"%s\"}}",
	    ksha, rsha, isha);
	svb_serve_raw_manifest(f, "/r/rel.json", json);
	char *url = svt_http_url(f->http, "/r/rel.json");
	sv_base_image_bundle *b = NULL;
	if (svb_pull_url(f, url, &b) != 0)
		fail_msg("%s", sv_last_error());
	char *kurl = svt_http_url(f->http, "/k/vmlinux");
	char *rurl = svt_http_url(f->http, "/r/rootfs.ext4");
	char *iurl = svt_http_url(f->http, "/i/initrd.cpio");
	assert_string_equal(b->kernel_url, kurl);
	assert_string_equal(b->rootfs_url, rurl);
	assert_string_equal(b->initrd_url, iurl);
	assert_string_equal(b->kernel_sha256, ksha);
	assert_int_equal(svt_http_hits(f->http, "/k/vmlinux"), 1);
	sv_base_image_bundle_free(b);
	free(kurl);
	free(rurl);
	free(iurl);
	free(url);
	free(ksha);
	free(rsha);
	free(isha);
}

static void test_remote_manifest_urls_must_be_http_with_sha256(void **state)
{
	fixture *f = *state;
	struct {
		const char *kernel, *message;
	} cases[] = {
	    {"{\"url\":\"file:///etc/passwd\",\"sha256\":\"" SHA1 "\"}",
	     "kernel.url: \"file:///etc/passwd\" is not an http or https URL"},
	    {"{\"url\":\"ftp://h/k\",\"sha256\":\"" SHA1 "\"}",
	     "kernel.url: \"ftp://h/k\" is not an http or https URL"},
	    {"{\"url\":\"../k/vmlinux\"}", "kernel.sha256: required when kernel.url is set"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[16];
		snprintf(name, sizeof(name), "u%zu", i);
		char *url = serve_with_kernel(f, name, cases[i].kernel);
		char expected[512];
		snprintf(expected, sizeof(expected), "resolving base image from %s: manifest %s: %s", url,
			 url, cases[i].message);
		svb_expect_failure_leaves_cache(f, url, SV_EINVAL, expected);
		assert_string_equal(sv_last_error(), expected);
		free(url);
	}
}

/* A local manifest in f->dir/src naming kernel and rootfs paths as given. */
static char *local_manifest(fixture *f, const char *kernel_path, const char *rootfs_path)
{
	char *src = sv_path_join(f->dir, "src");
	assert_int_equal(sv_mkdir_p(src, 0755), 0);
	char json[2048];
	snprintf(json, sizeof(json),
		 "{\"schemaVersion\":1,\"bundleId\":\"local\",\"arch\":\"x86_64\","
		 "\"firecrackerVersion\":\"v1.7.0\",\"rootfsType\":\"ext4\","
		 "\"kernel\":{\"path\":\"%s\"},\"rootfs\":{\"path\":\"%s\",\"fileName\":\"rootfs.ext4\"}}",
		 kernel_path, rootfs_path);
	char *m = svt_write(src, "manifest.json", json);
	free(src);
	return m;
}

static int pull_path(fixture *f, const char *manifest, sv_base_image_bundle **b)
{
	sv_ensure_base_image_opts e = {.version = SV_ENSURE_BASE_IMAGE_OPTS_VERSION,
				       .manifest_path = manifest};
	return sv_ensure_base_image(b, &f->o, &e);
}

static char *write_bytes(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
	char *p = sv_path_join(dir, name);
	assert_int_equal(sv_write_file_atomic(p, data, len, mode), 0);
	assert_int_equal(chmod(p, mode), 0);
	return p;
}

static void test_local_manifest_takes_absolute_paths_and_paths_relative_to_its_directory(void **state)
{
	fixture *f = *state;
	char *other = sv_path_join(f->dir, "other");
	assert_int_equal(sv_mkdir_p(other, 0755), 0);
	char *k = write_bytes(f->dir, "vmlinux", f->kernel, sizeof(f->kernel), 0644);
	char *r = write_bytes(other, "disk.img", f->rootfs, sizeof(f->rootfs), 0644);
	char *m = local_manifest(f, k, "../other/disk.img");
	sv_base_image_bundle *b = NULL;
	if (pull_path(f, m, &b) != 0)
		fail_msg("%s", sv_last_error());
	assert_string_equal(b->kernel_source_path, k);
	char *expected = NULL;
	assert_true(asprintf(&expected, "%s/src/../other/disk.img", f->dir) > 0);
	assert_string_equal(b->rootfs_source_path, expected);
	assert_int_equal(b->rootfs_bytes, sizeof(f->rootfs));
	sv_base_image_bundle_free(b);
	free(expected);
	free(m);
	free(r);
	free(k);
	free(other);
}

static void expect_local_failure(fixture *f, const char *manifest, int code, const char *message)
{
	int64_t max = f->dl.max_bytes; /* the good bundle's rootfs states no size */
	f->dl.max_bytes = 0;
	svb_pull_good(f);
	f->dl.max_bytes = max;
	/* Lock files stay once made; "local" has its own. */
	char *lock = sv_path_join(f->cache, ".local.lock");
	int fd = -1;
	assert_int_equal(sv_lock_file(lock, 0, &fd), 0);
	close(fd);
	free(lock);
	char *before = svt_tree_fingerprint(f->cache);
	sv_base_image_bundle *b = NULL;
	int rc = pull_path(f, manifest, &b);
	if (rc != code || strcmp(sv_last_error(), message) != 0)
		fail_msg("got %d \"%s\", expected %d \"%s\"", rc, sv_last_error(), code, message);
	char *after = svt_tree_fingerprint(f->cache);
	assert_string_equal(after, before);
	free(before);
	free(after);
}

static void test_local_manifest_paths_must_be_regular_files(void **state)
{
	fixture *f = *state;
	char *r = write_bytes(f->dir, "disk.img", f->rootfs, sizeof(f->rootfs), 0644);
	char *fifo = sv_path_join(f->dir, "fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	const char *paths[] = {"/dev/zero", fifo, f->dir};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char *m = local_manifest(f, paths[i], r);
		char expected[1024];
		snprintf(expected, sizeof(expected),
			 "ensuring base image \"local\": kernel.path: copying %s: not a regular file",
			 paths[i]);
		expect_local_failure(f, m, SV_EINVAL, expected);
		free(m);
	}
	free(fifo);
	free(r);
}

static void test_local_copy_is_never_more_readable_than_its_source(void **state)
{
	fixture *f = *state;
	umask(022); /* the cache's own files: 0644 at most */
	const mode_t modes[] = {0600, 0640, 0644, 0755};
	const mode_t cached[] = {0600, 0640, 0644, 0644};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "vmlinux-%o", (unsigned)modes[i]);
		char *k = write_bytes(f->dir, name, f->kernel, sizeof(f->kernel), modes[i]);
		char *r = write_bytes(f->dir, "disk.img", f->rootfs, sizeof(f->rootfs), 0644);
		char *m = local_manifest(f, k, r);
		sv_ensure_base_image_opts e = {
		    .version = SV_ENSURE_BASE_IMAGE_OPTS_VERSION, .manifest_path = m, .force_download = true};
		sv_base_image_bundle *b = NULL;
		if (sv_ensure_base_image(&b, &f->o, &e) != 0)
			fail_msg("%s", sv_last_error());
		struct stat st;
		assert_int_equal(stat(b->kernel_image_path, &st), 0);
		if ((st.st_mode & 07777) != cached[i])
			fail_msg("source mode %04o: cached copy has %04o, expected %04o", (unsigned)modes[i],
				 (unsigned)(st.st_mode & 07777), (unsigned)cached[i]);
		sv_base_image_bundle_free(b);
		free(m);
		free(r);
		free(k);
	}
}

static void test_local_artifact_without_size_is_capped_by_max_bytes(void **state)
{
	fixture *f = *state;
	char *k = write_bytes(f->dir, "vmlinux", f->kernel, sizeof(f->kernel), 0644);
	char *r = write_bytes(f->dir, "disk.img", f->rootfs, sizeof(f->rootfs), 0644);
	char *m = local_manifest(f, k, r);
	f->dl.max_bytes = 2048;
	char expected[1024];
	snprintf(expected, sizeof(expected),
		 "ensuring base image \"local\": rootfs.path: copying %s: larger than the limit of 2048 "
		 "bytes (max_bytes)",
		 r);
	expect_local_failure(f, m, SV_ECHECKSUM, expected);
	free(m);
	free(r);
	free(k);
}

int main(void)
{
	svb_bound_process(240, 64LL << 20);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_remote_manifest_may_not_name_a_local_path, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_remote_manifest_relative_urls_resolve_against_its_url,
					    svb_setup, svb_teardown),
	    cmocka_unit_test_setup_teardown(test_remote_manifest_urls_must_be_http_with_sha256, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(
		test_local_manifest_takes_absolute_paths_and_paths_relative_to_its_directory, svb_setup,
		svb_teardown),
	    cmocka_unit_test_setup_teardown(test_local_manifest_paths_must_be_regular_files, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_local_copy_is_never_more_readable_than_its_source, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_local_artifact_without_size_is_capped_by_max_bytes,
					    svb_setup, svb_teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
