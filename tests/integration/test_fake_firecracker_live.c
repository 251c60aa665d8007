/* The fake Firecracker's live endpoints, spoken to over raw HTTP: they must
 * answer as Firecracker v1.16 does, or the library tests prove nothing. */
#include "svtest.h"
#include "fakefc.h"

#include "util/file.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static svt_fakefc *fc;
static char *disk_dir; /* where boot() puts the drive; NULL = the fake's own dir */

static int teardown(void **state)
{
	(void)state;
	svt_fakefc_stop(fc);
	fc = NULL;
	return 0;
}

static void expect(const char *method, const char *path, const char *body, long status, const char *resp)
{
	char *got = NULL;
	long st = svt_fakefc_http(fc, method, path, body, &got);
	if (st != status || (resp && strcmp(got, resp)))
		fail_msg("%s %s: expected %ld %s, got %ld %s", method, path, status, resp ? resp : "", st, got);
	free(got);
}

/* A booted fake with a kernel, a writable drive and an interface. */
static void boot(const char *balloon)
{
	fc = svt_fakefc_start("live", NULL);
	char *kernel = svt_fakefc_file(fc, "vmlinux", "k"), *disk = svt_write(disk_dir ? disk_dir : fc->dir, "disk.img", "d");
	char *body = NULL;
	assert_true(asprintf(&body, "{\"kernel_image_path\":\"%s\"}", kernel) > 0);
	expect("PUT", "/boot-source", body, 204, NULL);
	free(body);
	assert_true(asprintf(&body, "{\"drive_id\":\"d\",\"path_on_host\":\"%s\",\"is_root_device\":true}", disk) > 0);
	expect("PATCH", "/drives/d", "{\"drive_id\":\"d\",\"path_on_host\":\"x\"}", 400,
	       "{\"fault_message\":\"The requested operation is not supported before starting the microVM.\"}");
	expect("PUT", "/drives/d", body, 204, NULL);
	free(body);
	expect("PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":8}", 204, NULL);
	expect("PUT", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\"}", 204, NULL);
	if (balloon)
		expect("PUT", "/balloon", balloon, 204, NULL);
	expect("PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204, NULL);
	free(kernel);
	free(disk);
}

static void test_mmds_get_before_put_answers_empty_object(void **state)
{
	(void)state;
	boot(NULL);
	expect("GET", "/mmds", NULL, 200, "{}");
	expect("PATCH", "/mmds", "{\"a\":1}", 400, "{\"fault_message\":\"The MMDS data store is not initialized.\"}");
	expect("PUT", "/mmds", "{\"a\":{\"b\":1,\"c\":2}}", 204, NULL);
	expect("PATCH", "/mmds", "{\"a\":{\"b\":null,\"d\":3}}", 204, NULL);
	expect("GET", "/mmds", NULL, 200, "{\"a\":{\"c\":2,\"d\":3}}");
}

static void test_balloon_statistics_only_with_an_interval(void **state)
{
	(void)state;
	boot("{\"amount_mib\":2,\"deflate_on_oom\":false}");
	expect("GET", "/balloon/statistics", NULL, 400,
	       "{\"fault_message\":\"Statistics for the balloon device are not enabled\"}");
	expect("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\":1}", 400,
	       "{\"fault_message\":\"Cannot enable/disable the statistics after boot.\"}");
	expect("PATCH", "/balloon", "{\"amount_mib\":4}", 204, NULL);
	expect("GET", "/balloon", NULL, 200, "{\"amount_mib\":4,\"deflate_on_oom\":false}");
	expect("PATCH", "/balloon", "{\"amount_mib\":4,\"x\":1}", 400, NULL);
}

static void test_patch_of_unknown_drive_and_iface(void **state)
{
	(void)state;
	boot(NULL);
	expect("PATCH", "/drives/nope", "{\"drive_id\":\"nope\",\"path_on_host\":\"/x\"}", 400,
	       "{\"fault_message\":\"Unable to patch the block device: Device manager error: Device not found Please "
	       "verify the request arguments.\"}");
	expect("PATCH", "/network-interfaces/eth1", "{\"iface_id\":\"eth1\"}", 400,
	       "{\"fault_message\":\"Unable to update the net device: Device manager error: Device not found\"}");
}

/* PATCH /pmem/{id} (PartialPmem): after start only, a known device, the
 * path's id in the body, no field but id and rate_limiter. */
static void test_patch_of_pmem(void **state)
{
	(void)state;
	fc = svt_fakefc_start("pmem", NULL);
	char *file = svt_fakefc_file(fc, "pmem.img", "p"), *body = NULL;
	assert_true(asprintf(&body, "{\"id\":\"pm0\",\"path_on_host\":\"%s\",\"read_only\":true}", file) > 0);
	expect("PUT", "/pmem/pm0", body, 204, NULL);
	free(body);
	free(file);
	const char *rl = "{\"id\":\"pm0\",\"rate_limiter\":{\"ops\":{\"size\":10,\"refill_time\":100}}}";
	expect("PATCH", "/pmem/pm0", rl, 400,
	       "{\"fault_message\":\"The requested operation is not supported before starting the microVM.\"}");
	char *kernel = svt_fakefc_file(fc, "vmlinux", "k");
	assert_true(asprintf(&body, "{\"kernel_image_path\":\"%s\"}", kernel) > 0);
	expect("PUT", "/boot-source", body, 204, NULL);
	free(body);
	free(kernel);
	expect("PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":8}", 204, NULL);
	expect("PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204, NULL);
	expect("PATCH", "/pmem/pm0", rl, 204, NULL);
	expect("PATCH", "/pmem/pm1", "{\"id\":\"pm0\"}", 400,
	       "{\"fault_message\":\"The id from the path does not match the id from the body!\"}");
	expect("PATCH", "/pmem/pm1", "{\"id\":\"pm1\"}", 400,
	       "{\"fault_message\":\"Unable to update the pmem device: Device manager error: Device not found\"}");
	expect("PATCH", "/pmem/pm0", "{\"id\":\"pm0\",\"read_only\":false}", 400, NULL);
	char *cfg = NULL;
	assert_int_equal(svt_fakefc_http(fc, "GET", "/vm/config", NULL, &cfg), 200);
	svt_assert_contains(cfg, "\"rate_limiter\":{\"ops\":{\"size\":10,\"refill_time\":100}}");
	free(cfg);
}

static void test_snapshot_load_refused_on_a_configured_vmm(void **state)
{
	(void)state;
	fc = svt_fakefc_start("cfgd", NULL);
	expect("PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":8}", 204, NULL);
	expect("PUT", "/snapshot/load", "{\"snapshot_path\":\"/s\",\"mem_file_path\":\"/m\"}", 400,
	       "{\"fault_message\":\"Loading a microVM snapshot not allowed after configuring boot-specific "
	       "resources.\"}");
}

static void test_snapshot_create_needs_pause_and_round_trips(void **state)
{
	(void)state;
	char *keep = svt_tmpdir(); /* snapshot and drive outlive the first fake */
	disk_dir = keep;
	boot(NULL);
	disk_dir = NULL;
	char *s = NULL, *m = NULL, *body = NULL;
	s = sv_path_join(keep, "vmstate");
	m = sv_path_join(keep, "mem");
	assert_true(asprintf(&body, "{\"snapshot_path\":\"%s\",\"mem_file_path\":\"%s\"}", s, m) > 0);
	expect("PUT", "/snapshot/create", body, 400,
	       "{\"fault_message\":\"Cannot create a snapshot: the microVM must be paused first.\"}");
	expect("PATCH", "/vm", "{\"state\":\"Paused\"}", 204, NULL);
	expect("PUT", "/snapshot/create", body, 204, NULL);
	assert_true(sv_path_exists(s) && sv_path_exists(m));
	svt_fakefc_stop(fc);
	/* A fresh process loads it back, paused, and exits after a bad load. */
	fc = svt_fakefc_start("fresh", NULL);
	expect("PUT", "/logger", "{\"level\":\"Info\"}", 204, NULL);
	free(body);
	assert_true(asprintf(&body, "{\"snapshot_path\":\"%s\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"%s\"}}", s, m) > 0);
	expect("PUT", "/snapshot/load", body, 204, NULL);
	char *info = NULL;
	assert_int_equal(svt_fakefc_http(fc, "GET", "/", NULL, &info), 200);
	svt_assert_contains(info, "\"state\":\"Paused\"");
	free(info);
	svt_fakefc_stop(fc);
	fc = svt_fakefc_start("bad", NULL);
	expect("PUT", "/snapshot/load", "{\"snapshot_path\":\"/nonexistent\",\"mem_file_path\":\"/m\"}", 400,
	       "{\"fault_message\":\"Failed to restore from snapshot: Failed to open the snapshot file: No such file or "
	       "directory (os error 2)\"}");
	assert_true(svt_fakefc_wait_exit(fc, 2000));
	free(s);
	free(m);
	free(body);
	svt_rm_tmpdir(keep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_mmds_get_before_put_answers_empty_object, teardown),
		cmocka_unit_test_teardown(test_balloon_statistics_only_with_an_interval, teardown),
		cmocka_unit_test_teardown(test_patch_of_unknown_drive_and_iface, teardown),
		cmocka_unit_test_teardown(test_patch_of_pmem, teardown),
		cmocka_unit_test_teardown(test_snapshot_load_refused_on_a_configured_vmm, teardown),
		cmocka_unit_test_teardown(test_snapshot_create_needs_pause_and_round_trips, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
