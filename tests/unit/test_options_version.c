/* Versioned options structs (common.h): a struct that did not start from its
 * _INIT (version 0) or comes from a newer header is refused with a message
 * naming it; the _init() functions fill what the macros do. */
#include "svtest.h"

#include "util/file.h"
#include <smartvm/netadmin.h>
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void assert_refused(int rc, const char *type, unsigned version)
{
	assert_int_equal(rc, SV_EINVAL);
	char want[160];
	snprintf(want, sizeof(want), "%s.version is %u", type, version);
	svt_assert_contains(sv_last_error(), want);
	svt_assert_contains(sv_last_error(), "_INIT");
}

static void test_a_zeroed_or_newer_struct_is_refused_by_name(void **state)
{
	(void)state;
	sv_manager *mgr = NULL;
	sv_manager_options mo;
	memset(&mo, 0, sizeof(mo));
	assert_refused(sv_manager_new(&mgr, &mo), "sv_manager_options", 0);
	assert_null(mgr);
	mo.version = SV_MANAGER_OPTIONS_VERSION + 1;
	assert_refused(sv_manager_new(&mgr, &mo), "sv_manager_options", SV_MANAGER_OPTIONS_VERSION + 1);
	assert_refused(sv_net_validate_options(&mo), "sv_manager_options", SV_MANAGER_OPTIONS_VERSION + 1);

	char *path = NULL;
	sv_binary_options bo = {.binary_path = "/bin/true"};
	assert_refused(sv_ensure_binary(&path, &bo), "sv_binary_options", 0);
	assert_null(path);
	/* A nested struct is checked too. */
	sv_download_options zero_dl = {.max_retries = 1};
	bo = (sv_binary_options)SV_BINARY_OPTIONS_INIT;
	bo.download = &zero_dl;
	assert_refused(sv_ensure_binary(&path, &bo), "sv_download_options", 0);

	sv_base_image_bundle **list = NULL;
	size_t n = 0;
	sv_base_image_options io = {.cache_dir = "/nonexistent"};
	assert_refused(sv_base_image_list(&list, &n, &io), "sv_base_image_options", 0);
	sv_net_admin_options ao = {.data_dir = "/nonexistent", .runtime_dir = "/nonexistent"};
	assert_refused(sv_net_gc(&ao, NULL), "sv_net_admin_options", 0);
}

static void test_init_functions_match_the_macros(void **state)
{
	(void)state;
	sv_manager_options m;
	memset(&m, 0xff, sizeof(m));
	assert_int_equal(sv_manager_options_init(&m, SV_MANAGER_OPTIONS_VERSION), 0);
	sv_manager_options want = SV_MANAGER_OPTIONS_INIT;
	assert_memory_equal(&m, &want, sizeof(m));

	sv_restore_options r;
	assert_int_equal(sv_restore_options_init(&r, SV_RESTORE_OPTIONS_VERSION), 0);
	assert_int_equal(r.version, SV_RESTORE_OPTIONS_VERSION);
	assert_null(r.id);

	sv_jail_options j;
	memset(&j, 0xab, sizeof(j));
	assert_refused(sv_jail_options_init(&j, 0), "sv_jail_options", 0);
	assert_refused(sv_jail_options_init(&j, 7), "sv_jail_options", 7);
	assert_int_equal(j.version, 0xabababab); /* untouched */
}

static void test_a_manager_from_init_works_and_reports_its_version(void **state)
{
	(void)state;
	char *dir = svt_tmpdir();
	char *data = sv_path_join(dir, "data"), *rt = sv_path_join(dir, "run");
	sv_manager_options o = SV_MANAGER_OPTIONS_INIT;
	o.data_dir = data;
	o.runtime_dir = rt;
	sv_manager *mgr = NULL;
	assert_int_equal(sv_manager_new(&mgr, &o), 0);
	assert_int_equal(sv_manager_options_get(mgr)->version, SV_MANAGER_OPTIONS_VERSION);
	sv_manager_free(mgr);
	free(data);
	free(rt);
	svt_rm_tmpdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_zeroed_or_newer_struct_is_refused_by_name),
	    cmocka_unit_test(test_init_functions_match_the_macros),
	    cmocka_unit_test(test_a_manager_from_init_works_and_reports_its_version),
	};
	return svt_run_group(tests, NULL, NULL);
}
