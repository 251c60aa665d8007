/* Whether a VM is alive is decided from the VM itself (the lock on its
 * directory, held by its supervisor), wherever its runtime dir is: `net gc`
 * and image eviction run with another --runtime-dir leave a detached VM's
 * TAP, lease, table, bridge and base image alone (they once destroyed them,
 * judging from the pid of the CLI that had started the VM and exited).
 * Runs in a network namespace of its own. */
#include "test_net_fixture.h"

#include "leftovers.h"
#include "sv_build_config.h"
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <jansson.h>

typedef struct {
	char *tmp;
	char data[512], rt[512], other_rt[512];
	char *kernel, *rootfs;
	char *out, *err;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->tmp = svt_tmpdir();
	snprintf(f->data, sizeof(f->data), "%s/data", f->tmp);
	snprintf(f->rt, sizeof(f->rt), "%s/rt", f->tmp);
	snprintf(f->other_rt, sizeof(f->other_rt), "%s/other-rt", f->tmp);
	f->kernel = svt_write(f->tmp, "vmlinux", "not really a kernel\n");
	f->rootfs = svt_write(f->tmp, "rootfs.ext4", "not really a filesystem\n");
	*state = f;
	return 0;
}

/* SIGKILLs the processes (ours: VMs this test started) naming needle. */
static void kill_processes_with(const char *needle)
{
	DIR *d = opendir("/proc");
	for (struct dirent *de; d && (de = readdir(d));) {
		pid_t pid = (pid_t)atoi(de->d_name);
		char path[64], *text = NULL;
		size_t len = 0;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		if (pid <= 0 || pid == getpid() || sv_read_file(path, 1 << 16, &text, &len) != 0)
			continue;
		for (size_t i = 0; i < len; i++)
			text[i] = text[i] ? text[i] : ' ';
		if (len && strstr(text, needle))
			kill(pid, SIGKILL);
		free(text);
	}
	if (d)
		closedir(d);
}

static int teardown(void **state)
{
	fixture *f = *state;
	for (int i = 0; i < 100 && svt_count_processes_with(f->tmp) > 0; i++)
		usleep(50000);
	int left = svt_count_processes_with(f->tmp);
	if (left)
		kill_processes_with(f->tmp); /* a failed test must not leak its VMs */
	free(f->kernel);
	free(f->rootfs);
	free(f->out);
	free(f->err);
	svt_rm_tmpdir(f->tmp);
	free(f);
	assert_int_equal(left, 0);
	return 0;
}

/* The CLI with --data-dir and the given runtime dir. */
static int cli_in(fixture *f, const char *rt, ...)
{
	va_list ap;
	va_start(ap, rt);
	int code = svt_run_cli_dirs_v(f->data, rt, NULL, &f->out, &f->err, ap);
	va_end(ap);
	if (code != 0)
		print_message("smartvm exited %d: %s\n", code, f->err ? f->err : "");
	return code;
}

static void test_net_gc_with_another_runtime_dir_keeps_a_detached_vm_network(void **state)
{
	fixture *f = *state;
	svn_enter_fresh_netns();
	assert_int_equal(cli_in(f, f->rt, "run", "--kernel", f->kernel, "--rootfs", f->rootfs, "--id",
				"netvm", "--net", "--firecracker-bin", svt_fake_firecracker(), "--detach",
				NULL),
			 0);
	assert_int_equal(svn_count_taps(), 1);

	/* The CLI that set the network up has exited; the VM runs on. */
	assert_int_equal(cli_in(f, f->other_rt, "net", "ls", "--json", NULL), 0);
	json_t *arr = json_loads(f->out, 0, NULL);
	assert_int_equal(json_array_size(arr), 1);
	assert_true(json_is_true(json_object_get(json_array_get(arr, 0), "vm_running")));
	json_decref(arr);
	assert_int_equal(cli_in(f, f->other_rt, "net", "gc", NULL), 0);
	assert_string_equal(f->out, "removed 0 leases of dead VMs\n");
	assert_int_equal(svn_count_taps(), 1);
	assert_true(svn_link_exists("svbr0"));
	assert_true(svn_table_exists("svbr0"));

	assert_int_equal(cli_in(f, f->rt, "stop", "netvm", NULL), 0);
	svn_assert_all_gone(f->data, "svbr0");
}

static void test_image_rm_with_another_runtime_dir_keeps_a_running_vm_image(void **state)
{
	fixture *f = *state;
	char *src = sv_path_join(f->tmp, "src");
	assert_int_equal(sv_mkdir_p(src, 0755), 0);
	free(svt_write(src, "vmlinux", "kernel"));
	free(svt_write(src, "rootfs.squashfs", "rootfs"));
	char *manifest =
	    svt_write(src, "m.json",
		      "{\"schemaVersion\":1,\"bundleId\":\"sq\",\"arch\":\"x86_64\","
		      "\"firecrackerVersion\":\"v1.7.0\",\"rootfsType\":\"squashfs\","
		      "\"kernel\":{\"path\":\"vmlinux\"},\"rootfs\":{\"path\":\"rootfs.squashfs\"}}");
	assert_int_equal(cli_in(f, f->rt, "image", "pull", "--manifest", manifest, NULL), 0);
	assert_int_equal(cli_in(f, f->rt, "run", "--image", "sq", "--id", "img1", "--firecracker-bin",
				svt_fake_firecracker(), "--detach", NULL),
			 0);

	assert_int_equal(cli_in(f, f->other_rt, "image", "rm", "sq", NULL), 1);
	assert_string_equal(f->err, "smartvm: base image bundle \"sq\" is in use by a running VM\n");
	char *bundle = sv_path_join(f->data, "base-images/sq");
	assert_true(sv_path_exists(bundle));

	assert_int_equal(cli_in(f, f->rt, "kill", "img1", NULL), 0);
	assert_int_equal(cli_in(f, f->other_rt, "image", "rm", "sq", NULL), 0);
	assert_false(sv_path_exists(bundle));
	free(bundle);
	free(manifest);
	free(src);
}

/* `stop` cleans up after the supervisor only while the directory is still
 * its VM's. Stopped at that step (fault point stop.cleanup) after the
 * supervisor had removed the old directory, the stopping CLI once went on to
 * replay the ledger of a new VM that had taken the id meanwhile: it killed
 * that VM's VMM and deleted its directory. */
static void test_stop_leaves_a_new_vm_with_the_same_id_alone(void **state)
{
#if !SV_FAULT_INJECTION
	svt_skip(SVT_NEED_HOST, "this build has no fault injection (-Dfault_injection)");
#endif
	fixture *f = *state;
	const char *run[] = {"run",
			     "--kernel",
			     f->kernel,
			     "--rootfs",
			     f->rootfs,
			     "--id",
			     "same",
			     "--firecracker-bin",
			     svt_fake_firecracker(),
			     "--detach",
			     NULL};
	assert_int_equal(cli_in(f, f->rt, run[0], run[1], run[2], run[3], run[4], run[5], run[6], run[7],
				run[8], run[9], NULL),
			 0);
	char report[600];
	snprintf(report, sizeof(report), "%s/fault-report", f->tmp);
	const char *argv[] = {svt_cli(), "--data-dir", f->data, "--runtime-dir", f->rt, "stop", "same", NULL};
	setenv("SMARTVM_FAULT", "stop.cleanup:stop", 1);
	setenv("SMARTVM_FAULT_REPORT", report, 1);
	sv_spawn_opts so = {.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	pid_t stopper;
	int rc = sv_spawn(&so, &stopper, NULL);
	unsetenv("SMARTVM_FAULT");
	unsetenv("SMARTVM_FAULT_REPORT");
	assert_int_equal(rc, 0);
	assert_true(svt_wait_stopped(stopper, 30000));

	/* The old VM has ended, detached: its end record keeps the id until
	 * rm; then the id is free again. */
	assert_int_equal(cli_in(f, f->rt, run[0], run[1], run[2], run[3], run[4], run[5], run[6], run[7],
				run[8], run[9], NULL),
			 1);
	svt_assert_contains(f->err, "is in use by an ended VM, kept until it is removed; remove it first "
				    "(smartvm rm same)");
	assert_int_equal(cli_in(f, f->rt, "rm", "same", NULL), 0);
	assert_string_equal(f->out, "same\n");
	assert_int_equal(cli_in(f, f->rt, run[0], run[1], run[2], run[3], run[4], run[5], run[6], run[7],
				run[8], run[9], NULL),
			 0);
	int vmm = svt_vm_state_pid(f->rt, "same", "vmm_pid");
	kill(stopper, SIGCONT);
	int status = 0;
	assert_int_equal(sv_reap(stopper, 30000, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	assert_int_equal(kill(vmm, 0), 0);
	assert_int_equal(cli_in(f, f->rt, "inspect", "same", NULL), 0);
	svt_assert_contains(f->out, "state: running\n");
	assert_int_equal(cli_in(f, f->rt, "stop", "same", NULL), 0);
	assert_int_equal(cli_in(f, f->rt, "rm", "same", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_image_rm_with_another_runtime_dir_keeps_a_running_vm_image,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_leaves_a_new_vm_with_the_same_id_alone, setup,
					    teardown),
	    /* Last: it moves this process into a network namespace of its own. */
	    cmocka_unit_test_setup_teardown(test_net_gc_with_another_runtime_dir_keeps_a_detached_vm_network,
					    setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
