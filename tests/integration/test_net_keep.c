/* The bridge and its nftables tables persist after the last VM (as Docker's
 * docker0 does) and are reused by the next; `net down` and `net gc` take
 * them down, down refusing while a VM holds a lease. A crash between a VM's
 * own steps leaves nothing of that VM after the replay, while the shared
 * pieces stay. Each test runs in a network namespace of its own. */
#include "test_net_fixture.h"

#include "net/net_names.h"
#include "net/net_tap.h"
#include "util/fault.h"
#include <dirent.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/wait.h>

static int net_setup(svn_dirs *e, svn_vm *vm, const char *id, sv_vm_config *cfg, sv_tap_device *taps)
{
	*vm = svn_vm_open(e->runtime_dir, id);
	return sv_vm_net_setup(NULL, e->data_dir, id, vm->ledger, cfg, taps);
}

/* `nft list ruleset` (every smartvm table), malloc'd. */
static char *ruleset(void)
{
	const char *const argv[] = {"nft", "list", "ruleset", NULL};
	int code = -1;
	char *out = NULL;
	assert_int_equal(sv_run(argv, NULL, 10000, &code, &out, NULL), 0);
	assert_int_equal(code, 0);
	return out ? out : strdup("");
}

/* The handle nftables gave the bridge's ip table: a table made again gets
 * a new one. */
static long table_handle(const char *bridge)
{
	char table[32];
	sv_nft_table_name(table, bridge);
	const char *const argv[] = {"nft", "-a", "list", "table", "ip", table, NULL};
	int code = -1;
	char *out = NULL;
	assert_int_equal(sv_run(argv, NULL, 10000, &code, &out, NULL), 0);
	assert_int_equal(code, 0);
	const char *h = out ? strstr(out, "# handle ") : NULL;
	assert_non_null(h);
	long handle = strtol(h + strlen("# handle "), NULL, 10);
	free(out);
	return handle;
}

static bool net_file_exists(const char *data_dir, const char *name)
{
	char *dir = sv_path_join(data_dir, "net"), *path = sv_path_join(dir, name);
	bool exists = sv_path_exists(path);
	free(path);
	free(dir);
	return exists;
}

static void test_bridge_and_table_survive_the_last_vm_and_are_reused(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	sv_tap_device tap;
	svn_vm vm;
	svn_ok(net_setup(e, &vm, "first", cfg, &tap));
	sv_nl_link br;
	assert_int_equal(sv_nl_link_get("svbr0", &br), 0);
	long handle = table_handle("svbr0");
	char *ledger_path = sv_path_join(vm.dir, "ledger"), *ledger = NULL;
	assert_int_equal(sv_read_file(ledger_path, 1 << 20, &ledger, NULL), 0);
	/* The shared pieces are no VM's: its ledger has no entry for them. */
	assert_null(strstr(ledger, "bridge"));
	assert_null(strstr(ledger, "\"nft\""));
	svt_assert_contains(ledger, "tap");
	free(ledger);
	free(ledger_path);
	svn_ok(svn_vm_cleanup(&vm));

	/* The VM's own pieces are gone, the bridge's stay. */
	assert_false(svn_link_exists(tap.tap_name));
	assert_int_equal(svn_count_taps(), 0);
	assert_false(net_file_exists(e->data_dir, "svbr0.leases"));
	assert_true(net_file_exists(e->data_dir, "svbr0.bridge"));
	sv_nl_link kept;
	assert_int_equal(sv_nl_link_get("svbr0", &kept), 0);
	assert_int_equal(kept.index, br.index);
	assert_string_equal(kept.alias, SV_NET_BRIDGE_ALIAS);
	bool has_gw = false;
	assert_int_equal(sv_nl_addr_has(kept.index, svn_ip("172.30.0.1"), &has_gw), 0);
	assert_true(has_gw);
	assert_true(svn_table_exists("svbr0"));

	/* The next VM reuses them as they are: same bridge, same table. */
	sv_vm_config *cfg2 = svn_cfg_new(1, NULL);
	svn_ok(net_setup(e, &vm, "second", cfg2, &tap));
	assert_string_equal(tap.guest_ip, "172.30.0.2");
	sv_nl_link again, t;
	assert_int_equal(sv_nl_link_get("svbr0", &again), 0);
	assert_int_equal(again.index, br.index);
	assert_int_equal(table_handle("svbr0"), handle);
	assert_int_equal(sv_nl_link_get(tap.tap_name, &t), 0);
	assert_int_equal(t.master, br.index);
	svn_ok(svn_vm_cleanup(&vm));
	svn_assert_all_gone(e->data_dir, "svbr0");
	svn_cfg_free(cfg);
	svn_cfg_free(cfg2);
}

static void test_net_down_refuses_while_vms_hold_leases_and_names_them(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	sv_vm_config *c1 = svn_cfg_new(1, NULL), *c2 = svn_cfg_new(2, NULL);
	sv_tap_device t1[1], t2[2];
	svn_vm v1, v2;
	svn_ok(net_setup(e, &v1, "alpha", c1, t1));
	svn_ok(net_setup(e, &v2, "beta", c2, t2));
	sv_net_admin_options o = SV_NET_ADMIN_OPTIONS_INIT;
	o.data_dir = e->data_dir;
	size_t n_down = 99;
	assert_int_equal(sv_net_down(&o, &n_down), SV_EBUSY);
	assert_int_equal(n_down, 0);
	assert_string_equal(sv_last_error(),
			    "taking down bridges: bridge svbr0: still in use by VM \"alpha\" (eth0), VM \"beta\" "
			    "(eth0), VM \"beta\" (eth1); stop them first (`smartvm net gc` removes the leases of "
			    "VMs that no longer run)");
	/* Refused: nothing was touched. */
	assert_true(svn_link_exists("svbr0"));
	assert_true(svn_table_exists("svbr0"));
	assert_int_equal(svn_count_taps(), 3);

	svn_ok(svn_vm_cleanup(&v1));
	o.bridge_name = "svbr0";
	assert_int_equal(sv_net_down(&o, NULL), SV_EBUSY);
	assert_string_equal(sv_last_error(),
			    "taking down bridges: bridge svbr0: still in use by VM \"beta\" (eth0), VM \"beta\" "
			    "(eth1); stop them first (`smartvm net gc` removes the leases of VMs that no longer "
			    "run)");
	assert_true(svn_table_exists("svbr0"));

	svn_ok(svn_vm_cleanup(&v2));
	svn_ok(sv_net_down(&o, &n_down));
	assert_int_equal(n_down, 1);
	svn_assert_nothing_made(e->data_dir, "svbr0");
	/* Again: nothing left to take down, and that is no error. */
	svn_ok(sv_net_down(&o, &n_down));
	assert_int_equal(n_down, 0);
	o.bridge_name = "bad name";
	assert_int_equal(sv_net_down(&o, NULL), SV_EINVAL);
	svn_cfg_free(c1);
	svn_cfg_free(c2);
}

static void test_net_gc_takes_down_an_idle_bridge_only(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	sv_manager_options other = {
	    .version = SV_MANAGER_OPTIONS_VERSION, .bridge_name = "svbr5", .subnet = "10.55.0.0/24"};
	sv_vm_config *c1 = svn_cfg_new(1, NULL), *c2 = svn_cfg_new(1, NULL);
	sv_tap_device t1, t2;
	svn_vm idle, busy;
	svn_ok(net_setup(e, &idle, "idle", c1, &t1));
	svn_ok(svn_vm_cleanup(&idle));
	busy = svn_vm_open(e->runtime_dir, "busy");
	svn_ok(sv_vm_net_setup(&other, e->data_dir, "busy", busy.ledger, c2, &t2));

	sv_net_admin_options o = SV_NET_ADMIN_OPTIONS_INIT;
	o.data_dir = e->data_dir;
	o.runtime_dir = e->runtime_dir;
	size_t removed = 99;
	svn_ok(sv_net_gc(&o, &removed));
	assert_int_equal(removed, 0);
	/* svbr0 had no lease: taken down; svbr5's VM (this process) runs. */
	assert_false(svn_link_exists("svbr0"));
	assert_false(svn_table_exists("svbr0"));
	assert_false(net_file_exists(e->data_dir, "svbr0.bridge"));
	assert_true(svn_link_exists("svbr5"));
	assert_true(svn_table_exists("svbr5"));
	assert_true(svn_link_exists(t2.tap_name));

	svn_ok(svn_vm_cleanup(&busy));
	svn_ok(sv_net_gc(&o, &removed));
	svn_assert_nothing_made(e->data_dir, "svbr5");
	svn_assert_nothing_made(e->data_dir, "svbr0");
	svn_cfg_free(c1);
	svn_cfg_free(c2);
}

/* A device smartvm does not know, on the bridge after the last VM: down
 * keeps the bridge (and says so by not counting it), and takes it once the
 * device is gone. */
static void test_net_down_keeps_a_bridge_a_foreign_device_uses(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	sv_tap_device tap;
	svn_vm vm;
	svn_ok(net_setup(e, &vm, "one", cfg, &tap));
	svn_ok(svn_vm_cleanup(&vm));
	sv_nl_link br;
	assert_int_equal(sv_nl_link_get("svbr0", &br), 0);
	assert_int_equal(sv_tap_create("usertap", "a device of the user"), 0);
	assert_int_equal(sv_nl_link_set_master("usertap", br.index), 0);

	sv_net_admin_options o = SV_NET_ADMIN_OPTIONS_INIT;
	o.data_dir = e->data_dir;
	size_t n_down = 99;
	svn_ok(sv_net_down(&o, &n_down));
	assert_int_equal(n_down, 0);
	assert_true(svn_link_exists("svbr0"));
	assert_true(net_file_exists(e->data_dir, "svbr0.bridge"));
	assert_true(svn_link_exists("usertap"));

	assert_int_equal(sv_nl_link_del("usertap"), 0);
	svn_ok(sv_net_down(&o, &n_down));
	assert_int_equal(n_down, 1);
	svn_assert_nothing_made(e->data_dir, "svbr0");
	svn_cfg_free(cfg);
}

/* A table removed behind smartvm's back (`nft flush ruleset`) while the
 * record says it is applied: the next VM's batch fails, the table is
 * applied again and the batch retried. */
static void test_a_table_removed_behind_our_back_is_applied_again(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	sv_tap_device tap;
	svn_vm vm;
	svn_ok(net_setup(e, &vm, "before", cfg, &tap));
	svn_ok(svn_vm_cleanup(&vm));
	const char *const flush[] = {"nft", "flush", "ruleset", NULL};
	int code = -1;
	assert_int_equal(sv_run(flush, NULL, 10000, &code, NULL, NULL), 0);
	assert_int_equal(code, 0);
	assert_false(svn_table_exists("svbr0"));

	sv_vm_config *cfg2 = svn_cfg_new(1, NULL);
	svn_ok(net_setup(e, &vm, "after", cfg2, &tap));
	assert_true(svn_table_exists("svbr0"));
	char *rules = ruleset();
	svt_assert_contains(rules, tap.tap_name);
	free(rules);
	svn_ok(svn_vm_cleanup(&vm));
	svn_assert_all_gone(e->data_dir, "svbr0");
	svn_cfg_free(cfg);
	svn_cfg_free(cfg2);
}

/* The child: sets a VM up with SMARTVM_FAULT armed to SIGKILL itself. */
static void crash_at(svn_dirs *e, const char *id, const char *fault)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("SMARTVM_FAULT", fault, 1);
		sv_ledger *ledger = NULL;
		char *dir = sv_path_join(e->runtime_dir, id);
		if (sv_mkdir_p(dir, 0755) || sv_ledger_open(&ledger, dir))
			_exit(1);
		sv_vm_config *cfg = svn_cfg_new(1, NULL);
		sv_tap_device tap;
		sv_vm_net_setup(NULL, e->data_dir, id, ledger, cfg, &tap);
		_exit(2); /* the fault point was not reached */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

static void test_a_crash_between_vm_steps_leaves_nothing_of_the_vm_after_replay(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	if (!SV_FAULT_INJECTION)
		svt_skip(SVT_NEED_FAULTS, "this build has no fault injection (-Dfault_injection)");
	/* Each step of a VM's own networking, in setup order. */
	static const char *const points[] = {"launch.bridge", "launch.nft", "launch.lease", "launch.tap",
					      "launch.firewall"};
	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		char fault[64], id[16];
		snprintf(fault, sizeof(fault), "%s:kill", points[i]);
		snprintf(id, sizeof(id), "crash%zu", i);
		crash_at(e, id, fault);
		char *dir = sv_path_join(e->runtime_dir, id);
		sv_vm_net_register_undo();
		svn_ok(sv_ledger_replay(dir));
		free(dir);
		/* Nothing of the VM: no TAP, no lease, no firewall element. */
		assert_int_equal(svn_count_taps(), 0);
		assert_false(net_file_exists(e->data_dir, "svbr0.leases"));
		char *rules = ruleset();
		assert_null(strstr(rules, "172.30.0.2"));
		assert_null(strstr(rules, "svt"));
		free(rules);
		/* Once the bridge was ensured, it and the table stay, recorded. */
		if (i >= 1) {
			assert_true(svn_link_exists("svbr0"));
			assert_true(net_file_exists(e->data_dir, "svbr0.bridge"));
		}
		if (i >= 2)
			assert_true(svn_table_exists("svbr0"));
	}
	/* And a live VM's elements do show in the ruleset: the check can fail. */
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	sv_tap_device tap;
	svn_vm vm;
	svn_ok(net_setup(e, &vm, "alive", cfg, &tap));
	char *rules = ruleset();
	svt_assert_contains(rules, "172.30.0.2");
	svt_assert_contains(rules, tap.tap_name);
	free(rules);
	svn_ok(svn_vm_cleanup(&vm));
	svn_assert_all_gone(e->data_dir, "svbr0");
	svn_cfg_free(cfg);
}

/* The nftables context (tables) and the elements' netlink socket are kept
 * between batches: neither must reach the programs smartvm starts (VMMs,
 * supervisors). */
static void test_the_kept_nftables_socket_is_close_on_exec(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	sv_tap_device tap;
	svn_vm vm;
	svn_ok(net_setup(e, &vm, "cloexec", cfg, &tap));
	int found = 0;
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	for (struct dirent *de; (de = readdir(d));) {
		int fd = atoi(de->d_name), domain = 0, proto = 0;
		socklen_t len = sizeof(int);
		if (fd <= 2 || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) || domain != AF_NETLINK)
			continue;
		len = sizeof(int);
		if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) || proto != NETLINK_NETFILTER)
			continue;
		found++;
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	}
	closedir(d);
	assert_int_equal(found, 2); /* kept, one of each */
	svn_ok(svn_vm_cleanup(&vm));
	svn_assert_all_gone(e->data_dir, "svbr0");
	svn_cfg_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bridge_and_table_survive_the_last_vm_and_are_reused,
					    svn_dirs_setup, svn_dirs_teardown),
	    cmocka_unit_test_setup_teardown(test_net_down_refuses_while_vms_hold_leases_and_names_them,
					    svn_dirs_setup, svn_dirs_teardown),
	    cmocka_unit_test_setup_teardown(test_net_gc_takes_down_an_idle_bridge_only, svn_dirs_setup,
					    svn_dirs_teardown),
	    cmocka_unit_test_setup_teardown(test_net_down_keeps_a_bridge_a_foreign_device_uses, svn_dirs_setup,
					    svn_dirs_teardown),
	    cmocka_unit_test_setup_teardown(test_a_table_removed_behind_our_back_is_applied_again,
					    svn_dirs_setup, svn_dirs_teardown),
	    cmocka_unit_test_setup_teardown(test_a_crash_between_vm_steps_leaves_nothing_of_the_vm_after_replay,
					    svn_dirs_setup, svn_dirs_teardown),
	    cmocka_unit_test_setup_teardown(test_the_kept_nftables_socket_is_close_on_exec, svn_dirs_setup,
					    svn_dirs_teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
