/* Real boots of the minimal image through the QEMU backend (TCG): the command's
 * output and exit status come back exactly, drives behave as configured, the
 * QMP view follows the lifecycle, and a killed QEMU is noticed. */
#include "svtest.h"
#include "qemu_fixture.h"

#include "util/file.h"
#include "util/spawn.h"
#include <jansson.h>
#include <signal.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOOT_TIMEOUT_MS 60000

static void test_command_output_and_exit_status_come_back_exactly(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	const char *cmd[] = { "sh", "-c", "echo 'a  b'; echo err >&2; printf 'no newline'; exit 7", NULL };
	char *args = svq_boot_args(img, cmd, NULL);
	svq_config c;
	svq_config_init(&c, img, args, false);
	svq_vm vm;
	svq_boot(&vm, &c.cfg, "vm-exact");
	char *out = NULL;
	assert_int_equal(svq_wait_exit(&vm, BOOT_TIMEOUT_MS, &out), 7);
	assert_string_equal(out, "a  b\nerr\nno newline");
	free(out);
	svq_destroy(&vm);
	free(args);
}

static void test_default_command_is_uname(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	svq_config c;
	svq_config_init(&c, img, img->boot_args, false);
	svq_vm vm;
	svq_boot(&vm, &c.cfg, "vm-default");
	char *out = NULL;
	assert_int_equal(svq_wait_exit(&vm, BOOT_TIMEOUT_MS, &out), 0);
	assert_true(strncmp(out, "Linux ", 6) == 0);
	assert_non_null(strstr(out, "-cloud-amd64"));
	free(out);
	svq_destroy(&vm);
}

static void test_true_exits_zero_and_reports_its_time(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	const char *cmd[] = { "true", NULL };
	char *args = svq_boot_args(img, cmd, NULL);
	svq_config c;
	svq_config_init(&c, img, args, true);
	svq_vm vm;
	svq_boot(&vm, &c.cfg, "vm-true");
	char *out = NULL;
	assert_int_equal(svq_wait_exit(&vm, BOOT_TIMEOUT_MS, &out), 0);
	assert_string_equal(out, "");
	print_message("boot-to-exit for `true` through the backend: %lld ms\n", sv_now_ms() - vm.launched_ms);
	free(out);
	svq_destroy(&vm);
	free(args);
}

static bool same_contents(const char *a, const char *b)
{
	char *x = NULL, *y = NULL;
	size_t lx = 0, ly = 0;
	assert_int_equal(sv_read_file(a, 1u << 30, &x, &lx), 0);
	assert_int_equal(sv_read_file(b, 1u << 30, &y, &ly), 0);
	bool same = lx == ly && memcmp(x, y, lx) == 0;
	free(x);
	free(y);
	return same;
}

static void test_writable_drive_gets_guest_writes_and_original_is_unchanged(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	char *dir = svt_tmpdir();
	char *original = sv_path_join(dir, "data.ext4");
	char *staged = sv_path_join(dir, "data.staged.ext4");
	assert_int_equal(sv_copy_sparse(img->rootfs, original), 0);
	assert_int_equal(sv_copy_sparse(original, staged), 0);
	const char *cmd[] = { "sh", "-c", "mount /dev/vdb /mnt && echo guest-wrote > /mnt/data/note && umount /mnt && echo ok",
			      NULL };
	char *args = svq_boot_args(img, cmd, NULL);
	svq_config c;
	svq_config_init(&c, img, args, true);
	c.drives[1] = (sv_drive_config){ .drive_id = "data", .path_on_host = staged };
	c.cfg.n_drives = 2;
	svq_vm vm;
	svq_boot(&vm, &c.cfg, "vm-write");
	char *out = NULL;
	assert_int_equal(svq_wait_exit(&vm, BOOT_TIMEOUT_MS, &out), 0);
	assert_string_equal(out, "ok\n");
	free(out);

	const char *debugfs[] = { "debugfs", "-R", "cat /data/note", staged, NULL };
	int code = -1;
	char *note = NULL;
	assert_int_equal(sv_run(debugfs, NULL, 10000, &code, &note, NULL), 0);
	assert_int_equal(code, 0);
	assert_string_equal(note, "guest-wrote\n");
	free(note);
	assert_true(same_contents(original, img->rootfs));
	assert_false(same_contents(staged, img->rootfs));
	svq_destroy(&vm);
	free(args);
	free(original);
	free(staged);
	svt_rm_tmpdir(dir);
}

static void test_read_only_root_stays_read_only(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	char *dir = svt_tmpdir();
	char *copy = sv_path_join(dir, "root.ext4");
	assert_int_equal(sv_copy_sparse(img->rootfs, copy), 0);
	const char *cmd[] = { "sh", "-c",
			      "grep ' / ' /proc/mounts | cut -d' ' -f1,4 | cut -d, -f1; touch /x 2>/dev/null; echo touch=$?; "
			      "mount -o remount,rw / 2>/dev/null; echo remount=$?",
			      NULL };
	char *args = svq_boot_args(img, cmd, NULL);
	svq_config c;
	svq_config_init(&c, img, args, true);
	c.drives[0].path_on_host = copy;
	svq_vm vm;
	svq_boot(&vm, &c.cfg, "vm-ro");
	char *out = NULL;
	assert_int_equal(svq_wait_exit(&vm, BOOT_TIMEOUT_MS, &out), 0);
	/* Even remounting fails: the device itself is read-only (readonly=on). */
	assert_string_equal(out, "/dev/vda ro\ntouch=1\nremount=255\n");
	free(out);
	assert_true(same_contents(copy, img->rootfs));
	svq_destroy(&vm);
	free(args);
	free(copy);
	svt_rm_tmpdir(dir);
}

static json_t *info(svq_vm *vm)
{
	char *text = NULL;
	assert_int_equal(sv_vmm_qemu_ops.instance_info(vm->vmm, &text), 0);
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	free(text);
	return j;
}

static void test_instance_info_follows_the_lifecycle(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	const char *cmd[] = { "sleep", "600", NULL };
	char *args = svq_boot_args(img, cmd, NULL);
	svq_config c;
	svq_config_init(&c, img, args, false);
	svq_vm vm;
	svq_launch(&vm, &c.cfg, "vm-info", false);
	json_t *j = info(&vm);
	assert_string_equal(json_string_value(json_object_get(j, "app_name")), "QEMU");
	assert_string_equal(json_string_value(json_object_get(j, "id")), "vm-info");
	assert_string_equal(json_string_value(json_object_get(j, "state")), "Not started");
	assert_string_equal(json_string_value(json_object_get(j, "qemu_status")), "prelaunch");
	assert_true(strncmp(json_string_value(json_object_get(j, "vmm_version")), "7.", 2) == 0 ||
		    strncmp(json_string_value(json_object_get(j, "vmm_version")), "8.", 2) == 0);
	json_decref(j);

	svq_start(&vm, &c.cfg);
	j = info(&vm);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "Running");
	json_decref(j);
	assert_int_equal(sv_vmm_qemu_ops.pause(vm.vmm), 0);
	j = info(&vm);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "Paused");
	json_decref(j);

	char *cfg_text = NULL;
	assert_int_equal(sv_vmm_qemu_ops.running_config(vm.vmm, &cfg_text), 0);
	json_t *rc = json_loads(cfg_text, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(rc, "boot-source"), "kernel_image_path")),
			    img->kernel);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(rc, "machine-config"), "mem_size_mib")), 256);
	json_decref(rc);
	free(cfg_text);
	svq_destroy(&vm);
	free(args);
}

static void test_start_twice_is_refused(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	const char *cmd[] = { "sleep", "600", NULL };
	char *args = svq_boot_args(img, cmd, NULL);
	svq_config c;
	svq_config_init(&c, img, args, false);
	svq_vm vm;
	svq_boot(&vm, &c.cfg, "vm-twice");
	assert_int_equal(sv_vmm_qemu_ops.start(vm.vmm), SV_EINVALID_STATE);
	assert_string_equal(sv_last_error(), "start: the VM is not in state prelaunch (QEMU status running)");
	svq_destroy(&vm);
	free(args);
}

static void test_killed_qemu_is_reaped_and_the_api_says_so(void **state)
{
	(void)state;
	const svq_image *img = svq_image_or_skip();
	const char *cmd[] = { "sleep", "600", NULL };
	char *args = svq_boot_args(img, cmd, NULL);
	svq_config c;
	svq_config_init(&c, img, args, false);
	svq_vm vm;
	svq_boot(&vm, &c.cfg, "vm-kill");
	assert_true(svq_wait_console(&vm, "=== smartvm: command start ===", BOOT_TIMEOUT_MS));
	assert_int_equal(kill(vm.pid, SIGKILL), 0);
	assert_true(svq_exited(&vm, 10000));
	char *text = NULL;
	assert_int_equal(sv_vmm_qemu_ops.instance_info(vm.vmm, &text), SV_EPROCESS);
	assert_null(text);
	assert_non_null(strstr(sv_last_error(), "QEMU closed the connection"));
	svt_assert_no_processes_with(vm.dir);
	svq_destroy(&vm);
	free(args);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_output_and_exit_status_come_back_exactly),
		cmocka_unit_test(test_default_command_is_uname),
		cmocka_unit_test(test_true_exits_zero_and_reports_its_time),
		cmocka_unit_test(test_writable_drive_gets_guest_writes_and_original_is_unchanged),
		cmocka_unit_test(test_read_only_root_stays_read_only),
		cmocka_unit_test(test_instance_info_follows_the_lifecycle),
		cmocka_unit_test(test_start_twice_is_refused),
		cmocka_unit_test(test_killed_qemu_is_reaped_and_the_api_says_so),
	};
	return svt_run_group(tests, NULL, NULL);
}
