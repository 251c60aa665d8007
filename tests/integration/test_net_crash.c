/* A process holding a VM's networking is SIGKILLed; `net gc` then removes its
 * TAPs, leases, the table and the bridge, and leaves a VM that still runs
 * alone. Runs in a network namespace of its own. */
#include "test_net_fixture.h"

#include <jansson.h>
#include <poll.h>
#include <smartvm/netadmin.h>

typedef struct {
	const char *data_dir;
	const char *runtime_dir;
	int ready_fd;
} holder_args;

/* The doomed orchestrator: sets up a VM with two interfaces, says so, waits. */
static int hold_network(void *arg)
{
	holder_args *h = arg;
	svn_vm vm = svn_vm_open(h->runtime_dir, "doomed");
	sv_vm_config *cfg = svn_cfg_new(2, NULL);
	sv_tap_device taps[2];
	if (sv_vm_net_setup(NULL, h->data_dir, "doomed", vm.ledger, cfg, taps) != 0)
		return 1;
	if (write(h->ready_fd, "r", 1) != 1)
		return 2;
	for (;;)
		pause();
}

static pid_t start_holder(holder_args *h)
{
	int ready[2];
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	h->ready_fd = ready[1];
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(hold_network(h));
	close(ready[1]);
	struct pollfd p = { .fd = ready[0], .events = POLLIN };
	char r;
	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_int_equal(read(ready[0], &r, 1), 1);
	close(ready[0]);
	return pid;
}

static size_t count_leases(const char *data_dir, const char *runtime_dir, size_t *running)
{
	sv_net_admin_options o = {
	    .version = SV_NET_ADMIN_OPTIONS_VERSION, .data_dir = data_dir, .runtime_dir = runtime_dir};
	sv_net_lease_info **items = NULL;
	size_t n = 0;
	svn_ok(sv_net_list(&o, &items, &n));
	*running = 0;
	for (size_t i = 0; i < n; i++)
		*running += items[i]->vm_running;
	sv_net_lease_infos_free(items, n);
	return n;
}

static void test_net_gc_removes_what_a_killed_process_left(void **state)
{
	(void)state;
	svn_enter_fresh_netns();
	char *data_dir = svt_tmpdir(), *runtime_dir = svt_tmpdir();

	/* A VM that keeps running: its owner (this process) is alive. */
	svn_vm alive = svn_vm_open(runtime_dir, "alive");
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	sv_tap_device alive_tap;
	svn_ok(sv_vm_net_setup(NULL, data_dir, "alive", alive.ledger, cfg, &alive_tap));

	holder_args h = { data_dir, runtime_dir, -1 };
	pid_t holder = start_holder(&h);
	size_t running = 0;
	assert_int_equal(count_leases(data_dir, runtime_dir, &running), 3);
	assert_int_equal(running, 3);

	kill(holder, SIGKILL);
	int status;
	assert_int_equal(sv_reap(holder, 5000, &status), 0);
	assert_int_equal(count_leases(data_dir, runtime_dir, &running), 3);
	assert_int_equal(running, 1);
	assert_int_equal(svn_count_taps(), 3);

	sv_net_admin_options o = {
	    .version = SV_NET_ADMIN_OPTIONS_VERSION, .data_dir = data_dir, .runtime_dir = runtime_dir};
	size_t removed = 0;
	svn_ok(sv_net_gc(&o, &removed));
	assert_int_equal(removed, 2);
	assert_int_equal(count_leases(data_dir, runtime_dir, &running), 1);
	assert_int_equal(svn_count_taps(), 1);
	assert_true(svn_link_exists(alive_tap.tap_name));
	assert_true(svn_link_exists("svbr0"));
	assert_true(svn_table_exists("svbr0"));

	/* The dead VM's own ledger replay (smartvm gc) still succeeds. */
	char *doomed_dir = sv_path_join(runtime_dir, "doomed");
	sv_vm_net_register_undo();
	svn_ok(sv_ledger_replay(doomed_dir));
	assert_true(svn_link_exists(alive_tap.tap_name));
	free(doomed_dir);

	svn_ok(svn_vm_cleanup(&alive));
	svn_assert_all_gone(data_dir, "svbr0");
	svn_cfg_free(cfg);
	svt_rm_tmpdir(data_dir);
	svt_rm_tmpdir(runtime_dir);
}

static void test_net_gc_removes_everything_when_no_vm_survives(void **state)
{
	(void)state;
	svn_enter_fresh_netns();
	char *data_dir = svt_tmpdir(), *runtime_dir = svt_tmpdir();
	holder_args h = { data_dir, runtime_dir, -1 };
	pid_t holder = start_holder(&h);
	kill(holder, SIGKILL);
	int status;
	assert_int_equal(sv_reap(holder, 5000, &status), 0);
	assert_int_equal(svn_count_taps(), 2);

	/* `smartvm net ls` shows the dead VM's leases, `smartvm net gc` removes them. */
	char *out = NULL, *err = NULL;
	const char *ls[] = { "--data-dir", data_dir, "--runtime-dir", runtime_dir, "net", "ls", "--json", NULL };
	assert_int_equal(svt_run_cli(ls, NULL, &out, &err), 0);
	json_t *arr = json_loads(out, 0, NULL);
	assert_int_equal(json_array_size(arr), 2);
	json_t *first = json_array_get(arr, 0);
	assert_string_equal(json_string_value(json_object_get(first, "vm_id")), "doomed");
	assert_string_equal(json_string_value(json_object_get(first, "guest_ip")), "172.30.0.2");
	assert_true(json_is_false(json_object_get(first, "vm_running")));
	assert_true(json_is_true(json_object_get(first, "tap_present")));
	json_decref(arr);
	free(out);
	free(err);

	const char *gc[] = { "--data-dir", data_dir, "--runtime-dir", runtime_dir, "net", "gc", NULL };
	assert_int_equal(svt_run_cli(gc, NULL, &out, &err), 0);
	assert_string_equal(out, "removed 2 leases of dead VMs\n");
	free(out);
	free(err);
	svn_assert_all_gone(data_dir, "svbr0");
	/* A second gc finds nothing to do. */
	assert_int_equal(svt_run_cli(gc, NULL, &out, &err), 0);
	assert_string_equal(out, "removed 0 leases of dead VMs\n");
	free(out);
	free(err);
	svt_rm_tmpdir(data_dir);
	svt_rm_tmpdir(runtime_dir);
}

static void test_net_gc_keeps_a_vm_whose_vmm_still_runs(void **state)
{
	(void)state;
	svn_enter_fresh_netns();
	char *data_dir = svt_tmpdir(), *runtime_dir = svt_tmpdir();
	holder_args h = { data_dir, runtime_dir, -1 };
	pid_t holder = start_holder(&h);
	kill(holder, SIGKILL);
	int status;
	assert_int_equal(sv_reap(holder, 5000, &status), 0);

	/* The orchestrator is gone but "the VMM" (a sleeping child) lives on,
	 * recorded in the VM's ledger as the supervisor records it. */
	pid_t vmm = fork();
	assert_true(vmm >= 0);
	if (vmm == 0) {
		for (;;)
			pause();
	}
	char *vm_dir = sv_path_join(runtime_dir, "doomed");
	sv_ledger *ledger;
	svn_ok(sv_ledger_open(&ledger, vm_dir));
	char pid_text[32], start_text[32];
	snprintf(pid_text, sizeof(pid_text), "%d", (int)vmm);
	snprintf(start_text, sizeof(start_text), "%llu", sv_process_start_time(vmm));
	svn_ok(sv_ledger_record(ledger, "pid", pid_text, start_text));
	sv_ledger_close(ledger);

	sv_net_admin_options o = {
	    .version = SV_NET_ADMIN_OPTIONS_VERSION, .data_dir = data_dir, .runtime_dir = runtime_dir};
	size_t removed = 1;
	svn_ok(sv_net_gc(&o, &removed));
	assert_int_equal(removed, 0);
	assert_int_equal(svn_count_taps(), 2);

	kill(vmm, SIGKILL);
	assert_int_equal(sv_reap(vmm, 5000, &status), 0);
	svn_ok(sv_net_gc(&o, &removed));
	assert_int_equal(removed, 2);
	svn_assert_all_gone(data_dir, "svbr0");
	free(vm_dir);
	svt_rm_tmpdir(data_dir);
	svt_rm_tmpdir(runtime_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_gc_removes_what_a_killed_process_left),
		cmocka_unit_test(test_net_gc_removes_everything_when_no_vm_survives),
		cmocka_unit_test(test_net_gc_keeps_a_vm_whose_vmm_still_runs),
	};
	return svt_run_group(tests, NULL, NULL);
}
