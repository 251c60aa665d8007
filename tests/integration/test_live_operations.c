/* Live operations through the library against the fake Firecracker: MMDS
 * put / patch / get, balloon target, interval and statistics, PATCH of drives
 * and interfaces, metrics — and every refusal with its exact message. Also
 * what keeps them honest: one live operation per VM at a time across
 * processes, state.json agreeing with the VMM (even when the runtime
 * directory is full), drive updates staged like a boot, metrics read from
 * the end. After each test nothing remains in the runtime directory and no
 * process runs. */
#include "svtest.h"
#include "fcmgrfixture.h"

#include "util/error.h"
#include "util/file.h"
#include "util/spawn.h"
#include "vm/vm_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

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
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION,
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
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION,  .id = "idle", .boot_source = { .kernel_image_path = f->m.kernel },
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

/* A VM with a balloon (free page hinting as asked) and hotpluggable memory. */
static sv_vm *boot_v1_16(fixture *f, const char *id, bool hinting, bool hotplug)
{
	sv_balloon_config balloon = { .amount_mib = 8, .free_page_hinting = hinting };
	sv_memory_hotplug_config mem = { .total_size_mib = 1024, .slot_size_mib = 256, .block_size_mib = 4 };
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION,
		.id = id,
		.boot_source = { .kernel_image_path = f->m.kernel },
		.machine_config = { .vcpu_count = 1, .mem_size_mib = 64 },
		.balloon = &balloon,
		.memory_hotplug = hotplug ? &mem : NULL,
	};
	sv_vm *vm = NULL;
	if (sv_manager_create_vm(&vm, f->m.mgr, &cfg) || sv_vm_start(vm))
		fail_msg("booting %s: %s", id, sv_last_error());
	return vm;
}

static void test_balloon_hinting_runs(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot_v1_16(f, "hinting", true, false);
	char *out = NULL;
	assert_int_equal(sv_vm_balloon_hinting_status(vm, &out), 0);
	assert_string_equal(out, "{\"host_cmd\":0}");
	free(out);
	assert_int_equal(sv_vm_balloon_hinting_start(vm, false), 0);
	assert_int_equal(sv_vm_balloon_hinting_status(vm, &out), 0);
	assert_string_equal(out, "{\"host_cmd\":2,\"guest_cmd\":2}");
	free(out);
	assert_int_equal(sv_vm_balloon_hinting_stop(vm), 0);
	assert_int_equal(sv_vm_balloon_hinting_status(vm, &out), 0);
	assert_string_equal(out, "{\"host_cmd\":1,\"guest_cmd\":2}");
	free(out);
	assert_int_equal(sv_vm_balloon_hinting_start(vm, true), 0); /* the next run, acknowledged */
	assert_int_equal(sv_vm_balloon_hinting_status(vm, &out), 0);
	assert_string_equal(out, "{\"host_cmd\":1,\"guest_cmd\":3}");
	free(out);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

static void test_balloon_hinting_needs_it_enabled_at_boot(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot_v1_16(f, "nohint", false, false);
	assert_int_equal(sv_vm_balloon_hinting_start(vm, false), SV_EVMM);
	assert_string_equal(sv_last_error(), "VM \"nohint\": balloon hinting start: PATCH /balloon/hinting/start: 400 "
					     "The balloon free hinting was not enabled when the device was configured.");
	char *out = NULL;
	assert_int_equal(sv_vm_memory_hotplug_status(vm, &out), SV_EVMM);
	assert_null(out);
	assert_string_equal(sv_last_error(), "VM \"nohint\": memory hotplug status: GET /hotplug/memory: 400 "
					     "The memory hotplug device was not configured.");
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

static void test_memory_hotplug_set_and_status(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot_v1_16(f, "hotplug", false, true);
	assert_int_equal(sv_vm_memory_hotplug_set(vm, 512), 0);
	char *out = NULL;
	assert_int_equal(sv_vm_memory_hotplug_status(vm, &out), 0);
	assert_string_equal(out, "{\"total_size_mib\":1024,\"slot_size_mib\":256,\"block_size_mib\":4,"
				 "\"plugged_size_mib\":512,\"requested_size_mib\":512}");
	free(out);
	assert_int_equal(sv_vm_memory_hotplug_set(vm, 2048), SV_EVMM);
	svt_assert_contains(sv_last_error(), "VM \"hotplug\": memory hotplug set: PATCH /hotplug/memory: 400 Invalid "
					     "requested size 2048 MiB");
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
	/* Issue 11.10: a writable drive gets a private copy, as at boot. */
	const char *staged = json_string_value(json_object_get(d, "path_on_host"));
	assert_int_equal(strncmp(staged, "drives/scratch-", 15), 0);
	char *copy = sv_path_join(sv_vm_dir(vm), staged), *text = NULL;
	assert_int_equal(sv_read_file(copy, 100, &text, NULL), 0);
	assert_string_equal(text, "other data");
	free(text);
	free(copy);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(d, "rate_limiter"), "ops"),
							    "size")),
			 100);
	json_decref(c);
	free(cfg);
	/* The previous private copy is gone; inspect names the new file. */
	char *old = sv_path_join(sv_vm_dir(vm), "drives/scratch-scratch.img");
	assert_false(sv_path_exists(old));
	free(old);
	char *desc = NULL;
	assert_int_equal(sv_vm_describe(vm, &desc), 0);
	json_t *o = json_loads(desc, 0, NULL);
	json_t *cd = json_array_get(json_object_get(json_object_get(o, "config"), "drives"), 1);
	assert_string_equal(json_string_value(json_object_get(cd, "path_on_host")), f->other);
	json_decref(o);
	free(desc);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

static void test_drive_update_of_unknown_drive_is_refused(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot(f, "drive-x", 0, true);
	assert_int_equal(sv_vm_drive_update(vm, "nosuch", f->other, NULL), SV_ENOTFOUND);
	assert_string_equal(sv_last_error(),
			    "VM \"drive-x\": drive update: drive \"nosuch\": the VM has no such drive");
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

static void test_pmem_update_sets_its_rate_limiter(void **state)
{
	fixture *f = *state;
	sv_pmem_config pmem = { .id = "pm0", .path_on_host = f->other, .read_only = true };
	sv_vm_config cfg = SV_VM_CONFIG_INIT;
	cfg.id = "pmem";
	cfg.boot_source.kernel_image_path = f->m.kernel;
	cfg.machine_config = (sv_machine_config){ .vcpu_count = 1, .mem_size_mib = 64 };
	cfg.pmem = &pmem;
	cfg.n_pmem = 1;
	sv_vm *vm = NULL;
	if (sv_manager_create_vm(&vm, f->m.mgr, &cfg) || sv_vm_start(vm))
		fail_msg("booting pmem: %s", sv_last_error());
	sv_rate_limiter rl = { .has_bandwidth = true, .bandwidth = { .size = 8192, .refill_time = 100 } };
	assert_int_equal(sv_vm_pmem_update(vm, "pm0", &rl), 0);
	char *text = NULL;
	assert_int_equal(sv_vm_running_config(vm, &text), 0);
	svt_assert_contains(text, "\"rate_limiter\":{\"bandwidth\":{\"size\":8192,\"refill_time\":100}}");
	free(text);
	/* The VM's own record shows it too. */
	assert_int_equal(sv_vm_describe(vm, &text), 0);
	svt_assert_contains(text, "\"refill_time\": 100");
	free(text);
	assert_int_equal(sv_vm_pmem_update(vm, "pm9", &rl), SV_ENOTFOUND);
	assert_string_equal(sv_last_error(), "VM \"pmem\": pmem update: pmem \"pm9\": the VM has no such pmem device");
	assert_int_equal(sv_vm_pmem_update(vm, "pm0", NULL), SV_EINVAL);
	assert_string_equal(sv_last_error(), "VM \"pmem\": pmem update: give a rate limiter");
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

/* What the VMM itself says: "Running" or "Paused". */
static char *vmm_state(sv_vm *vm)
{
	char *info = NULL;
	if (sv_vm_instance_info(vm, &info))
		fail_msg("instance info: %s", sv_last_error());
	json_t *o = json_loads(info, 0, NULL);
	char *s = strdup(json_string_value(json_object_get(o, "state")));
	json_decref(o);
	free(info);
	return s;
}

/* What state.json says. */
static char *state_file(sv_vm *vm)
{
	char *p = sv_path_join(sv_vm_dir(vm), "state.json");
	json_t *o = json_load_file(p, 0, NULL);
	assert_non_null(o);
	char *s = strdup(json_string_value(json_object_get(o, "state")));
	json_decref(o);
	free(p);
	return s;
}

static void assert_states(sv_vm *vm, const char *vmm, const char *file)
{
	char *a = vmm_state(vm), *b = state_file(vm);
	if (strcmp(a, vmm) || strcmp(b, file))
		fail_msg("VMM says %s (want %s), state.json %s (want %s)", a, vmm, b, file);
	free(a);
	free(b);
}

static sv_manager *second_manager(fixture *f, int api_timeout_ms)
{
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION,
				.data_dir = f->m.data,
				.runtime_dir = f->m.runtime,
				.firecracker_binary_path = svt_fake_firecracker(),
				.stop_timeout_ms = 3000,
				.api_timeout_ms = api_timeout_ms};
	sv_manager *m = NULL;
	assert_int_equal(sv_manager_new(&m, &o), 0);
	return m;
}

typedef struct {
	sv_vm *vm;
	const char *dir;
	int rc;
	char error[512];
} snap_job;

static void *snapshot_thread(void *arg)
{
	snap_job *j = arg;
	j->rc = sv_vm_snapshot_create(j->vm, j->dir, NULL);
	snprintf(j->error, sizeof(j->error), "%s", sv_last_error());
	sv_err_clear(); /* the thread's message dies with it */
	return NULL;
}

static void wait_for_path(const char *path)
{
	for (long long end = sv_now_ms() + 10000; !sv_path_exists(path); poll(NULL, 0, 5))
		if (sv_now_ms() > end)
			fail_msg("%s did not appear", path);
}

/* Issue 11.12: a live operation held by another process makes the next one
 * wait (bounded) and then say "busy", naming it. */
static void test_live_operation_in_another_process_makes_others_busy(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot(f, "busy", 0, true);
	sv_manager *m2 = second_manager(f, 300);
	sv_vm *other = NULL;
	assert_int_equal(sv_manager_attach_vm(&other, m2, "busy"), 0);
	char *lock = sv_path_join(sv_vm_dir(vm), "live.lock");
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(write(fd, "snapshot", 8), 8);
	assert_int_equal(sv_vm_pause(other), SV_EBUSY);
	assert_string_equal(sv_last_error(),
			    "VM \"busy\": pause: busy: snapshot is in progress on this VM (waited 300 "
			    "ms); try again when it has finished");
	char *snap = sv_path_join(f->m.dir, "snap");
	assert_int_equal(sv_vm_snapshot_create(other, snap, NULL), SV_EBUSY);
	svt_assert_contains(sv_last_error(), "VM \"busy\": snapshot: busy: snapshot is in progress");
	assert_false(sv_path_exists(snap));
	assert_int_equal(sv_vm_balloon_set(other, 8), SV_EBUSY);
	assert_states(vm, "Running", "running");
	close(fd);
	assert_int_equal(sv_vm_pause(other), 0);
	assert_states(vm, "Paused", "paused");
	free(snap);
	free(lock);
	sv_manager_free(m2);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

/* Issue 11.12: a pause from another process during a snapshot waits for it
 * and then holds (it is not undone by the snapshot's resume); a second
 * snapshot waits for the first. */
static void test_pause_and_snapshot_during_a_snapshot_wait_for_it(void **state)
{
	fixture *f = *state;
	setenv("FAKE_FC_SNAPSHOT_DELAY_MS", "800", 1);
	sv_vm *vm = boot(f, "during", 0, true);
	unsetenv("FAKE_FC_SNAPSHOT_DELAY_MS");
	sv_manager *m2 = second_manager(f, 10000);
	sv_vm *other = NULL;
	assert_int_equal(sv_manager_attach_vm(&other, m2, "during"), 0);
	char *snap1 = sv_path_join(f->m.dir, "snap1"), *snap2 = sv_path_join(f->m.dir, "snap2");

	snap_job j = {.vm = vm, .dir = snap1};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, snapshot_thread, &j), 0);
	wait_for_path(snap1);
	int rc = sv_vm_pause(other);
	pthread_join(t, NULL);
	if (j.rc)
		fail_msg("snapshot: %s", j.error);
	if (rc)
		fail_msg("pause: %s", sv_last_error());
	assert_states(vm, "Paused", "paused"); /* the pause held */
	assert_int_equal(sv_vm_resume(other), 0);

	j = (snap_job){.vm = vm, .dir = snap2};
	char *second = sv_path_join(f->m.dir, "snap3");
	assert_int_equal(pthread_create(&t, NULL, snapshot_thread, &j), 0);
	wait_for_path(snap2);
	rc = sv_vm_snapshot_create(other, second, NULL);
	pthread_join(t, NULL);
	if (j.rc)
		fail_msg("first snapshot: %s", j.error);
	if (rc)
		fail_msg("second snapshot: %s", sv_last_error());
	assert_states(vm, "Running", "running");
	free(second);
	free(snap1);
	free(snap2);
	sv_manager_free(m2);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

/* Fills the filesystem of dir; returns the filler's path. */
static char *fill(const char *dir)
{
	char *p = sv_path_join(dir, "filler");
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	static char block[4096];
	while (write(fd, block, sizeof(block)) > 0)
		;
	assert_int_equal(errno, ENOSPC);
	close(fd);
	return p;
}

/* Issue 10.8: with a full runtime directory, pause is refused and the VM
 * keeps running (state.json can't say paused, so the VMM is not asked); a
 * VMM paused behind smartvm's back is resumed (the VMM's answer wins). */
static void test_state_json_never_disagrees_with_the_vmm(void **state)
{
	fixture *f = *state;
	if (!svt_is_root())
		svt_skip(SVT_NEED_ROOT, "needs root");
	/* A tiny runtime filesystem, private to this process and its children. */
	assert_int_equal(unshare(CLONE_NEWNS), 0);
	assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	char *rt = sv_path_join(f->m.dir, "small");
	assert_int_equal(mkdir(rt, 0700), 0);
	assert_int_equal(mount("tmpfs", rt, "tmpfs", 0, "size=1m,mode=0700"), 0);
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION,
				.data_dir = f->m.data,
				.runtime_dir = rt,
				.firecracker_binary_path = svt_fake_firecracker(),
				.stop_timeout_ms = 3000};
	sv_manager *m = NULL;
	assert_int_equal(sv_manager_new(&m, &o), 0);
	sv_drive_config d = {
	    .drive_id = "rootfs", .path_on_host = f->m.rootfs, .is_root_device = true, .is_read_only = true};
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION, .id = "full",
			    .boot_source = {.kernel_image_path = f->m.kernel},
			    .machine_config = {.vcpu_count = 1, .mem_size_mib = 8},
			    .drives = &d,
			    .n_drives = 1};
	sv_vm *vm = NULL;
	if (sv_manager_create_vm(&vm, m, &cfg) || sv_vm_start(vm))
		fail_msg("boot: %s", sv_last_error());

	char *filler = fill(rt);
	assert_int_equal(sv_vm_pause(vm), SV_EIO);
	char *why = strdup(sv_last_error());
	assert_states(vm, "Running", "running"); /* not paused behind state.json's back */
	assert_int_equal(sv_vm_get_state(vm), SV_VM_RUNNING);
	svt_assert_contains(why, "pause VM \"full\": ");
	svt_assert_contains(why, "No space left on device");
	free(why);
	assert_int_equal(unlink(filler), 0);
	assert_int_equal(sv_vm_pause(vm), 0);
	assert_states(vm, "Paused", "paused");
	free(fill(rt));
	assert_int_equal(sv_vm_resume(vm), SV_EIO);
	assert_states(vm, "Paused", "paused");
	assert_int_equal(unlink(filler), 0);
	assert_int_equal(sv_vm_resume(vm), 0);

	/* Paused behind smartvm's back: state.json says running. */
	assert_int_equal(vm->backend->pause(vm->vmm), 0);
	assert_int_equal(sv_vm_resume(vm), 0);
	assert_states(vm, "Running", "running");
	assert_int_equal(vm->backend->pause(vm->vmm), 0);
	assert_int_equal(sv_vm_pause(vm), SV_EINVALID_STATE); /* it is paused already */
	assert_string_equal(sv_last_error(), "VM \"full\" is paused; pause is allowed when running");
	assert_states(vm, "Paused", "paused");

	assert_int_equal(sv_vm_stop(vm, -1), 0);
	sv_manager_free(m);
	assert_int_equal(svt_vm_dirs_left(rt), 0);
	assert_int_equal(umount(rt), 0);
	free(filler);
	free(rt);
}

/* Issue 11.10: a new backing file for a read-only drive is used in place
 * (as at boot); a relative path is the caller's; a FIFO is refused without
 * opening it; nothing of the caller's is ever written. */
static void test_drive_update_follows_the_boot_rules(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot(f, "rules", 0, true);
	assert_int_equal(sv_vm_drive_update(vm, "rootfs", f->other, NULL), 0);
	char *cfg = NULL;
	assert_int_equal(sv_vm_running_config(vm, &cfg), 0);
	json_t *c = json_loads(cfg, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(c, "drives"), 0),
							      "path_on_host")),
			    f->other);
	json_decref(c);
	free(cfg);
	char *fifo = sv_path_join(f->m.dir, "fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(sv_vm_drive_update(vm, "scratch", fifo, NULL), SV_EINVAL);
	char *want = NULL;
	assert_true(asprintf(&want,
			     "VM \"rules\": drive update: drive \"scratch\": path: %s: not a regular file or "
			     "block device",
			     fifo) > 0);
	assert_string_equal(sv_last_error(), want);
	free(want);
	char *cwd = getcwd(NULL, 0);
	assert_int_equal(chdir(f->m.dir), 0);
	assert_int_equal(sv_vm_drive_update(vm, "scratch", "other.img", NULL), 0);
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
	/* The guest writes its copy; the caller's file is untouched. */
	cfg = NULL;
	assert_int_equal(sv_vm_running_config(vm, &cfg), 0);
	c = json_loads(cfg, 0, NULL);
	char *copy = sv_path_join(
	    sv_vm_dir(vm), json_string_value(json_object_get(json_array_get(json_object_get(c, "drives"), 1),
							     "path_on_host")));
	int fd = open(copy, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "GUEST", 5), 5);
	close(fd);
	char *text = NULL;
	assert_int_equal(sv_read_file(f->other, 100, &text, NULL), 0);
	assert_string_equal(text, "other data");
	free(text);
	free(copy);
	json_decref(c);
	free(cfg);
	free(fifo);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

/* Issue 11.11: a metrics file past 64 MiB is read from its end; the
 * caller's file is never trimmed. */
static void test_metrics_reads_only_the_end_of_a_big_file(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot(f, "bigm", 0, true);
	assert_int_equal(truncate(f->m.metrics, 100ll << 20), 0); /* the VMM appends after this */
	char *out = NULL;
	if (sv_vm_metrics(vm, true, &out, NULL))
		fail_msg("metrics: %s", sv_last_error());
	json_t *m = json_loads(out, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(m, "vmm"), "state")),
			    "Running");
	json_decref(m);
	free(out);
	struct stat st;
	assert_int_equal(stat(f->m.metrics, &st), 0);
	assert_true(st.st_size > (100ll << 20));
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

/* Issue 11.11: the metrics file smartvm owns (a restored VM's) is emptied
 * once it is past its cap, after its last flush was read. */
static void test_metrics_file_smartvm_owns_is_capped(void **state)
{
	fixture *f = *state;
	sv_vm *src = boot(f, "capsrc", 0, true);
	char *snap = sv_path_join(f->m.dir, "snap");
	if (sv_vm_snapshot_create(src, snap, NULL))
		fail_msg("snapshot: %s", sv_last_error());
	assert_int_equal(sv_vm_stop(src, -1), 0);
	sv_restore_options ro = {.version = SV_RESTORE_OPTIONS_VERSION,
				 .id = "capped",
				 .network_overrides = (sv_net_override[]){{"eth0", "tap-cap0"}},
				 .n_network_overrides = 1};
	sv_vm *vm = NULL;
	if (sv_manager_restore_vm(&vm, f->m.mgr, snap, &ro))
		fail_msg("restore: %s", sv_last_error());
	char *mine = sv_path_join(sv_vm_dir(vm), "metrics.json");
	assert_int_equal(truncate(mine, 5ll << 20), 0);
	char *out = NULL;
	if (sv_vm_metrics(vm, true, &out, NULL))
		fail_msg("metrics: %s", sv_last_error());
	free(out);
	struct stat st;
	assert_int_equal(stat(mine, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(sv_vm_metrics(vm, true, &out, NULL), 0); /* and it fills again */
	free(out);
	assert_int_equal(stat(mine, &st), 0);
	assert_true(st.st_size > 0 && st.st_size < 4096);
	free(mine);
	free(snap);
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
	    cmocka_unit_test_setup_teardown(test_mmds_patch_before_put_is_refused_by_the_vmm, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_mmds_needs_an_mmds_config_and_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_live_calls_need_a_running_vm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_balloon_target_and_statistics, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_balloon_stats_without_interval_are_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_balloon_hinting_runs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_balloon_hinting_needs_it_enabled_at_boot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_memory_hotplug_set_and_status, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drive_update_changes_backing_file_and_limiter, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_drive_update_of_unknown_drive_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_iface_update_sets_rate_limiters, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pmem_update_sets_its_rate_limiter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_flush_and_parse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_live_operation_in_another_process_makes_others_busy, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_pause_and_snapshot_during_a_snapshot_wait_for_it, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_state_json_never_disagrees_with_the_vmm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drive_update_follows_the_boot_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_reads_only_the_end_of_a_big_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_file_smartvm_owns_is_capped, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
