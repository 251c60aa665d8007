/* CI bucket listing: ListObjectsV2 pages and the numeric choice of kernel and
 * root filesystem. */
#include "svtest.h"

#include "images/ci_listing.h"
#include "imagesfixture.h"
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P "firecracker-ci/v1.16/x86_64/"

static void load(sv_ci_objects *objs, const char *const *keys, size_t n)
{
	char *xml = svt_listing_xml(keys, n, NULL);
	char *token = NULL;
	assert_int_equal(sv_ci_parse_page(objs, &token, xml, strlen(xml), "u"), 0);
	assert_null(token);
	free(xml);
}

static void test_page_yields_keys_sizes_and_continuation_token(void **state)
{
	(void)state;
	const char *keys[] = {P "vmlinux-5.10.1", P "ubuntu-22.04.ext4"};
	char *xml = svt_listing_xml(keys, 2, "tok/2==");
	sv_ci_objects objs = {0};
	char *token = NULL;
	assert_int_equal(sv_ci_parse_page(&objs, &token, xml, strlen(xml), "u"), 0);
	assert_int_equal(objs.n, 2);
	assert_string_equal(objs.items[1].key, P "ubuntu-22.04.ext4");
	assert_int_equal(objs.items[1].size, 1024);
	assert_string_equal(token, "tok/2==");
	free(token);
	free(xml);
	sv_ci_objects_clear(&objs);
}

static void test_non_listing_xml_is_refused(void **state)
{
	(void)state;
	sv_ci_objects objs = {0};
	char *token = NULL;
	const char *err = "<Error><Code>AccessDenied</Code></Error>";
	assert_int_equal(sv_ci_parse_page(&objs, &token, err, strlen(err), "http://b?list-type=2"),
			 SV_EBASE_IMAGE_RESOLVE_FAILED);
	assert_string_equal(
	    sv_last_error(),
	    "listing http://b?list-type=2: response is not a ListBucketResult (root element <Error>)");
	assert_int_equal(sv_ci_parse_page(&objs, &token, "not xml", 7, "u"), SV_EBASE_IMAGE_RESOLVE_FAILED);
	assert_string_equal(sv_last_error(), "listing u: response is not XML");
}

static void test_listing_holds_at_most_max_objects(void **state)
{
	(void)state;
	/* Pages of 1000 keys, as S3 sends them, until one goes past the cap. */
	enum { PER_PAGE = 1000 };
	char(*names)[64] = calloc(PER_PAGE, sizeof(*names));
	const char **keys = calloc(PER_PAGE, sizeof(*keys));
	sv_ci_objects objs = {0};
	int rc = 0;
	for (int page = 0; !rc && page <= SV_CI_MAX_OBJECTS / PER_PAGE; page++) {
		for (int i = 0; i < PER_PAGE; i++) {
			snprintf(names[i], sizeof(names[i]), P "obj-%d-%d", page, i);
			keys[i] = names[i];
		}
		char *xml = svt_listing_xml(keys, PER_PAGE, "next");
		char *token = NULL;
		rc = sv_ci_parse_page(&objs, &token, xml, strlen(xml), "u");
		free(token);
		free(xml);
	}
	assert_int_equal(rc, SV_EBASE_IMAGE_RESOLVE_FAILED);
	char expected[128];
	snprintf(expected, sizeof(expected), "listing u: more than %d objects", SV_CI_MAX_OBJECTS);
	assert_string_equal(sv_last_error(), expected);
	assert_int_equal(objs.n, SV_CI_MAX_OBJECTS);
	sv_ci_objects_clear(&objs);
	free(keys);
	free(names);
}

static void test_key_longer_than_s3_allows_is_refused(void **state)
{
	(void)state;
	char *key = malloc(1026);
	memset(key, 'k', 1025);
	key[1025] = '\0';
	const char *keys[] = {key};
	char *xml = svt_listing_xml(keys, 1, NULL);
	sv_ci_objects objs = {0};
	char *token = NULL;
	assert_int_equal(sv_ci_parse_page(&objs, &token, xml, strlen(xml), "u"),
			 SV_EBASE_IMAGE_RESOLVE_FAILED);
	assert_string_equal(sv_last_error(), "listing u: a key is longer than 1024 bytes");
	sv_ci_objects_clear(&objs);
	free(xml);
	free(key);
}

static void test_highest_kernel_is_chosen_numerically(void **state)
{
	(void)state;
	const char *keys[] = {P "vmlinux-5.10.9",	 P "vmlinux-5.10.210",	  P "vmlinux-5.10.210.config",
			      P "vmlinux-6.1.9-no-acpi", P "debug/vmlinux-9.9.9", P "vmlinux-5.9.300",
			      P "ubuntu-22.04.ext4"};
	sv_ci_objects objs = {0};
	load(&objs, keys, 7);
	size_t k, r;
	sv_rootfs_type type;
	assert_int_equal(sv_ci_pick(&k, &r, &type, &objs, P, "u"), 0);
	assert_string_equal(objs.items[k].key, P "vmlinux-5.10.210");
	sv_ci_objects_clear(&objs);
}

static void test_squashfs_is_preferred_over_a_newer_ext4(void **state)
{
	(void)state;
	const char *keys[] = {P "vmlinux-6.1.1", P "ubuntu-24.04.ext4", P "ubuntu-22.04.squashfs",
			      P "ubuntu-9.04.squashfs", P "ubuntu-22.04.squashfs.old"};
	sv_ci_objects objs = {0};
	load(&objs, keys, 5);
	size_t k, r;
	sv_rootfs_type type;
	assert_int_equal(sv_ci_pick(&k, &r, &type, &objs, P, "u"), 0);
	assert_string_equal(objs.items[r].key, P "ubuntu-22.04.squashfs");
	assert_int_equal(type, SV_ROOTFS_SQUASHFS);
	sv_ci_objects_clear(&objs);
}

static void test_highest_ext4_is_used_without_squashfs(void **state)
{
	(void)state;
	const char *keys[] = {P "vmlinux-6.1.1", P "ubuntu-24.04.ext4", P "ubuntu-22.10.ext4"};
	sv_ci_objects objs = {0};
	load(&objs, keys, 3);
	size_t k, r;
	sv_rootfs_type type;
	assert_int_equal(sv_ci_pick(&k, &r, &type, &objs, P, "u"), 0);
	assert_string_equal(objs.items[r].key, P "ubuntu-24.04.ext4");
	assert_int_equal(type, SV_ROOTFS_EXT4);
	sv_ci_objects_clear(&objs);
}

static void test_listing_without_kernel_names_the_listing_url(void **state)
{
	(void)state;
	const char *keys[] = {P "ubuntu-24.04.ext4", P "vmlinux-6.1"};
	sv_ci_objects objs = {0};
	load(&objs, keys, 2);
	size_t k, r;
	sv_rootfs_type type;
	assert_int_equal(sv_ci_pick(&k, &r, &type, &objs, P, "http://b?list-type=2&prefix=x"),
			 SV_EBASE_IMAGE_RESOLVE_FAILED);
	assert_string_equal(sv_last_error(),
			    "no kernel (vmlinux-X.Y.Z) under " P " in http://b?list-type=2&prefix=x");
	sv_ci_objects_clear(&objs);
}

static void test_listing_url_encodes_the_prefix(void **state)
{
	(void)state;
	char *url = sv_ci_listing_url("https://s3.amazonaws.com/spec.ccfc.min", P);
	assert_string_equal(url, "https://s3.amazonaws.com/spec.ccfc.min?list-type=2&prefix="
				 "firecracker-ci%2Fv1.16%2Fx86_64%2F");
	free(url);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_page_yields_keys_sizes_and_continuation_token),
	    cmocka_unit_test(test_non_listing_xml_is_refused),
	    cmocka_unit_test(test_listing_holds_at_most_max_objects),
	    cmocka_unit_test(test_key_longer_than_s3_allows_is_refused),
	    cmocka_unit_test(test_highest_kernel_is_chosen_numerically),
	    cmocka_unit_test(test_squashfs_is_preferred_over_a_newer_ext4),
	    cmocka_unit_test(test_highest_ext4_is_used_without_squashfs),
	    cmocka_unit_test(test_listing_without_kernel_names_the_listing_url),
	    cmocka_unit_test(test_listing_url_encodes_the_prefix),
	};
	return svt_run_group(tests, NULL, NULL);
}
