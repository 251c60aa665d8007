/* The minimal image bundle built by tools/build_minimal_image.c: its manifest
 * tells the truth about the files, the initramfs holds what the init needs,
 * and a second build changes nothing. */
#include "svtest.h"
#include "qemu_fixture.h"

#include "util/spawn.h"
#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *manifest_path(const svq_image *img)
{
	char *dir = strdup(img->kernel);
	*strrchr(dir, '/') = '\0';
	char *path = NULL;
	assert_true(asprintf(&path, "%s/manifest.json", dir) > 0);
	free(dir);
	return path;
}

static void sha256_hex(const char *path, char hex[65], long long *size)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	unsigned char buf[65536];
	size_t n;
	*size = 0;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		EVP_DigestUpdate(ctx, buf, n);
		*size += (long long)n;
	}
	fclose(f);
	unsigned char md[32];
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static void test_manifest_checksums_and_sizes_match_the_files(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	char *mp = manifest_path(img);
	json_t *m = json_load_file(mp, 0, NULL);
	assert_non_null(m);
	assert_int_equal(json_integer_value(json_object_get(m, "schemaVersion")), 1);
	assert_string_equal(json_string_value(json_object_get(m, "bundleId")), "minimal");
	assert_string_equal(json_string_value(json_object_get(m, "arch")), "x86_64");
	assert_string_equal(json_string_value(json_object_get(m, "rootfsType")), "ext4");
	assert_true(json_is_true(json_object_get(m, "rootfsIsReadOnly")));
	const char *keys[] = { "kernel", "initrd", "rootfs" };
	for (int i = 0; i < 3; i++) {
		json_t *a = json_object_get(m, keys[i]);
		char hex[65];
		long long size = 0;
		sha256_hex(json_string_value(json_object_get(a, "path")), hex, &size);
		assert_string_equal(json_string_value(json_object_get(a, "sha256")), hex);
		assert_int_equal(json_integer_value(json_object_get(a, "sizeBytes")), size);
	}
	json_decref(m);
	free(mp);
}

static void test_initramfs_holds_init_busybox_devices_and_modules(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	struct archive *a = archive_read_new();
	archive_read_support_filter_gzip(a);
	archive_read_support_format_cpio(a);
	assert_int_equal(archive_read_open_filename(a, img->initrd, 65536), ARCHIVE_OK);
	const char *want[] = { "init", "bin/busybox", "bin/sh", "dev/console", "lib/modules/virtio_ring.ko",
			       "lib/modules/virtio_mmio.ko", "lib/modules/virtio_blk.ko", "lib/modules/virtio_net.ko",
			       "lib/modules/net_failover.ko", "lib/modules/failover.ko", "lib/modules/virtio.ko",
			       /* the guest agent and its transports (issue 12) */
			       "sbin/smartvm-agent", "lib/modules/virtio_console.ko", "lib/modules/vsock.ko",
			       "lib/modules/vmw_vsock_virtio_transport_common.ko",
			       "lib/modules/vmw_vsock_virtio_transport.ko" };
	bool found[sizeof(want) / sizeof(*want)] = { 0 };
	struct archive_entry *e;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
			if (strcmp(archive_entry_pathname(e), want[i]) == 0) {
				found[i] = true;
				if (strcmp(want[i], "dev/console") == 0)
					assert_true(S_ISCHR(archive_entry_mode(e)));
				if (strcmp(want[i], "init") == 0)
					assert_true(archive_entry_mode(e) & 0100);
			}
	}
	archive_read_free(a);
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
		if (!found[i])
			fail_msg("%s is missing from the initramfs", want[i]);
}

static void test_second_build_changes_nothing(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	char *mp = manifest_path(img);
	struct stat before, after;
	assert_int_equal(stat(mp, &before), 0);
	char *tool = NULL, *init = NULL, *dir = strdup(mp);
	*strrchr(dir, '/') = '\0';
	*strrchr(dir, '/') = '\0'; /* <cache>/bundle -> <cache> */
	assert_true(asprintf(&tool, "%s/tools/smartvm-build-minimal-image", getenv("SMARTVM_BUILD_ROOT")) > 0);
	assert_true(asprintf(&init, "%s/guest/smartvm-init", getenv("SMARTVM_BUILD_ROOT")) > 0);
	const char *argv[] = { tool, "--init", init, "--cache-dir", dir, NULL };
	int code = -1;
	char *out = NULL;
	long long t0 = sv_now_ms();
	assert_int_equal(sv_run(argv, NULL, 60000, &code, &out, NULL), 0);
	assert_int_equal(code, 0);
	assert_true(sv_now_ms() - t0 < 5000);
	out[strcspn(out, "\n")] = '\0';
	assert_string_equal(out, mp);
	assert_int_equal(stat(mp, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
	assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	free(out);
	free(tool);
	free(init);
	free(dir);
	free(mp);
}

static void test_tool_without_init_explains_usage(void **state)
{
	(void)state;
	char *tool = NULL;
	assert_true(asprintf(&tool, "%s/tools/smartvm-build-minimal-image", getenv("SMARTVM_BUILD_ROOT")) > 0);
	const char *argv[] = { tool, NULL };
	int code = -1;
	char *err = NULL;
	assert_int_equal(sv_run(argv, NULL, 10000, &code, NULL, &err), 0);
	assert_int_equal(code, 2);
	assert_true(strncmp(err, "usage: smartvm-build-minimal-image --init PATH", 46) == 0);
	free(err);
	free(tool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest_checksums_and_sizes_match_the_files),
		cmocka_unit_test(test_initramfs_holds_init_busybox_devices_and_modules),
		cmocka_unit_test(test_second_build_changes_nothing),
		cmocka_unit_test(test_tool_without_init_explains_usage),
	};
	return svt_run_group(tests, NULL, NULL);
}
