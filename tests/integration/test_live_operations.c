/* Live operations through the library against the fake Firecracker: MMDS
 * put / patch / get, balloon target, interval and statistics, PATCH of drives
 * and interfaces, metrics — and every refusal with its exact message. After
 * each test nothing remains in the runtime directory and no process runs. */
#include "svtest.h"
#include "fcmgrfixture.h"

#include "util/file.h"
#include <jansson.h>
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	svt_fcmgr m;
	char *other;
	sv_vm *vm;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	svt_fcmgr_init(&f->m);
	f->other = svt_write(f->m.dir, "other.img", "other data");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	svt_fcmgr_close(&f->m);
	free(f->other);
	svt_fcmgr_free(&f->m);
	free(f);
	return 0;
}

/* A VM with an MMDS, a balloon (statistics every stats_s seconds), metrics,
 * a network interface and a writable drive, started. */
static sv_vm *boot(fixture *f, const char *id, uint32_t stats_s, bool with_mmds)
{
	static const char *ifaces[] = { "eth0" };
	sv_drive_config drives[] = {
		{ .drive_id = "rootfs", .path_on_host = f->m.rootfs, .is_root_device = true, .is_read_only = true },
		{ .drive_id = "scratch", .path_on_host = f->m.scratch },
	};
	sv_net_iface_config nets[] = { { .iface_id = "eth0", .host_dev_name = "tap-live0" } };
	sv_balloon_config balloon = { .amount_mib = 16, .stats_polling_interval_s = stats_s };
	sv_mmds_config mmds = { .version = SV_MMDS_V2, .network_interfaces = ifaces, .n_network_interfaces = 1 };
	sv_metrics_config met = { .metrics_path = f->m.metrics };
	sv_entropy_config entropy = { 0 };
	sv_vm_config cfg = {
		.id = id,
		.boot_source = { .kernel_image_path = f->m.kernel },
		.machine_config = { .vcpu_count = 1, .mem_size_mib = 64 },
		.drives = drives, .n_drives = 2, .network_interfaces = nets, .n_network_interfaces = 1,
		.balloon = &balloon, .mmds = with_mmds ? &mmds : NULL, .metrics = &met, .entropy = &entropy,
	};
	sv_vm *vm = NULL;
	if (sv_manager_create_vm(&vm, f->m.mgr, &cfg) || sv_vm_start(vm))
		fail_msg("booting %s: %s", id, sv_last_error());
	return vm;
}

static void test_mmds_put_patch_get_round_trip(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot(f, "mmds", 0, true);
	assert_int_equal(sv_vm_mmds_put(vm, "{\"latest\":{\"meta-data\":{\"ami-id\":\"a-1\",\"region\":\"x\"}}}"), 0);
	assert_int_equal(sv_vm_mmds_patch(vm, "{\"latest\":{\"meta-data\":{\"ami-id\":\"a-2\",\"region\":null}}}"), 0);
	char *out = NULL;
	assert_int_equal(sv_vm_mmds_get(vm, &out), 0);
	assert_string_equal(out, "{\"latest\":{\"meta-data\":{\"ami-id\":\"a-2\"}}}");
	free(out);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

static void test_mmds_get_before_any_put_is_refused(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot(f, "mmds-empty", 0, true);
	char *out = NULL;
	assert_int_equal(sv_vm_mmds_get(vm, &out), SV_ENOTFOUND);
	assert_null(out);
	assert_string_equal(sv_last_error(), "VM \"mmds-empty\": MMDS get: the data store is empty (nothing was put yet)");
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

static void test_mmds_patch_before_put_is_refused_by_the_vmm(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot(f, "mmds-patch", 0, true);
	assert_int_equal(sv_vm_mmds_patch(vm, "{\"a\":1}"), SV_EVMM);
	assert_string_equal(sv_last_error(),
			    "VM \"mmds-patch\": MMDS patch: PATCH /mmds: 400 The MMDS data store is not initialized.");
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

static void test_mmds_needs_an_mmds_config_and_json(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot(f, "no-mmds", 0, false);
	assert_int_equal(sv_vm_mmds_put(vm, "{}"), SV_EINVALID_STATE);
	assert_string_equal(sv_last_error(), "VM \"no-mmds\": MMDS put: the VM has no MMDS (configure mmds at boot)");
	assert_int_equal(sv_vm_stop(vm, -1), 0);
	vm = boot(f, "bad-json", 0, true);
	assert_int_equal(sv_vm_mmds_put(vm, "{oops"), SV_EINVAL);
	svt_assert_contains(sv_last_error(), "VM \"bad-json\": MMDS put: MMDS data: not JSON:");
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

static void test_live_calls_need_a_running_vm(void **state)
{
	fixture *f = *state;
	sv_drive_config d = { .drive_id = "rootfs", .path_on_host = f->m.rootfs, .is_root_device = true };
	sv_vm_config cfg = { .id = "idle", .boot_source = { .kernel_image_path = f->m.kernel },
			     .machine_config = { .vcpu_count = 1, .mem_size_mib = 64 }, .drives = &d, .n_drives = 1 };
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_create_vm(&vm, f->m.mgr, &cfg), 0);
	assert_int_equal(sv_vm_balloon_set(vm, 8), SV_EINVALID_STATE);
	assert_string_equal(sv_last_error(), "VM \"idle\" is created; balloon set is allowed when running|paused");
}

static void test_balloon_target_and_statistics(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot(f, "balloon", 1, true);
	assert_int_equal(sv_vm_balloon_set(vm, 32), 0);
	assert_int_equal(sv_vm_balloon_set_stats_interval(vm, 5), 0);
	char *out = NULL;
	assert_int_equal(sv_vm_balloon_stats(vm, &out), 0);
	json_t *s = json_loads(out, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(s, "target_mib")), 32);
	assert_int_equal(json_integer_value(json_object_get(s, "target_pages")), 32 * 256);
	assert_int_equal(json_integer_value(json_object_get(s, "total_memory")), 64 << 20);
	json_decref(s);
	free(out);
	/* Statistics can't be switched off after boot. */
	assert_int_equal(sv_vm_balloon_set_stats_interval(vm, 0), SV_EVMM);
	assert_string_equal(sv_last_error(), "VM \"balloon\": balloon statistics interval: PATCH /balloon/statistics: "
					     "400 Cannot enable/disable the statistics after boot.");
	assert_int_equal(sv_vm_balloon_set(vm, 1000), SV_EVMM);
	assert_string_equal(sv_last_error(),
			    "VM \"balloon\": balloon set: PATCH /balloon: 400 Amount of pages requested is too large.");
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

static void test_balloon_stats_without_interval_are_refused(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot(f, "nostats", 0, true);
	char *out = NULL;
	assert_int_equal(sv_vm_balloon_stats(vm, &out), SV_EVMM);
	assert_string_equal(sv_last_error(), "VM \"nostats\": balloon statistics: GET /balloon/statistics: 400 "
					     "Statistics for the balloon device are not enabled");
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

static void test_drive_update_changes_backing_file_and_limiter(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot(f, "drive", 0, true);
	sv_rate_limiter rl = { .has_ops = true, .ops = { .size = 100, .refill_time = 1000 } };
	assert_int_equal(sv_vm_drive_update(vm, "scratch", f->other, &rl), 0);
	char *cfg = NULL;
	assert_int_equal(sv_vm_running_config(vm, &cfg), 0);
	json_t *c = json_loads(cfg, 0, NULL);
	json_t *d = json_array_get(json_object_get(c, "drives"), 1);
	assert_string_equal(json_string_value(json_object_get(d, "path_on_host")), f->other);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(d, "rate_limiter"), "ops"),
							    "size")),
			 100);
	json_decref(c);
	free(cfg);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

static void test_drive_update_of_unknown_drive_is_refused(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot(f, "drive-x", 0, true);
	assert_int_equal(sv_vm_drive_update(vm, "nosuch", f->other, NULL), SV_EVMM);
	assert_string_equal(sv_last_error(), "VM \"drive-x\": drive update: PATCH /drives/nosuch: 400 Unable to patch "
					     "the block device: Device manager error: Device not found Please verify the "
					     "request arguments.");
	assert_int_equal(sv_vm_drive_update(vm, "scratch", NULL, NULL), SV_EINVAL);
	assert_string_equal(sv_last_error(), "VM \"drive-x\": drive update: give a new path, a rate limiter or both");
	assert_int_equal(sv_vm_drive_update(vm, "scratch", "/nonexistent/x.img", NULL), SV_ENOTFOUND);
	assert_string_equal(sv_last_error(),
			    "VM \"drive-x\": drive update: drive \"scratch\": path: /nonexistent/x.img: no such file");
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

static void test_iface_update_sets_rate_limiters(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot(f, "net", 0, true);
	sv_rate_limiter rx = { .has_bandwidth = true, .bandwidth = { .size = 4096, .refill_time = 10 } };
	assert_int_equal(sv_vm_net_iface_update(vm, "eth0", &rx, NULL), 0);
	char *cfg = NULL;
	assert_int_equal(sv_vm_running_config(vm, &cfg), 0);
	svt_assert_contains(cfg, "\"rx_rate_limiter\":{\"bandwidth\":{\"size\":4096,\"refill_time\":10}}");
	free(cfg);
	assert_int_equal(sv_vm_net_iface_update(vm, "eth9", &rx, NULL), SV_EVMM);
	assert_string_equal(sv_last_error(), "VM \"net\": network interface update: PATCH /network-interfaces/eth9: 400 "
					     "Unable to update the net device: Device manager error: Device not found");
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

static void test_metrics_flush_and_parse(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot(f, "metrics", 0, true);
	char *out = NULL;
	size_t n = 0;
	assert_int_equal(sv_vm_metrics(vm, true, &out, &n), 0);
	assert_int_equal(n, 1);
	free(out);
	assert_int_equal(sv_vm_metrics(vm, true, &out, &n), 0);
	assert_int_equal(n, 2);
	json_t *m = json_loads(out, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(m, "vmm"), "state")), "Running");
	assert_true(json_integer_value(json_object_get(m, "utc_timestamp_ms")) > 0);
	json_decref(m);
	free(out);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

int main(void)
{
	/* The VMs here have network interfaces: keep their TAPs off the host. */
	if (!svt_private_netns())
		return svt_skip_program(SVT_NEED_ROOT, "needs root for a private network namespace");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mmds_put_patch_get_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmds_get_before_any_put_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmds_patch_before_put_is_refused_by_the_vmm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmds_needs_an_mmds_config_and_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_calls_need_a_running_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_balloon_target_and_statistics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_balloon_stats_without_interval_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drive_update_changes_backing_file_and_limiter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drive_update_of_unknown_drive_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iface_update_sets_rate_limiters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_flush_and_parse, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
