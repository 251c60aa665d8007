/* The base-image manager against a release page, a CI bucket and hosted
 * manifests served on 127.0.0.1: happy paths end to end, and every failure
 * ends in a clear error with the cache exactly as it was. */
#include "svtest.h"

#include "httpfixture.h"
#include "basefixture.h"
#include "imagesfixture.h"
#include "util/file.h"
#include "util/spawn.h"
#include <limits.h>
#include <smartvm/error.h>
#include <smartvm/images.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CI "firecracker-ci/v1.16/x86_64/"
#define SHA1 "1111111111111111111111111111111111111111111111111111111111111111"

typedef svb_fixture fixture;

static void test_latest_preset_resolves_the_ci_listing_across_pages(void **state)
{
	fixture *f = *state;
	char location[256];
	snprintf(location, sizeof(location), "%s/tag/v1.16.1", f->releases);
	svt_http_response latest = {.status = 302, .location = location};
	svt_http_route(f->http, "/releases/latest", NULL, &latest);
	const char *page1[] = {CI "vmlinux-5.10.210", CI "ubuntu-22.04.ext4", CI "vmlinux-5.10.9"};
	const char *page2[] = {CI "vmlinux-6.1.102", CI "ubuntu-24.04.squashfs", CI "ubuntu-24.04.ext4",
			       CI "vmlinux-6.1.102.config", CI "debug/vmlinux-9.9.9"};
	char *x1 = svt_listing_xml(page1, 3, "next+/token");
	char *x2 = svt_listing_xml(page2, 5, NULL);
	svt_http_route(f->http, "/bucket", "continuation-token=next+/token",
		       &(svt_http_response){.body = x2, .body_len = strlen(x2)});
	svt_http_route(f->http, "/bucket", "prefix=" CI,
		       &(svt_http_response){.body = x1, .body_len = strlen(x1)});
	char kernel[1024], rootfs[1024];
	memset(kernel, 'K', sizeof(kernel));
	memset(rootfs, 'R', sizeof(rootfs));
	svt_serve_bytes(f->http, "/bucket/" CI "vmlinux-6.1.102", kernel, sizeof(kernel));
	svt_serve_bytes(f->http, "/bucket/" CI "ubuntu-24.04.squashfs", rootfs, sizeof(rootfs));

	sv_base_image_bundle *b = NULL;
	assert_int_equal(sv_ensure_base_image(&b, &f->o, NULL), 0);
	assert_int_equal(svt_http_hits(f->http, "/bucket"), 2);
	assert_int_equal(b->preset, SV_BASE_IMAGE_PRESET_LATEST);
	assert_int_equal(b->version, SV_BASE_IMAGE_BUNDLE_VERSION);
	assert_string_equal(b->ci_version, "v1.16");
	assert_string_equal(b->firecracker_version, "v1.16.1");
	assert_string_equal(b->bundle_id,
			    "firecracker-ci-v1.16-x86_64-vmlinux-6.1.102-ubuntu-24.04.squashfs");
	assert_int_equal(b->rootfs_type, SV_ROOTFS_SQUASHFS);
	assert_true(b->rootfs_is_read_only);
	assert_string_equal(b->kernel_key, CI "vmlinux-6.1.102");
	assert_string_equal(b->rootfs_key, CI "ubuntu-24.04.squashfs");
	assert_string_equal(b->bucket_url, f->bucket);
	assert_int_equal(b->kernel_bytes, 1024);
	char *ksha = svt_sha256_hex(kernel, sizeof(kernel));
	assert_string_equal(b->kernel_sha256, ksha);
	free(ksha);
	char *expected_dir = sv_path_join(f->cache, b->bundle_id);
	assert_string_equal(b->bundle_dir, expected_dir);
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(sv_read_file(b->rootfs_path, 1 << 20, &text, &len), 0);
	assert_int_equal(len, 1024);
	assert_memory_equal(text, rootfs, 1024);
	free(text);
	/* bundle dir: kernel, rootfs, bundle.json; cache: the bundle and two locks. */
	assert_int_equal(svt_dir_entries(expected_dir), 3);
	assert_int_equal(svt_dir_entries(f->cache), 3);
	free(expected_dir);
	sv_base_image_bundle_free(b);
	free(x1);
	free(x2);
}

static void test_lts_preset_pins_v1_7_without_asking_for_latest(void **state)
{
	fixture *f = *state;
	const char *keys[] = {"firecracker-ci/v1.7/x86_64/vmlinux-5.10.217",
			      "firecracker-ci/v1.7/x86_64/ubuntu-22.04.ext4"};
	char *xml = svt_listing_xml(keys, 2, NULL);
	svt_http_route(f->http, "/bucket", "prefix=firecracker-ci/v1.7/x86_64/",
		       &(svt_http_response){.body = xml, .body_len = strlen(xml)});
	char blob[1024] = {0};
	svt_serve_bytes(f->http, "/bucket/firecracker-ci/v1.7/x86_64/vmlinux-5.10.217", blob, 1024);
	svt_serve_bytes(f->http, "/bucket/firecracker-ci/v1.7/x86_64/ubuntu-22.04.ext4", blob, 1024);
	sv_ensure_base_image_opts e = {.version = SV_ENSURE_BASE_IMAGE_OPTS_VERSION,
				       .preset = SV_BASE_IMAGE_PRESET_LTS};
	sv_base_image_bundle *b = NULL;
	assert_int_equal(sv_ensure_base_image(&b, &f->o, &e), 0);
	assert_int_equal(svt_http_hits(f->http, "/releases/latest"), 0);
	assert_string_equal(b->ci_version, "v1.7");
	assert_string_equal(b->firecracker_version, "v1.7.0");
	assert_int_equal(b->rootfs_type, SV_ROOTFS_EXT4);
	assert_false(b->rootfs_is_read_only);
	assert_string_equal(b->boot_args, "console=ttyS0 reboot=k panic=1 pci=off");
	sv_base_image_bundle_free(b);
	free(xml);
}

static void test_listing_without_kernel_fails_naming_the_listing(void **state)
{
	fixture *f = *state;
	const char *keys[] = {"firecracker-ci/v1.7/x86_64/ubuntu-22.04.ext4"};
	char *xml = svt_listing_xml(keys, 1, NULL);
	svt_http_route(f->http, "/bucket", NULL, &(svt_http_response){.body = xml, .body_len = strlen(xml)});
	svb_pull_good(f);
	char *before = svt_tree_fingerprint(f->cache);
	sv_ensure_base_image_opts e = {.version = SV_ENSURE_BASE_IMAGE_OPTS_VERSION,
				       .preset = SV_BASE_IMAGE_PRESET_LTS};
	sv_base_image_bundle *b = NULL;
	assert_int_equal(sv_ensure_base_image(&b, &f->o, &e), SV_EBASE_IMAGE_RESOLVE_FAILED);
	char expected[512];
	snprintf(expected, sizeof(expected),
		 "resolving base image (preset lts, x86_64): no kernel (vmlinux-X.Y.Z) under "
		 "firecracker-ci/v1.7/x86_64/ in %s?list-type=2&prefix=firecracker-ci%%2Fv1.7%%2Fx86_64%%2F",
		 f->bucket);
	assert_string_equal(sv_last_error(), expected);
	char *after = svt_tree_fingerprint(f->cache);
	assert_string_equal(after, before);
	free(before);
	free(after);
	free(xml);
}

static void test_hosted_manifest_url_with_initrd(void **state)
{
	fixture *f = *state;
	char *isha = svt_sha256_hex(f->initrd, sizeof(f->initrd));
	char extra[512];
	snprintf(extra, sizeof(extra),
		 "\"bootArgs\":\"console=ttyS0 quiet\",\"rootfsIsReadOnly\":true,"
		 "\"initrd\":{\"url\":\"%s/i/initrd.cpio\",\"sha256\":\"%s\",\"sizeBytes\":300},",
		 svt_http_base(f->http), isha);
	char *url = svb_serve_manifest(f, "m", "hosted-1", "/r/rootfs.ext4", NULL, 4096, extra);
	sv_base_image_bundle *b = NULL;
	assert_int_equal(svb_pull_url(f, url, &b), 0);
	assert_int_equal(b->preset, SV_BASE_IMAGE_PRESET_HOSTED);
	assert_int_equal(b->source_type, SV_BASE_IMAGE_SOURCE_HOSTED_MANIFEST);
	assert_string_equal(b->manifest_url, url);
	assert_string_equal(b->boot_args, "console=ttyS0 quiet");
	assert_true(b->rootfs_is_read_only);
	assert_string_equal(b->ci_version, "v1.16");
	assert_non_null(b->initrd_path);
	assert_string_equal(b->initrd_sha256, isha);
	assert_int_equal(b->initrd_bytes, 300);
	assert_int_equal(b->rootfs_bytes, 4096);
	assert_true(sv_path_exists(b->initrd_path));
	sv_base_image_bundle_free(b);
	free(url);
	free(isha);
}

static void test_hosted_manifest_path_with_relative_artifacts_needs_no_network(void **state)
{
	fixture *f = *state;
	char *src = sv_path_join(f->dir, "src");
	assert_int_equal(sv_mkdir_p(src, 0755), 0);
	char *kpath = sv_path_join(src, "vmlinux");
	assert_int_equal(sv_write_file_atomic(kpath, f->kernel, sizeof(f->kernel), 0644), 0);
	char *rpath = sv_path_join(src, "disk.img");
	assert_int_equal(sv_write_file_atomic(rpath, f->rootfs, sizeof(f->rootfs), 0644), 0);
	char *manifest =
	    svt_write(src, "manifest.json",
		      "{\"schemaVersion\":1,\"bundleId\":\"local\",\"arch\":\"x86_64\","
		      "\"firecrackerVersion\":\"v1.7.0\",\"rootfsType\":\"ext4\","
		      "\"kernel\":{\"path\":\"vmlinux\"},"
		      "\"rootfs\":{\"path\":\"disk.img\",\"fileName\":\"rootfs.ext4\",\"sizeBytes\":4096}}");
	f->o.hosted_manifest_path = manifest;
	sv_ensure_base_image_opts e = {.version = SV_ENSURE_BASE_IMAGE_OPTS_VERSION,
				       .preset = SV_BASE_IMAGE_PRESET_HOSTED};
	sv_base_image_bundle *b = NULL;
	assert_int_equal(sv_ensure_base_image(&b, &f->o, &e), 0);
	assert_int_equal(svt_http_total_hits(f->http), 0);
	assert_string_equal(b->manifest_path, manifest);
	assert_string_equal(b->rootfs_source_path, rpath);
	char *expected = sv_path_join(b->bundle_dir, "rootfs.ext4");
	assert_string_equal(b->rootfs_path, expected);
	free(expected);
	sv_base_image_bundle_free(b);
	free(manifest);
	free(kpath);
	free(rpath);
	free(src);
}

static void test_hosted_preset_without_manifest_is_refused(void **state)
{
	fixture *f = *state;
	sv_ensure_base_image_opts e = {.version = SV_ENSURE_BASE_IMAGE_OPTS_VERSION,
				       .preset = SV_BASE_IMAGE_PRESET_HOSTED};
	sv_base_image_bundle *b = NULL;
	assert_int_equal(sv_ensure_base_image(&b, &f->o, &e), SV_EINVAL);
	assert_string_equal(sv_last_error(),
			    "preset: \"hosted\" needs hosted_manifest_url or hosted_manifest_path");
}

static void test_cached_bundle_is_served_without_download_and_stamped(void **state)
{
	fixture *f = *state;
	char *url = svb_serve_manifest(f, "m", "b1", "/r/rootfs.ext4", NULL, -1, NULL);
	sv_base_image_bundle *first = NULL, *second = NULL;
	assert_int_equal(svb_pull_url(f, url, &first), 0);
	usleep(5000);
	assert_int_equal(svb_pull_url(f, url, &second), 0);
	assert_int_equal(svt_http_hits(f->http, "/r/rootfs.ext4"), 1);
	assert_int_equal(svt_http_hits(f->http, "/k/vmlinux"), 1);
	assert_string_equal(first->created_at, second->created_at);
	assert_true(strcmp(second->last_accessed_at, first->last_accessed_at) > 0);
	sv_base_image_bundle_free(first);
	sv_base_image_bundle_free(second);
	free(url);
}

static void test_force_download_fetches_again(void **state)
{
	fixture *f = *state;
	char *url = svb_serve_manifest(f, "m", "b1", "/r/rootfs.ext4", NULL, -1, NULL);
	sv_base_image_bundle *b = NULL;
	assert_int_equal(svb_pull_url(f, url, &b), 0);
	sv_base_image_bundle_free(b);
	sv_ensure_base_image_opts e = {
	    .version = SV_ENSURE_BASE_IMAGE_OPTS_VERSION, .manifest_url = url, .force_download = true};
	assert_int_equal(sv_ensure_base_image(&b, &f->o, &e), 0);
	assert_int_equal(svt_http_hits(f->http, "/r/rootfs.ext4"), 2);
	assert_int_equal(svt_dir_entries(f->cache), 3); /* b1, .lock, .b1.lock: no leftovers */
	sv_base_image_bundle_free(b);
	free(url);
}

static void test_server_error_is_retried(void **state)
{
	fixture *f = *state;
	f->dl.max_retries = 2;
	svt_http_route(
	    f->http, "/r/flaky.ext4", NULL,
	    &(svt_http_response){
		.body = f->rootfs, .body_len = sizeof(f->rootfs), .fail_first = 1, .fail_status = 500});
	char *url = svb_serve_manifest(f, "m", "b1", "/r/flaky.ext4", NULL, -1, NULL);
	sv_base_image_bundle *b = NULL;
	assert_int_equal(svb_pull_url(f, url, &b), 0);
	assert_int_equal(svt_http_hits(f->http, "/r/flaky.ext4"), 2);
	sv_base_image_bundle_free(b);
	free(url);
}

static void test_checksum_mismatch_leaves_cache_unchanged(void **state)
{
	fixture *f = *state;
	/* The manifest announces a new rootfs (a cache miss), the server sends other bytes. */
	char other[4096] = {1}, announced[4096] = {2};
	svt_serve_bytes(f->http, "/r/other.ext4", other, sizeof(other));
	char *rsha = svt_sha256_hex(announced, sizeof(announced));
	char *url = svb_serve_manifest(f, "bad", "b1", "/r/other.ext4", rsha, -1, NULL);
	char *osha = svt_sha256_hex(other, sizeof(other));
	char part[512];
	snprintf(part, sizeof(part),
		 "ensuring base image \"b1\": rootfs: downloading %s/r/other.ext4: SHA-256 mismatch: "
		 "expected %s, got %s",
		 svt_http_base(f->http), rsha, osha);
	svb_expect_failure_leaves_cache(f, url, SV_ECHECKSUM, part);
	assert_string_equal(sv_last_error(), part);
	free(rsha);
	free(osha);
	free(url);
}

static void test_truncated_body_leaves_cache_unchanged(void **state)
{
	fixture *f = *state;
	char other[4096] = {2};
	svt_http_route(
	    f->http, "/r/cut.ext4", NULL,
	    &(svt_http_response){
		.body = other, .body_len = sizeof(other), .fault = SVT_FAULT_TRUNCATE, .fault_after = 100});
	char *sha = svt_sha256_hex(other, sizeof(other));
	char *url = svb_serve_manifest(f, "bad", "b1", "/r/cut.ext4", sha, -1, NULL);
	svb_expect_failure_leaves_cache(f, url, SV_EDOWNLOAD,
					"/r/cut.ext4: transfer closed with 3996 bytes remaining");
	free(sha);
	free(url);
}

static void test_size_mismatch_leaves_cache_unchanged(void **state)
{
	fixture *f = *state;
	char *url = svb_serve_manifest(f, "bad", "b1", "/r/rootfs.ext4", NULL, 4097, NULL);
	svb_expect_failure_leaves_cache(f, url, SV_ECHECKSUM,
					"/r/rootfs.ext4: size mismatch: expected 4097 bytes, got 4096");
	free(url);
	url = svb_serve_manifest(f, "bad2", "b1", "/r/rootfs.ext4", NULL, 4000, NULL);
	svb_expect_failure_leaves_cache(f, url, SV_ECHECKSUM,
					"/r/rootfs.ext4: size mismatch: more than the expected 4000 bytes");
	free(url);
}

static void test_not_found_leaves_cache_unchanged(void **state)
{
	fixture *f = *state;
	char *url = svb_serve_manifest(f, "bad", "b1", "/r/missing.ext4", SHA1, -1, NULL);
	svb_expect_failure_leaves_cache(f, url, SV_EDOWNLOAD, "/r/missing.ext4: HTTP 404");
	free(url);
}

static void test_persistent_server_error_fails_after_retries(void **state)
{
	fixture *f = *state;
	f->dl.max_retries = 2;
	svt_http_route_text(f->http, "/r/down.ext4", 503, "down");
	char *url = svb_serve_manifest(f, "bad", "b1", "/r/down.ext4", SHA1, -1, NULL);
	svb_expect_failure_leaves_cache(f, url, SV_EDOWNLOAD, "/r/down.ext4: HTTP 503 (after 3 attempts)");
	assert_int_equal(svt_http_hits(f->http, "/r/down.ext4"), 3);
	free(url);
}

static void test_stalled_server_times_out_and_leaves_cache_unchanged(void **state)
{
	fixture *f = *state;
	char other[4096] = {3};
	svt_http_route(f->http, "/r/stall.ext4", NULL,
		       &(svt_http_response){.body = other,
					    .body_len = sizeof(other),
					    .fault = SVT_FAULT_STALL,
					    .fault_after = 10,
					    .stall_ms = 20000});
	char *sha = svt_sha256_hex(other, sizeof(other));
	char *url = svb_serve_manifest(f, "bad", "b1", "/r/stall.ext4", sha, -1, NULL);
	long long start = sv_now_ms();
	svb_expect_failure_leaves_cache(f, url, SV_EDOWNLOAD, "/r/stall.ext4: Operation too slow");
	assert_true(sv_now_ms() - start < 10000);
	free(sha);
	free(url);
}

static void test_redirect_loop_is_bounded_and_leaves_cache_unchanged(void **state)
{
	fixture *f = *state;
	char *loop = svt_http_url(f->http, "/r/loop.ext4");
	svt_http_route(f->http, "/r/loop.ext4", NULL, &(svt_http_response){.status = 302, .location = loop});
	char *url = svb_serve_manifest(f, "bad", "b1", "/r/loop.ext4", SHA1, -1, NULL);
	svb_expect_failure_leaves_cache(f, url, SV_EDOWNLOAD, "/r/loop.ext4: Maximum (3) redirects followed");
	assert_int_equal(svt_http_hits(f->http, "/r/loop.ext4"), 4);
	free(url);
	free(loop);
}

static void test_file_name_with_separator_leaves_cache_unchanged(void **state)
{
	fixture *f = *state;
	char *url = svb_serve_manifest(f, "bad", "b1", "/r/rootfs.ext4", NULL, -1, NULL);
	free(url);
	char json[1024];
	snprintf(
	    json, sizeof(json),
	    "{\"schemaVersion\":1,\"bundleId\":\"b1\",\"arch\":\"x86_64\",\"firecrackerVersion\":\"v1.7.0\","
	    "\"rootfsType\":\"ext4\",\"kernel\":{\"url\":\"/k\",\"sha256\":\"%s\",\"fileName\":\"../../"
	    "escape\"},"
	    "\"rootfs\":{\"url\":\"/r\",\"sha256\":\"%s\"}}",
	    SHA1, SHA1);
	svt_http_route_text(f->http, "/m/sep.json", 200, json);
	url = svt_http_url(f->http, "/m/sep.json");
	svb_expect_failure_leaves_cache(
	    f, url, SV_EINVAL, "/m/sep.json: kernel.fileName: \"../../escape\" must be a plain file name");
	free(url);
}

static void test_bundle_id_with_slash_leaves_cache_unchanged(void **state)
{
	fixture *f = *state;
	svb_serve_raw_manifest(
	    f, "/m/slash.json",
	    "{\"schemaVersion\":1,\"bundleId\":\"../"
	    "b1\",\"arch\":\"x86_64\",\"firecrackerVersion\":\"v1.7.0\","
	    "\"rootfsType\":\"ext4\",\"kernel\":{\"path\":\"/k\"},\"rootfs\":{\"path\":\"/r\"}}");
	char *url = svt_http_url(f->http, "/m/slash.json");
	svb_expect_failure_leaves_cache(f, url, SV_EINVAL,
					"bundleId: \"../b1\" may contain only A-Z a-z 0-9 . _ -");
	free(url);
}

static void test_schema_version_2_leaves_cache_unchanged(void **state)
{
	fixture *f = *state;
	svb_serve_raw_manifest(f, "/m/v2.json", "{\"schemaVersion\":2,\"bundleId\":\"b1\"}");
	char *url = svt_http_url(f->http, "/m/v2.json");
	char expected[512];
	snprintf(expected, sizeof(expected),
		 "resolving base image from %s: manifest %s: schemaVersion: unsupported version 2 (only 1 is "
		 "supported)",
		 url, url);
	svb_expect_failure_leaves_cache(f, url, SV_EINVAL, expected);
	assert_string_equal(sv_last_error(), expected);
	free(url);
}

static void test_url_artifact_without_sha256_leaves_cache_unchanged(void **state)
{
	fixture *f = *state;
	svb_serve_raw_manifest(
	    f, "/m/nosha.json",
	    "{\"schemaVersion\":1,\"bundleId\":\"b1\",\"arch\":\"x86_64\",\"firecrackerVersion\":\"v1.7.0\","
	    "\"rootfsType\":\"ext4\",\"kernel\":{\"url\":\"/k\",\"sha256\":\"" SHA1 "\"},"
	    "\"rootfs\":{\"url\":\"http://127.0.0.1:1/r\"}}");
	char *url = svt_http_url(f->http, "/m/nosha.json");
	svb_expect_failure_leaves_cache(f, url, SV_EINVAL, "rootfs.sha256: required when rootfs.url is set");
	free(url);
}

/* The second process of the concurrency test: pulls and exits 0 on success. */
static int child_pull(const char *cache, const char *runtime, const char *url)
{
	sv_download_options dl = {.version = SV_DOWNLOAD_OPTIONS_VERSION, .max_retries = -1};
	sv_base_image_options o = {.version = SV_BASE_IMAGE_OPTIONS_VERSION,
				   .cache_dir = cache,
				   .runtime_dir = runtime,
				   .download = &dl};
	sv_ensure_base_image_opts e = {.version = SV_ENSURE_BASE_IMAGE_OPTS_VERSION, .manifest_url = url};
	sv_base_image_bundle *b = NULL;
	int rc = sv_ensure_base_image(&b, &o, &e);
	if (rc)
		fprintf(stderr, "child pull: %s\n", sv_last_error());
	sv_base_image_bundle_free(b);
	return rc ? 1 : 0;
}

static void test_two_processes_pulling_the_same_bundle_download_once(void **state)
{
	fixture *f = *state;
	svt_http_route(
	    f->http, "/r/slow.ext4", NULL,
	    &(svt_http_response){.body = f->rootfs, .body_len = sizeof(f->rootfs), .delay_ms = 600});
	char *url = svb_serve_manifest(f, "m", "shared", "/r/slow.ext4", NULL, -1, NULL);
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	const char *argv[] = {self, "--pull", f->cache, f->runtime, url, NULL};
	sv_spawn_opts so = {.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = 2};
	pid_t pid;
	assert_int_equal(sv_spawn(&so, &pid, NULL), 0);
	sv_base_image_bundle *b = NULL;
	assert_int_equal(svb_pull_url(f, url, &b), 0);
	int status = 0;
	assert_int_equal(sv_reap(pid, 30000, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(svt_http_hits(f->http, "/m/m.json"), 2);
	assert_int_equal(svt_http_hits(f->http, "/r/slow.ext4"), 1);
	assert_int_equal(svt_http_hits(f->http, "/k/vmlinux"), 1);
	assert_int_equal(svt_dir_entries(f->cache), 3);
	sv_base_image_bundle_free(b);
	free(url);
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "--pull"))
		return child_pull(argv[2], argv[3], argv[4]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_latest_preset_resolves_the_ci_listing_across_pages,
					    svb_setup, svb_teardown),
	    cmocka_unit_test_setup_teardown(test_lts_preset_pins_v1_7_without_asking_for_latest, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_listing_without_kernel_fails_naming_the_listing, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_hosted_manifest_url_with_initrd, svb_setup, svb_teardown),
	    cmocka_unit_test_setup_teardown(
		test_hosted_manifest_path_with_relative_artifacts_needs_no_network, svb_setup, svb_teardown),
	    cmocka_unit_test_setup_teardown(test_hosted_preset_without_manifest_is_refused, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_cached_bundle_is_served_without_download_and_stamped,
					    svb_setup, svb_teardown),
	    cmocka_unit_test_setup_teardown(test_force_download_fetches_again, svb_setup, svb_teardown),
	    cmocka_unit_test_setup_teardown(test_server_error_is_retried, svb_setup, svb_teardown),
	    cmocka_unit_test_setup_teardown(test_checksum_mismatch_leaves_cache_unchanged, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_body_leaves_cache_unchanged, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_size_mismatch_leaves_cache_unchanged, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_not_found_leaves_cache_unchanged, svb_setup, svb_teardown),
	    cmocka_unit_test_setup_teardown(test_persistent_server_error_fails_after_retries, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_stalled_server_times_out_and_leaves_cache_unchanged,
					    svb_setup, svb_teardown),
	    cmocka_unit_test_setup_teardown(test_redirect_loop_is_bounded_and_leaves_cache_unchanged,
					    svb_setup, svb_teardown),
	    cmocka_unit_test_setup_teardown(test_file_name_with_separator_leaves_cache_unchanged, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_bundle_id_with_slash_leaves_cache_unchanged, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_schema_version_2_leaves_cache_unchanged, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_url_artifact_without_sha256_leaves_cache_unchanged,
					    svb_setup, svb_teardown),
	    cmocka_unit_test_setup_teardown(test_two_processes_pulling_the_same_bundle_download_once,
					    svb_setup, svb_teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
