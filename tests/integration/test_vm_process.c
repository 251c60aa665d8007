/* The VMM process seen from the library, against the fake Firecracker: a
 * VMM that is slow to listen on its API socket, and how long stopping takes.
 * After each test nothing remains in the runtime directory and no process
 * runs. */
#include "svtest.h"
#include "fcmgrfixture.h"

#include "util/file.h"
#include "util/spawn.h"
#include <fcntl.h>
#include <sched.h>
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static int setup(void **state)
{
	svt_fcmgr *m = calloc(1, sizeof(*m));
	svt_fcmgr_init(m);
	*state = m;
	return 0;
}

static int teardown(void **state)
{
	svt_fcmgr *m = *state;
	unsetenv("FAKE_FC_LISTEN_DELAY_MS");
	svt_fcmgr_close(m);
	svt_fcmgr_free(m);
	free(m);
	return 0;
}

static sv_manager *manager(svt_fcmgr *m, int socket_timeout_ms)
{
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION,
				.data_dir = m->data,
				.runtime_dir = m->runtime,
				.firecracker_binary_path = svt_fake_firecracker(),
				.socket_timeout_ms = socket_timeout_ms,
				.stop_timeout_ms = 10000};
	sv_manager *mgr = NULL;
	assert_int_equal(sv_manager_new(&mgr, &o), 0);
	return mgr;
}

static sv_vm *create(svt_fcmgr *m, sv_manager *mgr, const char *id)
{
	static sv_drive_config drive;
	drive = (sv_drive_config){.drive_id = "rootfs", .path_on_host = m->rootfs, .is_root_device = true};
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION, .id = id,
			    .boot_source = {.kernel_image_path = m->kernel},
			    .machine_config = {.vcpu_count = 1, .mem_size_mib = 64},
			    .drives = &drive,
			    .n_drives = 1};
	sv_vm *vm = NULL;
	if (sv_manager_create_vm(&vm, mgr, &cfg))
		fail_msg("create: %s", sv_last_error());
	return vm;
}

static void test_vmm_slow_to_listen_still_starts(void **state)
{
	svt_fcmgr *m = *state;
	/* The socket file exists 300 ms before connections are accepted. */
	setenv("FAKE_FC_LISTEN_DELAY_MS", "300", 1);
	sv_manager *mgr = manager(m, 5000);
	sv_vm *vm = create(m, mgr, "slow");
	if (sv_vm_start(vm) != 0)
		fail_msg("start: %s", sv_last_error());
	assert_int_equal(sv_vm_get_state(vm), SV_VM_RUNNING);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
	sv_manager_free(mgr);
}

static void test_vmm_never_listening_times_out_at_the_socket_deadline(void **state)
{
	svt_fcmgr *m = *state;
	setenv("FAKE_FC_LISTEN_DELAY_MS", "60000", 1);
	sv_manager *mgr = manager(m, 400);
	sv_vm *vm = create(m, mgr, "deaf");
	long long t0 = sv_now_ms();
	assert_int_equal(sv_vm_start(vm), SV_ETIMEOUT);
	long long took = sv_now_ms() - t0;
	char *expected = NULL;
	assert_true(asprintf(&expected,
			     "starting VM \"deaf\": firecracker did not accept connections on its API socket "
			     "%s/deaf/firecracker.sock within 400 ms: connect: Connection refused",
			     m->runtime) > 0);
	assert_string_equal(sv_last_error(), expected);
	free(expected);
	assert_true(took >= 400 && took < 3000);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_ERROR);
	sv_manager_free(mgr);
}

/* A paused guest cannot act on a shutdown request: stopping it must not wait
 * out the whole graceful timeout. */
static void test_stopping_a_paused_vm_takes_as_long_as_a_running_one(void **state)
{
	svt_fcmgr *m = *state;
	sv_manager *mgr = manager(m, 5000);
	sv_vm *running = create(m, mgr, "running");
	sv_vm *paused = create(m, mgr, "paused");
	if (sv_vm_start(running) || sv_vm_start(paused) || sv_vm_pause(paused))
		fail_msg("start: %s", sv_last_error());
	long long t0 = sv_now_ms();
	assert_int_equal(sv_vm_stop(running, 10000), 0);
	long long running_ms = sv_now_ms() - t0;
	t0 = sv_now_ms();
	assert_int_equal(sv_vm_stop(paused, 10000), 0);
	long long paused_ms = sv_now_ms() - t0;
	assert_int_equal(sv_vm_get_state(paused), SV_VM_STOPPED);
	if (paused_ms > 2000 || paused_ms > 4 * running_ms + 500)
		fail_msg("stopping took %lld ms paused, %lld ms running", paused_ms, running_ms);
	sv_manager_free(mgr);
}

/* True if process pid has an fd open on what our fd refers to. */
static bool holds_our_fd(pid_t pid, int fd)
{
	char link[64], ours[256], theirs[256];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, ours, sizeof(ours) - 1);
	assert_true(n > 0);
	ours[n] = '\0';
	for (int i = 0; i < 1024; i++) {
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, i);
		ssize_t m = readlink(link, theirs, sizeof(theirs) - 1);
		if (m > 0 && (theirs[m] = '\0', !strcmp(theirs, ours)))
			return true;
	}
	return false;
}

/* A pipe the calling program left without O_CLOEXEC must not be held by the
 * supervisor or the VMM (a caller reading it to EOF would wait for the VM). */
static void test_vm_processes_hold_no_fd_of_the_caller(void **state)
{
	svt_fcmgr *m = *state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	sv_vm *vm = create(m, m->mgr, "tidy");
	if (sv_vm_start(vm) != 0)
		fail_msg("start: %s", sv_last_error());
	pid_t sup = svt_vm_state_pid(m->runtime, "tidy", "supervisor_pid");
	assert_true(sv_vm_pid(vm) > 0);
	bool held = holds_our_fd(sup, p[1]) || holds_our_fd(sv_vm_pid(vm), p[1]);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
	close(p[0]);
	close(p[1]);
	assert_false(held);
}

static void test_staging_into_a_full_runtime_dir_says_no_space(void **state)
{
	svt_fcmgr *m = *state;
	/* A 1000 KiB tmpfs as the runtime dir. */
	char *small = svt_small_tmpfs(m->dir, "small", "1000k");
	char *big = svt_write_data(m->dir, "big.img", 4 << 20);
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION,
				.data_dir = m->data,
				.runtime_dir = small,
				.firecracker_binary_path = svt_fake_firecracker()};
	sv_manager *mgr = NULL;
	assert_int_equal(sv_manager_new(&mgr, &o), 0);
	sv_drive_config drive = {.drive_id = "rootfs", .path_on_host = big, .is_root_device = true};
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION, .id = "full",
			    .boot_source = {.kernel_image_path = m->kernel},
			    .machine_config = {.vcpu_count = 1, .mem_size_mib = 64},
			    .drives = &drive,
			    .n_drives = 1};
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_create_vm(&vm, mgr, &cfg), 0);
	assert_int_equal(sv_vm_start(vm), SV_EIO);
	char *expected = NULL;
	assert_true(asprintf(&expected,
			     "starting VM \"full\": staging drive \"rootfs\": copying %s to "
			     "%s/full/drives/rootfs-big.img: No space left on device",
			     big, small) > 0);
	assert_string_equal(sv_last_error(), expected);
	free(expected);
	assert_int_equal(svt_dir_entries(small), 0); /* the partial copy too */
	sv_manager_free(mgr);
	assert_int_equal(umount2(small, MNT_DETACH), 0);
	free(big);
	free(small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_vmm_slow_to_listen_still_starts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vmm_never_listening_times_out_at_the_socket_deadline, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_stopping_a_paused_vm_takes_as_long_as_a_running_one, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_vm_processes_hold_no_fd_of_the_caller, setup, teardown),
	    /* Last: it moves this process into a mount namespace of its own. */
	    cmocka_unit_test_setup_teardown(test_staging_into_a_full_runtime_dir_says_no_space, setup,
					    teardown),
	};
	return svt_run_group_name("vm_process", tests, NULL, NULL);
}
