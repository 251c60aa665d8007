/* Hosted manifest validation: every violation names its field. */
#include "svtest.h"

#include "images/manifest.h"
#include <smartvm/error.h>
#include <stdio.h>
#include <string.h>

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int parse_with(const char *top, const char *kernel, sv_hosted_manifest *m)
{
	char text[4096];
	snprintf(text, sizeof(text),
		 "{\"schemaVersion\":1,\"bundleId\":\"b1\",\"arch\":\"x86_64\","
		 "\"firecrackerVersion\":\"v1.7.0\",\"rootfsType\":\"ext4\",%s"
		 "\"kernel\":%s,"
		 "\"rootfs\":{\"url\":\"http://h/r.ext4\",\"sha256\":\"" SHA "\"}}",
		 top, kernel);
	return sv_manifest_parse(m, text, "m.json");
}

static void expect_error(const char *top, const char *kernel, const char *message)
{
	sv_hosted_manifest m;
	assert_int_equal(parse_with(top, kernel, &m), SV_EINVAL);
	assert_string_equal(sv_last_error(), message);
}

static void test_valid_manifest_gets_defaults(void **state)
{
	(void)state;
	sv_hosted_manifest m;
	assert_int_equal(parse_with("", "{\"path\":\"k/vmlinux-6.1\"}", &m), 0);
	assert_string_equal(m.bundle_id, "b1");
	assert_string_equal(m.kernel.file_name, "vmlinux-6.1");
	assert_string_equal(m.kernel.path, "k/vmlinux-6.1");
	assert_null(m.kernel.sha256);
	assert_int_equal(m.kernel.size_bytes, -1);
	assert_string_equal(m.rootfs.file_name, "r.ext4");
	assert_string_equal(m.boot_args, "console=ttyS0 reboot=k panic=1 pci=off");
	assert_false(m.rootfs_is_read_only);
	assert_false(m.has_initrd);
	sv_manifest_clear(&m);
}

static void test_squashfs_defaults_to_read_only_and_initrd_is_parsed(void **state)
{
	(void)state;
	const char *text =
	    "{\"schemaVersion\":1,\"bundleId\":\"b.2_x-y\",\"name\":\"n\",\"arch\":\"aarch64\","
	    "\"firecrackerVersion\":\"v1.16.1\",\"rootfsType\":\"squashfs\",\"bootArgs\":\"console=ttyS0\","
	    "\"kernel\":{\"url\":\"https://h/k?x=1\",\"sha256\":\"" SHA "\",\"sizeBytes\":12},"
	    "\"rootfs\":{\"path\":\"/r.sq\",\"fileName\":\"rootfs.squashfs\"},"
	    "\"initrd\":{\"path\":\"initrd.cpio\"}}";
	sv_hosted_manifest m;
	assert_int_equal(sv_manifest_parse(&m, text, "m.json"), 0);
	assert_true(m.rootfs_is_read_only);
	assert_int_equal(m.arch, SV_ARCH_AARCH64);
	assert_string_equal(m.kernel.file_name, "k");
	assert_int_equal(m.kernel.size_bytes, 12);
	assert_string_equal(m.rootfs.file_name, "rootfs.squashfs");
	assert_true(m.has_initrd);
	assert_string_equal(m.initrd.file_name, "initrd.cpio");
	assert_string_equal(m.boot_args, "console=ttyS0");
	sv_manifest_clear(&m);
}

static void test_file_name_with_path_separator_is_refused(void **state)
{
	(void)state;
	expect_error("", "{\"path\":\"/k\",\"fileName\":\"../k\"}",
		     "manifest m.json: kernel.fileName: \"../k\" must be a plain file name (no path "
		     "separators, not bundle.json)");
}

static void test_bundle_id_with_slash_is_refused(void **state)
{
	(void)state;
	sv_hosted_manifest m;
	const char *text = "{\"schemaVersion\":1,\"bundleId\":\"a/b\",\"arch\":\"x86_64\","
			   "\"firecrackerVersion\":\"v1.7.0\",\"rootfsType\":\"ext4\","
			   "\"kernel\":{\"path\":\"/k\"},\"rootfs\":{\"path\":\"/r\"}}";
	assert_int_equal(sv_manifest_parse(&m, text, "m.json"), SV_EINVAL);
	assert_string_equal(sv_last_error(),
			    "manifest m.json: bundleId: \"a/b\" may contain only A-Z a-z 0-9 . _ -");
}

static void test_schema_version_2_is_refused(void **state)
{
	(void)state;
	sv_hosted_manifest m;
	assert_int_equal(sv_manifest_parse(&m, "{\"schemaVersion\":2}", "m.json"), SV_EINVAL);
	assert_string_equal(sv_last_error(),
			    "manifest m.json: schemaVersion: unsupported version 2 (only 1 is supported)");
}

static void test_url_artifact_without_sha256_is_refused(void **state)
{
	(void)state;
	expect_error("", "{\"url\":\"http://h/k\"}",
		     "manifest m.json: kernel.sha256: required when kernel.url is set");
}

static void test_unknown_field_is_refused(void **state)
{
	(void)state;
	expect_error("", "{\"path\":\"/k\",\"sha265\":\"x\"}",
		     "manifest m.json: kernel.sha265: unknown field");
}

static void test_bad_values_name_their_field(void **state)
{
	(void)state;
	expect_error("\"rootfsIsReadOnly\":\"yes\",", "{\"path\":\"/k\"}",
		     "manifest m.json: rootfsIsReadOnly: must be a boolean");
	expect_error("", "{\"path\":\"/k\",\"sha256\":\"abc\"}",
		     "manifest m.json: kernel.sha256: \"abc\" is not 64 hex digits");
	expect_error("", "{\"path\":\"/k\",\"sizeBytes\":-1}",
		     "manifest m.json: kernel.sizeBytes: must be a non-negative integer");
	expect_error("", "{\"url\":\"ftp://h/k\",\"sha256\":\"" SHA "\"}",
		     "manifest m.json: kernel.url: \"ftp://h/k\" is not an http or https URL");
	expect_error("", "{}", "manifest m.json: kernel: needs url or path");
	expect_error("", "{\"path\":\"/r.ext4\"}",
		     "manifest m.json: fileName: kernel, rootfs and initrd need distinct file names");
	sv_hosted_manifest m;
	assert_int_equal(
	    sv_manifest_parse(&m, "{\"schemaVersion\":1,\"bundleId\":\"b\",\"arch\":\"arm\"}", "m.json"),
	    SV_EINVAL);
	assert_string_equal(sv_last_error(), "manifest m.json: firecrackerVersion: required");
}

static int parse_remote(const char *kernel, const char *rootfs, sv_hosted_manifest *m)
{
	char text[4096];
	snprintf(text, sizeof(text),
		 "{\"schemaVersion\":1,\"bundleId\":\"b1\",\"arch\":\"x86_64\","
		 "\"firecrackerVersion\":\"v1.7.0\",\"rootfsType\":\"ext4\",\"kernel\":%s,\"rootfs\":%s}",
		 kernel, rootfs);
	return sv_manifest_parse_remote(m, text, "https://h.example/a/b/m.json?sig=1");
}

#define RURL(u) "{\"url\":\"" u "\",\"sha256\":\"" SHA "\"}"

static void test_remote_manifest_refuses_every_path(void **state)
{
	(void)state;
	sv_hosted_manifest m;
	const char *paths[] = {"/etc/shadow", "../../etc/shadow", "vmlinux", "/dev/zero"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char kernel[256];
		snprintf(kernel, sizeof(kernel), "{\"path\":\"%s\",\"sha256\":\"" SHA "\"}", paths[i]);
		assert_int_equal(parse_remote(kernel, RURL("r.ext4"), &m), SV_EINVAL);
		assert_string_equal(sv_last_error(),
				    "manifest https://h.example/a/b/m.json?sig=1: kernel.path: "
				    "not allowed in a remote manifest (use url with sha256)");
	}
	assert_int_equal(parse_remote(RURL("k"), "{\"path\":\"r.ext4\"}", &m), SV_EINVAL);
	assert_string_equal(sv_last_error(), "manifest https://h.example/a/b/m.json?sig=1: rootfs.path: "
					     "not allowed in a remote manifest (use url with sha256)");
	assert_int_equal(parse_remote(RURL("k"), "{\"sha256\":\"" SHA "\"}", &m), SV_EINVAL);
	assert_string_equal(sv_last_error(),
			    "manifest https://h.example/a/b/m.json?sig=1: rootfs: needs url");
}

static void test_remote_manifest_resolves_relative_urls_against_its_own(void **state)
{
	(void)state;
	sv_hosted_manifest m;
	assert_int_equal(parse_remote(RURL("../k/vmlinux-6.1?x=1"), RURL("r.ext4"), &m), 0);
	assert_string_equal(m.kernel.url, "https://h.example/a/k/vmlinux-6.1?x=1");
	assert_string_equal(m.kernel.file_name, "vmlinux-6.1");
	assert_string_equal(m.rootfs.url, "https://h.example/a/b/r.ext4");
	sv_manifest_clear(&m);
	assert_int_equal(parse_remote(RURL("/top/k"), RURL("//mirror.example/r.ext4"), &m), 0);
	assert_string_equal(m.kernel.url, "https://h.example/top/k");
	assert_string_equal(m.rootfs.url, "https://mirror.example/r.ext4");
	sv_manifest_clear(&m);
	assert_int_equal(parse_remote(RURL("http://other.example/k"), RURL("r.ext4"), &m), 0);
	assert_string_equal(m.kernel.url, "http://other.example/k");
	sv_manifest_clear(&m);
}

static void test_remote_manifest_url_must_stay_http_and_have_a_sha256(void **state)
{
	(void)state;
	sv_hosted_manifest m;
	assert_int_equal(parse_remote(RURL("file:///etc/passwd"), RURL("r.ext4"), &m), SV_EINVAL);
	assert_string_equal(sv_last_error(), "manifest https://h.example/a/b/m.json?sig=1: kernel.url: "
					     "\"file:///etc/passwd\" is not an http or https URL");
	assert_int_equal(parse_remote("{\"url\":\"k\"}", RURL("r.ext4"), &m), SV_EINVAL);
	assert_string_equal(sv_last_error(), "manifest https://h.example/a/b/m.json?sig=1: kernel.sha256: "
					     "required when kernel.url is set");
}

static void test_local_manifest_urls_must_be_absolute(void **state)
{
	(void)state;
	expect_error("", "{\"url\":\"k/vmlinux\",\"sha256\":\"" SHA "\"}",
		     "manifest m.json: kernel.url: \"k/vmlinux\" is not an http or https URL");
	expect_error("", "{\"url\":\"http://\",\"sha256\":\"" SHA "\"}",
		     "manifest m.json: kernel.url: \"http://\" is not an http or https URL");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_manifest_gets_defaults),
	    cmocka_unit_test(test_squashfs_defaults_to_read_only_and_initrd_is_parsed),
	    cmocka_unit_test(test_file_name_with_path_separator_is_refused),
	    cmocka_unit_test(test_bundle_id_with_slash_is_refused),
	    cmocka_unit_test(test_schema_version_2_is_refused),
	    cmocka_unit_test(test_url_artifact_without_sha256_is_refused),
	    cmocka_unit_test(test_unknown_field_is_refused),
	    cmocka_unit_test(test_bad_values_name_their_field),
	    cmocka_unit_test(test_remote_manifest_refuses_every_path),
	    cmocka_unit_test(test_remote_manifest_resolves_relative_urls_against_its_own),
	    cmocka_unit_test(test_remote_manifest_url_must_stay_http_and_have_a_sha256),
	    cmocka_unit_test(test_local_manifest_urls_must_be_absolute),
	};
	return svt_run_group(tests, NULL, NULL);
}
