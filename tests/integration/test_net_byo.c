/* Bring-your-own networking through the library: TAPs made inside a network
 * namespace someone else owns (net.netns_path), existing TAPs used as they
 * are (net.existing_taps), and what is refused. Nothing of the owner's is
 * ever deleted; smartvm makes no bridge, lease, table or ip= there. The
 * "user's" namespace is held by a child process (/proc/PID/ns/net), inside
 * the test's own fresh namespace. */
#include "test_net_fixture.h"

#include "net/net_byo.h"
#include "net/net_names.h"
#include "net/net_options.h"
#include "net/net_tap.h"
#include "util/error.h"

static void test_taps_are_made_in_the_owners_namespace_and_only_they_removed(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	svn_user_ns u = svn_user_ns_new();
	assert_int_equal(svn_run_in(u.fd, svn_make_user_device, "usertap0", 5000), 0);
	sv_vm_net_options no = SV_VM_NET_OPTIONS_INIT;
	no.netns_path = u.path;
	sv_vm_config *cfg = svn_cfg_new(1, "console=ttyS0");
	cfg->net = &no;
	svn_vm vm = svn_vm_open(e->runtime_dir, "cni");
	sv_tap_device tap;
	svn_ok(sv_vm_net_setup(NULL, e->data_dir, "cni", vm.ledger, cfg, &tap));

	char want[16];
	assert_int_equal(sv_net_tap_name(want, "cni", "eth0"), 0);
	assert_string_equal(tap.tap_name, want);
	assert_string_equal(tap.guest_ip, ""); /* the owner's to give */
	assert_string_equal(cfg->boot_source.boot_args, "console=ttyS0");
	svn_link_query q = {.name = want};
	assert_int_equal(svn_run_in(u.fd, svn_get_link, &q, 5000), 0);
	assert_false(svn_link_exists(want)); /* not here */
	assert_false(svn_link_exists("svbr0"));
	assert_false(svn_table_exists("svbr0"));
	char *net_dir = sv_path_join(e->data_dir, "net");
	assert_int_equal(svt_dir_entries(net_dir), 0);

	/* The VMM's supervisor is spawned inside the namespace. */
	int out[2];
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	const char *argv[] = {"/bin/readlink", "/proc/self/ns/net", NULL};
	sv_spawn_opts so = {.argv = argv, .stdin_fd = -1, .stdout_fd = out[1], .stderr_fd = -1};
	pid_t pid;
	svn_ok(sv_vm_net_spawn(cfg, &so, &pid));
	close(out[1]);
	int status;
	assert_int_equal(sv_reap(pid, 5000, &status), 0);
	char got[64] = "", expect[64] = "";
	assert_true(read(out[0], got, sizeof(got) - 1) > 0);
	close(out[0]);
	assert_true(readlink(u.path, expect, sizeof(expect) - 1) > 0);
	got[strcspn(got, "\n")] = '\0';
	assert_string_equal(got, expect);

	svn_ok(svn_vm_cleanup(&vm));
	assert_int_equal(svn_run_in(u.fd, svn_get_link, &q, 5000), 1); /* ours: gone */
	svn_link_query mine = {.name = "usertap0"};
	assert_int_equal(svn_run_in(u.fd, svn_get_link, &mine, 5000), 0); /* theirs: kept */
	assert_int_equal(svt_dir_entries(net_dir), 0);
	free(net_dir);
	cfg->net = NULL;
	svn_cfg_free(cfg);
	svn_user_ns_free(&u);
}

static int setup_existing(svn_dirs *e, const char *dev, const char *netns)
{
	sv_vm_net_options no = SV_VM_NET_OPTIONS_INIT;
	no.existing_taps = true;
	no.netns_path = netns;
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	((sv_net_iface_config *)cfg->network_interfaces)[0].host_dev_name = strdup(dev);
	cfg->net = &no;
	svn_vm vm = svn_vm_open(e->runtime_dir, "byo");
	sv_tap_device tap;
	int rc = sv_vm_net_setup(NULL, e->data_dir, "byo", vm.ledger, cfg, &tap);
	sv_err_saved saved;
	sv_err_save(&saved);
	if (rc == 0)
		assert_string_equal(tap.tap_name, dev);
	svn_ok(svn_vm_cleanup(&vm));
	sv_err_restore(&saved);
	cfg->net = NULL;
	svn_cfg_free(cfg);
	return rc;
}

static void test_existing_taps_are_used_as_they_are_and_checked(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	assert_int_equal(svn_make_user_device("usertap1"), 0);
	svn_ok(setup_existing(e, "usertap1", NULL));
	assert_true(svn_link_exists("usertap1")); /* never deleted */
	assert_false(svn_link_exists("svbr0"));

	svn_user_ns u = svn_user_ns_new();
	assert_int_equal(svn_run_in(u.fd, svn_make_user_device, "nstap0", 5000), 0);
	svn_ok(setup_existing(e, "nstap0", u.path));
	svn_link_query q = {.name = "nstap0"};
	assert_int_equal(svn_run_in(u.fd, svn_get_link, &q, 5000), 0);

	assert_int_equal(setup_existing(e, "nstap0", NULL), SV_ENOTFOUND);
	assert_string_equal(sv_last_error(),
			    "setting up networking of VM \"byo\": network_interfaces[0].host_dev_name "
			    "\"nstap0\": no such device on the host");
	assert_int_equal(svn_make_user_device("usertun0"), 0);
	assert_int_equal(setup_existing(e, "usertun0", NULL), SV_EINVAL);
	assert_string_equal(sv_last_error(),
			    "setting up networking of VM \"byo\": network_interfaces[0].host_dev_name "
			    "\"usertun0\": a TUN device, not a TAP");
	svn_veth_add("vuser0", "vuser1", u.fd);
	assert_int_equal(setup_existing(e, "vuser0", NULL), SV_EINVAL);
	assert_string_equal(sv_last_error(),
			    "setting up networking of VM \"byo\": network_interfaces[0].host_dev_name "
			    "\"vuser0\": a veth, not a TAP");
	svn_user_ns_free(&u);
}

static int check(const sv_vm_net_options *no, size_t n_ifaces)
{
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	cfg->net = no;
	cfg->n_network_interfaces = n_ifaces;
	int rc = sv_net_check_vm_options(cfg);
	cfg->n_network_interfaces = 1;
	cfg->net = NULL;
	svn_cfg_free(cfg);
	return rc;
}

static void test_bad_namespaces_and_combinations_are_refused(void **state)
{
	svn_dirs *e = *state;
	char *plain = svt_write(e->data_dir, "not-a-netns", "x");
	sv_vm_net_options no = SV_VM_NET_OPTIONS_INIT;
	no.netns_path = plain;
	assert_int_equal(check(&no, 1), SV_EINVAL);
	char want[512];
	snprintf(
	    want, sizeof(want),
	    "net.netns_path \"%s\": not a network namespace (not an nsfs file; give a bind mount such as "
	    "/var/run/netns/NAME, or /proc/PID/ns/net)",
	    plain);
	assert_string_equal(sv_last_error(), want);
	no.netns_path = "/proc/self/ns/mnt";
	assert_int_equal(check(&no, 1), SV_EINVAL);
	assert_string_equal(sv_last_error(),
			    "net.netns_path \"/proc/self/ns/mnt\": a namespace, but not a network namespace");
	no.netns_path = "/nonexistent/ns";
	assert_int_equal(check(&no, 1), SV_ENOTFOUND);
	assert_string_equal(sv_last_error(), "net.netns_path \"/nonexistent/ns\": No such file or directory");

	no.netns_path = "/proc/self/ns/net";
	static const char *const pub[] = {"8080:80"};
	no.publish = pub;
	no.n_publish = 1;
	assert_int_equal(check(&no, 1), SV_EINVAL);
	assert_string_equal(sv_last_error(),
			    "net.publish: needs smartvm's bridge networking; with net.netns_path the "
			    "network belongs to its owner");
	no = (sv_vm_net_options)SV_VM_NET_OPTIONS_INIT;
	no.existing_taps = true;
	no.wireguard_config = plain;
	assert_int_equal(check(&no, 1), SV_EINVAL);
	assert_string_equal(sv_last_error(), "net.wireguard_config: needs smartvm's bridge networking; with "
					     "net.existing_taps the network belongs to its owner");
	no.wireguard_config = NULL;
	assert_int_equal(check(&no, 1), SV_EINVAL);
	assert_string_equal(
	    sv_last_error(),
	    "network_interfaces[0].host_dev_name: required with net.existing_taps (the TAP to use)");
	no = (sv_vm_net_options)SV_VM_NET_OPTIONS_INIT;
	no.version = 7;
	assert_int_equal(check(&no, 1), SV_EINVAL);
	assert_string_equal(sv_last_error(), "net.version: 7 is not a version this library knows (1 to 2)");
	free(plain);
}

static void test_join_dev_needs_a_namespace_and_one_tap_of_ours(void **state)
{
	(void)state;
	sv_vm_net_options no = SV_VM_NET_OPTIONS_INIT;
	no.join_dev = "eth0";
	assert_int_equal(check(&no, 1), SV_EINVAL);
	assert_string_equal(sv_last_error(), "net.join_dev: needs net.netns_path (the namespace eth0 is in)");
	no.netns_path = "/proc/self/ns/net";
	no.existing_taps = true;
	assert_int_equal(check(&no, 1), SV_EINVAL);
	assert_string_equal(sv_last_error(),
			    "net.join_dev: not with net.existing_taps (the joined TAP is smartvm's own)");
	no.existing_taps = false;
	assert_int_equal(check(&no, 2), SV_EINVAL);
	assert_string_equal(sv_last_error(), "net.join_dev: needs exactly one network interface (the VM has 2)");
	no.join_dev = "bad/name";
	assert_int_equal(check(&no, 1), SV_EINVAL);
	svt_assert_contains(sv_last_error(), "net.join_dev \"bad/name\": ");
	no.join_dev = "eth0";
	assert_int_equal(check(&no, 1), 0);
}

/* A caller built against version 1 gave a struct that ends before
 * join_dev: the copy reads no further (ASan sees any read past it). */
static void test_a_version_1_caller_is_read_only_as_far_as_its_struct_goes(void **state)
{
	(void)state;
	size_t v1 = offsetof(sv_vm_net_options, join_dev);
	sv_vm_net_options full = SV_VM_NET_OPTIONS_INIT;
	full.version = 1;
	full.allow_host_dns = true;
	void *old = malloc(v1);
	assert_non_null(old);
	memcpy(old, &full, v1);
	sv_vm_config *cfg = svn_cfg_new(1, NULL), *copy = NULL;
	cfg->net = old;
	assert_int_equal(sv_vm_config_copy(&copy, cfg), 0);
	assert_int_equal(copy->net->version, SV_VM_NET_OPTIONS_VERSION);
	assert_true(copy->net->allow_host_dns);
	assert_null(copy->net->join_dev);
	cfg->net = NULL;
	sv_vm_config_free(copy);
	svn_cfg_free(cfg);
	free(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_taps_are_made_in_the_owners_namespace_and_only_they_removed,
					    svn_dirs_setup, svn_dirs_teardown),
	    cmocka_unit_test_setup_teardown(test_existing_taps_are_used_as_they_are_and_checked,
					    svn_dirs_setup, svn_dirs_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_namespaces_and_combinations_are_refused, svn_dirs_setup,
					    svn_dirs_teardown),
	    cmocka_unit_test(test_join_dev_needs_a_namespace_and_one_tap_of_ours),
	    cmocka_unit_test(test_a_version_1_caller_is_read_only_as_far_as_its_struct_goes),
	};
	return svt_run_group(tests, NULL, NULL);
}
