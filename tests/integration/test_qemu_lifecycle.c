/* Real QEMU guests (TCG) through the backend: pause makes the guest stop,
 * resume continues it, a graceful stop powers it off, and a snapshot of a
 * running guest restores into a new QEMU that continues where it was. */
#include "svtest.h"
#include "qemu_fixture.h"

#include "util/file.h"
#include "vmm/qemu/qemu_internal.h"
#include <jansson.h>
#include "util/spawn.h"
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BOOT_TIMEOUT_MS 60000
#define TICKER "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done"

static size_t console_len(svq_vm *vm)
{
	char *text = svq_console(vm);
	size_t n = strlen(text);
	free(text);
	return n;
}

/* The highest "tick N" on the console (0 if none). */
static int last_tick(svq_vm *vm)
{
	char *text = svq_console(vm);
	int last = 0;
	for (char *p = strstr(text, "tick "); p; p = strstr(p + 1, "tick ")) {
		int n = atoi(p + 5);
		if (n > last)
			last = n;
	}
	free(text);
	return last;
}

static void test_paused_guest_makes_no_progress_until_resumed(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	const char *cmd[] = { "sh", "-c", TICKER, NULL };
	char *args = svq_boot_args(img, cmd, NULL);
	svq_config c;
	svq_config_init(&c, img, args, false);
	svq_vm vm;
	svq_boot(&vm, &c.cfg, "vm-pause");
	assert_true(svq_wait_console(&vm, "tick 3\n", BOOT_TIMEOUT_MS));
	assert_int_equal(sv_vmm_qemu_ops.pause(vm.vmm), 0);
	usleep(200000);
	size_t paused_len = console_len(&vm);
	usleep(1500000);
	assert_int_equal(console_len(&vm), paused_len);
	int before = last_tick(&vm);
	assert_int_equal(sv_vmm_qemu_ops.resume(vm.vmm), 0);
	char want[32];
	snprintf(want, sizeof(want), "tick %d\n", before + 3);
	assert_true(svq_wait_console(&vm, want, 20000));
	svq_destroy(&vm);
	free(args);
}

static void test_graceful_stop_ends_the_command_and_powers_off(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	const char *cmd[] = { "sh", "-c", "trap 'echo got TERM; exit 0' TERM; echo ready; sleep 600 & wait", NULL };
	char *args = svq_boot_args(img, cmd, NULL);
	svq_config c;
	svq_config_init(&c, img, args, false);
	svq_vm vm;
	svq_boot(&vm, &c.cfg, "vm-stop");
	assert_true(svq_wait_console(&vm, "ready\n", BOOT_TIMEOUT_MS));
	assert_int_equal(sv_vmm_qemu_ops.request_shutdown(vm.vmm), 0);
	char *out = NULL;
	assert_int_equal(svq_wait_exit(&vm, 20000, &out), 0);
	assert_string_equal(out, "ready\ngot TERM\n");
	free(out);
	svq_destroy(&vm);
	free(args);
}

static void test_snapshot_needs_a_paused_vm(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	svq_config c;
	svq_config_init(&c, img, img->boot_args, false);
	char *dir = svt_tmpdir();
	char *state_file = sv_path_join(dir, "vm.state");
	svq_vm vm;
	svq_launch(&vm, &c.cfg, "vm-snap-running", false);
	char *want = NULL;
	assert_true(asprintf(&want, "snapshot to %s: the VM must be paused (QEMU status prelaunch)", state_file) > 0);
	assert_int_equal(sv_vmm_qemu_ops.snapshot_create(vm.vmm, &(sv_vmm_snapshot_create){ .state_path = state_file }),
			 SV_EINVALID_STATE);
	assert_string_equal(sv_last_error(), want);
	assert_int_equal(svt_dir_entries(dir), 0);
	free(want);
	svq_destroy(&vm);
	free(state_file);
	svt_rm_tmpdir(dir);
}

static void test_restore_needs_a_qemu_started_for_it(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	svq_config c;
	svq_config_init(&c, img, img->boot_args, false);
	svq_vm vm;
	svq_launch(&vm, &c.cfg, "vm-restore-wrong", false);
	sv_vmm_snapshot_load load = { .state_path = "/nonexistent/vm.state", .clock_realtime = true };
	assert_int_equal(sv_vmm_qemu_ops.snapshot_load(vm.vmm, &load), SV_EUNSUPPORTED);
	assert_string_equal(sv_last_error(), "clock_realtime: not supported by the qemu backend");
	load.clock_realtime = false;
	assert_int_equal(sv_vmm_qemu_ops.snapshot_load(vm.vmm, &load), SV_EINVALID_STATE);
	assert_string_equal(sv_last_error(), "restore from /nonexistent/vm.state: QEMU was not started to receive a "
					     "snapshot (QEMU status prelaunch)");
	svq_destroy(&vm);
}

static void test_restore_from_a_missing_file_names_it(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	svq_config c;
	svq_config_init(&c, img, img->boot_args, false);
	svq_vm vm;
	svq_launch(&vm, &c.cfg, "vm-restore-missing", true);
	sv_vmm_snapshot_load load = { .state_path = "/nonexistent/vm.state" };
	assert_int_equal(sv_vmm_qemu_ops.snapshot_load(vm.vmm, &load), SV_ENOTFOUND);
	assert_string_equal(sv_last_error(),
			    "restore from /nonexistent/vm.state: opening the state file: No such file or directory");
	svq_destroy(&vm);
}

static void test_configure_applies_the_balloon_over_qmp(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	svq_config c;
	svq_config_init(&c, img, img->boot_args, false);
	sv_balloon_config balloon = { .amount_mib = 64, .deflate_on_oom = true, .stats_polling_interval_s = 2 };
	c.cfg.balloon = &balloon;
	svq_vm vm;
	svq_launch(&vm, &c.cfg, "vm-balloon", false);
	if (sv_vmm_qemu_ops.configure(vm.vmm, &c.cfg))
		fail_msg("configure: %s", sv_last_error());
	sv_qemu_vmm *q = NULL;
	assert_int_equal(sv_qemu_from_vmm(vm.vmm, &q), 0);
	json_t *args = json_pack("{s:s,s:s}", "path", "/machine/peripheral/balloon0", "property",
				 "guest-stats-polling-interval");
	json_t *ret = NULL;
	assert_int_equal(sv_qmp_execute(q->qmp, "qom-get", args, &ret), 0);
	assert_int_equal(json_integer_value(ret), 2);
	json_decref(ret);
	json_decref(args);

	balloon.amount_mib = 256;
	assert_int_equal(sv_vmm_qemu_ops.configure(vm.vmm, &c.cfg), SV_EINVAL);
	assert_string_equal(sv_last_error(),
			    "configure: balloon.amount_mib: must be less than machine_config.mem_size_mib");
	svq_destroy(&vm);
}

static void test_unconfigured_connection_reports_the_qemu_command_line(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	svq_config c;
	svq_config_init(&c, img, img->boot_args, true);
	svq_vm vm;
	svq_launch(&vm, &c.cfg, "vm-argv", false);
	/* A fresh connection (as after attaching) never saw the config. */
	sv_vmm_qemu_ops.disconnect(vm.vmm);
	char *sock = sv_path_join(vm.dir, "qmp.sock");
	assert_int_equal(sv_vmm_qemu_ops.connect(&vm.vmm, sock, 5000), 0);
	free(sock);
	char *text = NULL;
	assert_int_equal(sv_vmm_qemu_ops.running_config(vm.vmm, &text), 0);
	json_t *j = json_loads(text, 0, NULL);
	json_t *argv = json_object_get(j, "qemu-argv");
	assert_true(json_array_size(argv) > 10);
	assert_non_null(strstr(json_string_value(json_array_get(argv, 0)), "qemu-system-x86_64"));
	assert_string_equal(json_string_value(json_array_get(argv, 2)), "guest=vm-argv");
	/* The drives QEMU has open, in Firecracker's shape (what a snapshot copies). */
	json_t *drives = json_object_get(j, "drives");
	assert_int_equal(json_array_size(drives), 1);
	json_t *d = json_array_get(drives, 0);
	assert_string_equal(json_string_value(json_object_get(d, "drive_id")), "rootfs");
	assert_string_equal(json_string_value(json_object_get(d, "path_on_host")), img->rootfs);
	assert_true(json_is_true(json_object_get(d, "is_read_only")));
	json_decref(j);
	free(text);
	svq_destroy(&vm);
}

static void test_quit_ends_qemu_when_the_guest_ignores_the_power_button(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	const char *cmd[] = { "sh", "-c", "trap '' TERM; echo ready; while true; do sleep 1; done", NULL };
	char *args = svq_boot_args(img, cmd, NULL);
	svq_config c;
	svq_config_init(&c, img, args, false);
	svq_vm vm;
	svq_boot(&vm, &c.cfg, "vm-quit");
	assert_true(svq_wait_console(&vm, "ready\n", BOOT_TIMEOUT_MS));
	assert_int_equal(sv_vmm_qemu_ops.request_shutdown(vm.vmm), 0);
	/* The init's SIGKILL after 3 s would end it; quit must not wait for that. */
	assert_false(svq_exited(&vm, 500));
	assert_int_equal(sv_qemu_quit(vm.vmm), 0);
	assert_true(svq_exited(&vm, 5000));
	svq_destroy(&vm);
	free(args);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paused_guest_makes_no_progress_until_resumed),
		cmocka_unit_test(test_graceful_stop_ends_the_command_and_powers_off),
		cmocka_unit_test(test_snapshot_needs_a_paused_vm),
		cmocka_unit_test(test_restore_needs_a_qemu_started_for_it),
		cmocka_unit_test(test_restore_from_a_missing_file_names_it),
		cmocka_unit_test(test_configure_applies_the_balloon_over_qmp),
		cmocka_unit_test(test_unconfigured_connection_reports_the_qemu_command_line),
		cmocka_unit_test(test_quit_ends_qemu_when_the_guest_ignores_the_power_button),
	};
	return svt_run_group(tests, NULL, NULL);
}
