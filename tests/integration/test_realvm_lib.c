/* Real VMs end to end through the library: the manager with the QEMU backend
 * (TCG forced) boots the minimal image, runs a command in the guest and
 * cleans up. Networked tests run in a network namespace each test makes for
 * itself; nothing leaves it. Every wait is bounded (SVR_BOOT_TIMEOUT_MS). */
#include "svtest.h"
#include "realvm_fixture.h"

#include "util/file.h"
#include "util/spawn.h"
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <smartvm/netadmin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TICKER "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done"
#define GATEWAY "172.31.7.1"

static void test_command_output_is_exact_and_its_exit_code_comes_back(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, false);
	svq_config c;
	svr_config(&c, &e);
	const char *cmd[] = {"sh", "-c", "echo 'hello  world'; printf 'tab\\there\\nno newline'; exit 3",
			     NULL};
	sv_vm *vm = svr_start(&e, &c.cfg, "rv-exact", cmd);
	int status = -1;
	char *out = svr_wait(vm, &status);
	assert_string_equal(out, "hello  world\ntab\there\nno newline");
	assert_int_equal(status, 3);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_STOPPED);
	free(out);
	svr_env_done(&e);
}

static void test_a_command_that_cannot_run_exits_127(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, false);
	svq_config c;
	svr_config(&c, &e);
	const char *cmd[] = {"/no/such/program", NULL};
	sv_vm *vm = svr_start(&e, &c.cfg, "rv-127", cmd);
	int status = -1;
	char *out = svr_wait(vm, &status);
	assert_int_equal(status, 127);
	free(out);
	svr_env_done(&e);
}

static void test_a_vm_without_drives_runs_its_command_from_the_initramfs(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, false);
	svq_config c;
	svq_config_init(&c, e.img, e.img->boot_args, false);
	const char *cmd[] = {"sh", "-c", "if [ -e /dev/vda ]; then echo has-a-disk; else echo no-disks; fi",
			     NULL};
	sv_vm *vm = svr_start(&e, &c.cfg, "rv-nodrive", cmd);
	int status = -1;
	char *out = svr_wait(vm, &status);
	assert_string_equal(out, "no-disks\n");
	assert_int_equal(status, 0);
	free(out);
	svr_env_done(&e);
}

static char *make_drive(const char *dir, const char *name, const char *content)
{
	char *path = sv_path_join(dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	assert_int_equal(pwrite(fd, content, strlen(content), 0), (ssize_t)strlen(content));
	close(fd);
	return path;
}

static char *drive_head(const char *path, size_t n)
{
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(sv_read_file(path, 1 << 21, &text, &len), 0);
	text[n] = '\0';
	return text;
}

/* Two VMs at once: a staged (default) drive and one written in place, which
 * proves the guest really writes what the staged one keeps from the original. */
static void test_writable_drive_is_a_private_copy_gone_after_cleanup(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, false);
	char *dir = svt_tmpdir();
	char *staged_src = make_drive(dir, "staged.img", "original");
	char *inplace_src = make_drive(dir, "inplace.img", "original");
	const char *cmd[] = {
	    "sh", "-c", "printf 'guest-wrote' > /dev/vdb && sync && dd if=/dev/vdb bs=11 count=1 2>/dev/null",
	    NULL};
	svq_config a, b;
	svr_config(&a, &e);
	svr_config(&b, &e);
	a.drives[1] = (sv_drive_config){.drive_id = "data", .path_on_host = staged_src};
	b.drives[1] = (sv_drive_config){.drive_id = "data", .path_on_host = inplace_src, .ephemeral = SV_NO};
	a.cfg.n_drives = b.cfg.n_drives = 2;
	sv_vm *va = svr_start(&e, &a.cfg, "rv-staged", cmd);
	sv_vm *vb = svr_start(&e, &b.cfg, "rv-inplace", cmd);
	char *staged_copy = sv_path_join(sv_vm_dir(va), "drives");
	assert_true(svt_dir_entries(staged_copy) > 0);
	int sa = -1, sb = -1;
	char *oa = svr_wait(va, &sa), *ob = svr_wait(vb, &sb);
	assert_int_equal(sa, 0);
	assert_int_equal(sb, 0);
	assert_string_equal(oa, "guest-wrote");
	assert_string_equal(ob, "guest-wrote");
	char *head = drive_head(staged_src, 11);
	assert_string_equal(head, "original");
	free(head);
	head = drive_head(inplace_src, 11);
	assert_string_equal(head, "guest-wrote");
	free(head);
	assert_false(sv_path_exists(staged_copy));
	assert_false(sv_path_exists(sv_vm_dir(va)));
	free(staged_copy);
	free(oa);
	free(ob);
	free(staged_src);
	free(inplace_src);
	svt_rm_tmpdir(dir);
	svr_env_done(&e);
}

static void test_read_only_root_stays_read_only_in_the_guest(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, false);
	svq_config c;
	svr_config(&c, &e);
	char *before = NULL;
	size_t before_len = 0;
	assert_int_equal(sv_read_file(e.img->rootfs, 1u << 30, &before, &before_len), 0);
	const char *cmd[] = {"sh", "-c",
			     "if touch /written 2>/dev/null; then echo writable; else echo refused; fi; "
			     "awk '$2 == \"/\" { split($4, o, \",\"); print o[1] }' /proc/mounts",
			     NULL};
	sv_vm *vm = svr_start(&e, &c.cfg, "rv-ro", cmd);
	int status = -1;
	char *out = svr_wait(vm, &status);
	assert_string_equal(out, "refused\nro\n");
	assert_int_equal(status, 0);
	char *after = NULL;
	size_t after_len = 0;
	assert_int_equal(sv_read_file(e.img->rootfs, 1u << 30, &after, &after_len), 0);
	assert_int_equal(after_len, before_len);
	assert_memory_equal(after, before, before_len);
	free(before);
	free(after);
	free(out);
	svr_env_done(&e);
}

static const char *tap_ip(sv_vm *vm)
{
	const sv_tap_device *tap = sv_vm_tap_device(vm, 0);
	assert_non_null(tap);
	assert_null(sv_vm_tap_device(vm, 1));
	return tap->guest_ip;
}

/* Three networked VMs at once, each pinging the gateway from the address
 * it was given; all distinct. */
static void test_three_vms_at_once_get_distinct_addresses_and_reach_the_gateway(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, true);
	const char *cmd[] = {"sh", "-c",
			     "ip -4 -o addr show eth0 | awk '{print $4}'; ping -c 1 -W 10 " GATEWAY
			     " >/dev/null && echo reached",
			     NULL};
	svq_config c[3];
	sv_vm *vm[3];
	char ips[3][16];
	const char *ids[] = {"rv-net-1", "rv-net-2", "rv-net-3"};
	for (int i = 0; i < 3; i++) {
		svr_config(&c[i], &e);
		c[i].nets[0] = (sv_net_iface_config){.iface_id = "eth0"};
		c[i].cfg.n_network_interfaces = 1;
		vm[i] = svr_start(&e, &c[i].cfg, ids[i], cmd);
		snprintf(ips[i], sizeof(ips[i]), "%s", tap_ip(vm[i]));
	}
	assert_string_not_equal(ips[0], ips[1]);
	assert_string_not_equal(ips[1], ips[2]);
	assert_string_not_equal(ips[0], ips[2]);
	for (int i = 0; i < 3; i++) {
		int status = -1;
		char *out = svr_wait(vm[i], &status);
		char want[64];
		snprintf(want, sizeof(want), "%s/24\nreached\n", ips[i]);
		assert_string_equal(out, want);
		assert_int_equal(status, 0);
		free(out);
	}
	svr_env_done(&e);
}

static void test_pause_stops_the_guest_and_resume_continues_it(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, false);
	svq_config c;
	svr_config(&c, &e);
	const char *cmd[] = {"sh", "-c", TICKER, NULL};
	sv_vm *vm = svr_start(&e, &c.cfg, "rv-pause", cmd);
	char *acc = NULL;
	assert_true(svr_wait_output(vm, &acc, "tick 5\n", SVR_BOOT_TIMEOUT_MS));
	assert_int_equal(sv_vm_pause(vm), 0);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_PAUSED);
	usleep(200000); /* what was on its way to the console before the pause */
	svr_wait_output(vm, &acc, "\x01", 0);
	int paused_at = svr_last_tick(acc);
	sleep(1);
	svr_wait_output(vm, &acc, "\x01", 0);
	assert_int_equal(svr_last_tick(acc), paused_at);
	assert_int_equal(sv_vm_resume(vm), 0);
	char want[32];
	snprintf(want, sizeof(want), "tick %d\n", paused_at + 3);
	assert_true(svr_wait_output(vm, &acc, want, 20000));
	assert_int_equal(sv_vm_kill(vm), 0);
	free(acc);
	svr_env_done(&e);
}

/* QEMU serves one QMP client at a time: a VM this process started is still
 * reached by others between its operations (`smartvm pause ID` while a
 * foreground `smartvm run` held the connection failed after 5 s with
 * "greeting: no answer"), and this process reaches it again after theirs. */
static void test_another_process_reaches_a_vm_this_one_started(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, false);
	svq_config c;
	svr_config(&c, &e);
	const char *cmd[] = {"sh", "-c", TICKER, NULL};
	sv_vm *vm = svr_start(&e, &c.cfg, "rv-shared", cmd);
	char *acc = NULL;
	assert_true(svr_wait_output(vm, &acc, "tick 3\n", SVR_BOOT_TIMEOUT_MS));
	assert_int_equal(sv_vm_pause(vm), 0);
	char *out = NULL, *err = NULL;
	const char *resume[] = {"--data-dir", e.data_dir, "--runtime-dir", e.runtime_dir, "resume", "rv-shared", NULL};
	if (svt_run_cli(resume, NULL, &out, &err) != 0)
		fail_msg("smartvm resume from another process: %s", err);
	free(out);
	free(err);
	const char *pause[] = {"--data-dir", e.data_dir, "--runtime-dir", e.runtime_dir, "pause", "rv-shared", NULL};
	if (svt_run_cli(pause, NULL, &out, &err) != 0)
		fail_msg("smartvm pause from another process: %s", err);
	free(out);
	free(err);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_PAUSED);
	assert_int_equal(sv_vm_resume(vm), 0);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_RUNNING);
	assert_int_equal(sv_vm_kill(vm), 0);
	free(acc);
	svr_env_done(&e);
}

/* The guest powers off on the ACPI button: its init ends the command with
 * SIGTERM (status 143) and the VM stops without signals to QEMU. */
static void test_graceful_stop_powers_the_guest_off(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, false);
	svq_config c;
	svr_config(&c, &e);
	const char *cmd[] = {"sh", "-c", "echo ready; exec sleep 600", NULL};
	sv_vm *vm = svr_start(&e, &c.cfg, "rv-stop", cmd);
	char *acc = NULL;
	assert_true(svr_wait_output(vm, &acc, "ready", SVR_BOOT_TIMEOUT_MS));
	long long t0 = sv_now_ms();
	assert_int_equal(sv_vm_stop(vm, 20000), 0);
	print_message("graceful stop: %lld ms\n", sv_now_ms() - t0);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_STOPPED);
	svr_wait_output(vm, &acc, "\x01", 0);
	int status = -1;
	assert_true(sv_vm_command_finished(vm, &status));
	assert_int_equal(status, 143);
	assert_false(sv_path_exists(sv_vm_dir(vm)));
	free(acc);
	svr_env_done(&e);
}

static bool link_exists(const char *name)
{
	const char *tool = access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip" : "/sbin/ip";
	const char *argv[] = {tool, "link", "show", name, NULL};
	int code = -1;
	assert_int_equal(sv_run(argv, NULL, 10000, &code, NULL, NULL), 0);
	return code == 0;
}

static void test_killed_qemu_gives_error_state_and_full_cleanup(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, true);
	svq_config c;
	svr_config(&c, &e);
	c.nets[0] = (sv_net_iface_config){.iface_id = "eth0"};
	c.cfg.n_network_interfaces = 1;
	const char *cmd[] = {"sh", "-c", "echo ready; exec sleep 600", NULL};
	sv_vm *vm = svr_start(&e, &c.cfg, "rv-killed", cmd);
	const sv_tap_device *dev = sv_vm_tap_device(vm, 0);
	assert_non_null(dev);
	char tap[16];
	snprintf(tap, sizeof(tap), "%s", dev->tap_name);
	assert_true(link_exists(tap));
	char *acc = NULL;
	assert_true(svr_wait_output(vm, &acc, "ready", SVR_BOOT_TIMEOUT_MS));
	assert_int_equal(kill(sv_vm_pid(vm), SIGKILL), 0);
	assert_int_equal(sv_vm_wait(vm, 20000), 0);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_ERROR);
	assert_false(sv_path_exists(sv_vm_dir(vm)));
	assert_false(link_exists(tap));
	/* The lease is gone: a new VM gets the same first address. */
	svq_config c2;
	svr_config(&c2, &e);
	c2.nets[0] = (sv_net_iface_config){.iface_id = "eth0"};
	c2.cfg.n_network_interfaces = 1;
	sv_vm *vm2 = svr_start(&e, &c2.cfg, "rv-after-kill", (const char *[]){"true", NULL});
	assert_string_equal(tap_ip(vm2), "172.31.7.2");
	int status = -1;
	free(svr_wait(vm2, &status));
	assert_int_equal(status, 0);
	/* The bridge outlives the last VM, until `net down` takes it. */
	assert_true(link_exists(e.bridge));
	sv_net_admin_options down = SV_NET_ADMIN_OPTIONS_INIT;
	down.data_dir = e.data_dir;
	down.bridge_name = e.bridge;
	if (sv_net_down(&down, NULL) != 0)
		fail_msg("net down: %s", sv_last_error());
	assert_false(link_exists(e.bridge));
	free(acc);
	svr_env_done(&e);
}

/* The console of vm once it contains needle (or after timeout_ms), malloc'd. */
static char *console_when(sv_vm *vm, const char *needle, int timeout_ms)
{
	long long deadline = sv_now_ms() + timeout_ms;
	char *console = NULL;
	for (;;) {
		size_t len = 0;
		free(console);
		console = NULL;
		assert_int_equal(sv_read_file(sv_vm_console_path(vm), 1 << 24, &console, &len), 0);
		if (strstr(console, needle) || sv_now_ms() > deadline)
			return console;
		usleep(50000);
	}
}

/* Asserts the restored VM's console counts on from seen: no boot, no restart. */
static void assert_continues(sv_vm *vm, int seen)
{
	char want[32];
	snprintf(want, sizeof(want), "tick %d\n", seen + 3);
	char *console = console_when(vm, want, 20000);
	svt_assert_contains(console, want);
	int first = svr_first_tick(console);
	assert_true(first >= seen && first <= seen + 1);
	assert_null(strstr(console, "command start"));
	free(console);
}

/* The live-operations snapshot API (smartvm/live.h) on the QEMU backend:
 * the guest writes its data drive, then counts; the snapshot holds QEMU's
 * migration stream (no memory file) and the drive as written; the restored
 * VM counts on from there with its own copy of the drive. */
static void test_snapshot_restores_into_a_new_vm_that_continues(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, false);
	char *scratch = svt_tmpdir();
	char *data = make_drive(scratch, "data.img", "original");
	svq_config c;
	svr_config(&c, &e);
	c.drives[1] = (sv_drive_config){.drive_id = "data", .path_on_host = data};
	c.cfg.n_drives = 2;
	const char *cmd[] = {"sh", "-c", "printf guest-wrote > /dev/vdb && sync && " TICKER, NULL};
	sv_vm *src = svr_start(&e, &c.cfg, "rv-snap-src", cmd);
	char *acc = NULL;
	assert_true(svr_wait_output(src, &acc, "tick 5\n", SVR_BOOT_TIMEOUT_MS));
	char *dir = sv_path_join(scratch, "snap");
	long long t0 = sv_now_ms();
	if (sv_vm_snapshot_create(src, dir,
				  &(sv_snapshot_create_options){.version = SV_SNAPSHOT_CREATE_OPTIONS_VERSION,
								.keep_paused = true}) != 0)
		fail_msg("snapshot: %s", sv_last_error());
	print_message("snapshot: %lld ms\n", sv_now_ms() - t0);
	assert_int_equal(sv_vm_get_state(src), SV_VM_PAUSED);
	char *manifest_path = sv_path_join(dir, "snapshot.json");
	json_t *m = json_load_file(manifest_path, 0, NULL);
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "vmm")), "qemu");
	json_t *files = json_object_get(m, "files");
	assert_int_equal(json_object_size(files), 2); /* vmstate and the data drive; no memory file */
	assert_non_null(json_object_get(files, "vmstate"));
	assert_non_null(json_object_get(files, "drives/data-data-data.img"));
	json_decref(m);
	free(manifest_path);
	usleep(200000);
	svr_wait_output(src, &acc, "\x01", 0);
	int seen = svr_last_tick(acc);
	assert_int_equal(sv_vm_kill(src), 0);

	sv_vm *dst = NULL;
	t0 = sv_now_ms();
	if (sv_manager_restore_vm(
		&dst, e.mgr, dir,
		&(sv_restore_options){.version = SV_RESTORE_OPTIONS_VERSION, .id = "rv-snap-dst"}) != 0)
		fail_msg("restore: %s", sv_last_error());
	print_message("restore: %lld ms\n", sv_now_ms() - t0);
	assert_int_equal(sv_vm_get_state(dst), SV_VM_RUNNING);
	assert_continues(dst, seen);
	char *copy = sv_path_join(sv_vm_dir(dst), "drives/data-data.img");
	char *head = drive_head(copy, 11);
	assert_string_equal(head, "guest-wrote");
	free(head);
	head = drive_head(data, 11);
	assert_string_equal(head, "original"); /* the user's file was never written */
	free(head);
	assert_int_equal(sv_vm_kill(dst), 0);
	assert_false(sv_path_exists(copy));
	free(copy);
	free(acc);
	free(dir);
	free(data);
	svt_rm_tmpdir(scratch);
	svr_env_done(&e);
}

static json_int_t stat_of(const char *stats, const char *key)
{
	json_t *j = json_loads(stats, 0, NULL);
	assert_non_null(j);
	json_t *v = json_object_get(j, key);
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
	json_decref(j);
	return n;
}

/* Firecracker's amount_mib on QEMU: the balloon takes 64 MiB of the 256 and
 * the guest's own total drops by as much (deflate_on_oom off, so the guest
 * driver takes the pages out of its total). */
static void test_balloon_takes_memory_from_the_guest_and_reports_statistics(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, false);
	svq_config c;
	svr_config(&c, &e);
	sv_balloon_config balloon = {.amount_mib = 0, .stats_polling_interval_s = 1};
	c.cfg.balloon = &balloon;
	const char *cmd[] = {"sh", "-c", "echo ready; exec sleep 600", NULL};
	sv_vm *vm = svr_start(&e, &c.cfg, "rv-balloon", cmd);
	char *acc = NULL;
	assert_true(svr_wait_output(vm, &acc, "ready", SVR_BOOT_TIMEOUT_MS));
	assert_int_equal(sv_vm_balloon_set(vm, 64), 0);
	char *stats = NULL;
	long long deadline = sv_now_ms() + 20000;
	for (;;) {
		free(stats);
		stats = NULL;
		if (sv_vm_balloon_stats(vm, &stats) != 0)
			fail_msg("balloon statistics: %s", sv_last_error());
		json_int_t total = stat_of(stats, "total_memory");
		if ((stat_of(stats, "actual_mib") == 64 && total > 0 && total <= 192ll << 20) ||
		    sv_now_ms() > deadline)
			break;
		usleep(200000);
	}
	print_message("balloon statistics: %s\n", stats);
	assert_int_equal(stat_of(stats, "target_mib"), 64);
	assert_int_equal(stat_of(stats, "target_pages"), 64 * 256);
	assert_int_equal(stat_of(stats, "actual_mib"), 64);
	assert_int_equal(stat_of(stats, "actual_pages"), 64 * 256);
	assert_true(stat_of(stats, "total_memory") <= 192ll << 20);
	assert_true(stat_of(stats, "free_memory") > 0);
	assert_int_equal(sv_vm_balloon_set(vm, 256), SV_EINVAL);
	assert_string_equal(
	    sv_last_error(),
	    "VM \"rv-balloon\": balloon set: amount_mib: 256 MiB is not less than the guest's memory "
	    "(256 MiB)");
	assert_int_equal(sv_vm_kill(vm), 0);
	free(stats);
	free(acc);
	svr_env_done(&e);
}

/* What QEMU has no counterpart for answers the same way through the public
 * API as any operation a backend lacks. */
static void test_mmds_on_a_qemu_vm_is_not_supported(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, false);
	svq_config c;
	svr_config(&c, &e);
	sv_vm *vm = svr_start(&e, &c.cfg, "rv-nommds", NULL);
	assert_int_equal(sv_vm_mmds_put(vm, "{}"), SV_EUNSUPPORTED);
	assert_string_equal(sv_last_error(), "VM \"rv-nommds\": MMDS put: not supported by the qemu backend");
	assert_int_equal(sv_vm_kill(vm), 0);
	svr_env_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_command_output_is_exact_and_its_exit_code_comes_back),
	    cmocka_unit_test(test_a_command_that_cannot_run_exits_127),
	    cmocka_unit_test(test_a_vm_without_drives_runs_its_command_from_the_initramfs),
	    cmocka_unit_test(test_writable_drive_is_a_private_copy_gone_after_cleanup),
	    cmocka_unit_test(test_read_only_root_stays_read_only_in_the_guest),
	    cmocka_unit_test(test_three_vms_at_once_get_distinct_addresses_and_reach_the_gateway),
	    cmocka_unit_test(test_pause_stops_the_guest_and_resume_continues_it),
	    cmocka_unit_test(test_another_process_reaches_a_vm_this_one_started),
	    cmocka_unit_test(test_graceful_stop_powers_the_guest_off),
	    cmocka_unit_test(test_killed_qemu_gives_error_state_and_full_cleanup),
	    cmocka_unit_test(test_snapshot_restores_into_a_new_vm_that_continues),
	    cmocka_unit_test(test_balloon_takes_memory_from_the_guest_and_reports_statistics),
	    cmocka_unit_test(test_mmds_on_a_qemu_vm_is_not_supported),
	};
	return svt_run_group(tests, NULL, NULL);
}
