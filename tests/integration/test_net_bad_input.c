/* Bad networking input through the VM seam: a clear error naming the value,
 * and nothing created on the host (no bridge, table, TAP, lease or ledger
 * entry). Each test runs in a network namespace of its own. */
#include "test_net_fixture.h"

#include "net/net_names.h"
#include "net/net_tap.h"

static size_t ledger_size(const svn_vm *vm)
{
	char *path = sv_path_join(vm->dir, "ledger");
	struct stat st = { 0 };
	stat(path, &st);
	free(path);
	return (size_t)st.st_size;
}

/* Runs setup expecting code and message, then checks nothing was made. */
static void expect_refused(svn_dirs *e, const sv_manager_options *opts, sv_vm_config *cfg, int code,
			   const char *message)
{
	svn_vm vm = svn_vm_open(e->runtime_dir, "bad");
	sv_tap_device taps[4];
	int rc = sv_vm_net_setup(opts, e->data_dir, "bad", vm.ledger, cfg, taps);
	assert_int_equal(rc, code);
	assert_string_equal(sv_last_error(), message);
	assert_int_equal(ledger_size(&vm), 0);
	const char *bridge = opts && opts->bridge_name ? opts->bridge_name : "svbr0";
	if (strlen(bridge) < 16 && !strchr(bridge, ' '))
		svn_assert_nothing_made(e->data_dir, bridge);
	assert_int_equal(svn_count_taps(), 0);
	svn_ok(svn_vm_cleanup(&vm));
}

static void test_subnet_31_creates_nothing(void **state)
{
	svn_enter_fresh_netns();
	sv_manager_options opts = {.version = SV_MANAGER_OPTIONS_VERSION, .subnet = "10.0.0.0/31"};
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	expect_refused(*state, &opts, cfg, SV_EINVALID_SUBNET,
		       "setting up networking of VM \"bad\": subnet \"10.0.0.0/31\": a /31 has no room for the gateway "
		       "and a guest (the longest prefix is /30)");
	svn_cfg_free(cfg);
}

static void test_subnet_0_creates_nothing(void **state)
{
	svn_enter_fresh_netns();
	sv_manager_options opts = {.version = SV_MANAGER_OPTIONS_VERSION, .subnet = "0.0.0.0/0"};
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	expect_refused(*state, &opts, cfg, SV_EINVALID_SUBNET,
		       "setting up networking of VM \"bad\": subnet \"0.0.0.0/0\": prefix must be between 1 and 30");
	svn_cfg_free(cfg);
}

static void test_subnet_loopback_creates_nothing(void **state)
{
	svn_enter_fresh_netns();
	sv_manager_options opts = {.version = SV_MANAGER_OPTIONS_VERSION, .subnet = "127.0.0.0/8"};
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	expect_refused(*state, &opts, cfg, SV_EINVALID_SUBNET,
		       "setting up networking of VM \"bad\": subnet \"127.0.0.0/8\": overlaps 127.0.0.0/8 (loopback): its "
		       "addresses never leave a host");
	svn_cfg_free(cfg);
}

static void test_subnet_ipv6_creates_nothing(void **state)
{
	svn_enter_fresh_netns();
	sv_manager_options opts = {.version = SV_MANAGER_OPTIONS_VERSION, .subnet = "fd00:1::/64"};
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	expect_refused(*state, &opts, cfg, SV_EINVALID_SUBNET,
		       "setting up networking of VM \"bad\": subnet \"fd00:1::/64\": IPv6 is not supported, give an IPv4 "
		       "CIDR (a.b.c.d/prefix)");
	svn_cfg_free(cfg);
}

static void test_subnet_garbage_creates_nothing(void **state)
{
	svn_enter_fresh_netns();
	sv_manager_options opts = {.version = SV_MANAGER_OPTIONS_VERSION, .subnet = "lots of addresses"};
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	expect_refused(*state, &opts, cfg, SV_EINVALID_SUBNET,
		       "setting up networking of VM \"bad\": subnet \"lots of addresses\": not an IPv4 CIDR (a.b.c.d/prefix)");
	svn_cfg_free(cfg);
}

static void test_bridge_name_too_long_creates_nothing(void **state)
{
	svn_enter_fresh_netns();
	sv_manager_options opts = {.version = SV_MANAGER_OPTIONS_VERSION, .bridge_name = "a-bridge-too-long"};
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	expect_refused(*state, &opts, cfg, SV_EINVAL,
		       "setting up networking of VM \"bad\": bridge_name \"a-bridge-too-long\": at most 15 bytes");
	svn_cfg_free(cfg);
}

static void test_host_dev_name_with_space_creates_nothing(void **state)
{
	svn_enter_fresh_netns();
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	((sv_net_iface_config *)cfg->network_interfaces)[0].host_dev_name = strdup("tap 0");
	expect_refused(*state, NULL, cfg, SV_EINVAL,
		       "setting up networking of VM \"bad\": network_interfaces[0].host_dev_name \"tap 0\": only letters, "
		       "digits, '_', '.' and '-' are allowed");
	svn_cfg_free(cfg);
}

static void test_host_dev_name_too_long_creates_nothing(void **state)
{
	svn_enter_fresh_netns();
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	((sv_net_iface_config *)cfg->network_interfaces)[0].host_dev_name = strdup("tap-name-16bytes");
	expect_refused(*state, NULL, cfg, SV_EINVAL,
		       "setting up networking of VM \"bad\": network_interfaces[0].host_dev_name \"tap-name-16bytes\": at "
		       "most 15 bytes");
	svn_cfg_free(cfg);
}

static void test_duplicate_host_dev_name_in_one_vm_creates_nothing(void **state)
{
	svn_enter_fresh_netns();
	sv_vm_config *cfg = svn_cfg_new(2, NULL);
	((sv_net_iface_config *)cfg->network_interfaces)[0].host_dev_name = strdup("tapdup");
	((sv_net_iface_config *)cfg->network_interfaces)[1].host_dev_name = strdup("tapdup");
	expect_refused(*state, NULL, cfg, SV_EINVAL,
		       "setting up networking of VM \"bad\": network_interfaces[1].host_dev_name \"tapdup\": also used by "
		       "network_interfaces[0]");
	svn_cfg_free(cfg);
}

static void test_host_dev_name_of_another_vm_is_refused(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	sv_vm_config *first = svn_cfg_new(1, NULL);
	((sv_net_iface_config *)first->network_interfaces)[0].host_dev_name = strdup("tapshared");
	svn_vm vm1 = svn_vm_open(e->runtime_dir, "first");
	sv_tap_device tap;
	svn_ok(sv_vm_net_setup(NULL, e->data_dir, "first", vm1.ledger, first, &tap));

	sv_vm_config *second = svn_cfg_new(1, NULL);
	((sv_net_iface_config *)second->network_interfaces)[0].host_dev_name = strdup("tapshared");
	svn_vm vm2 = svn_vm_open(e->runtime_dir, "second");
	assert_int_equal(sv_vm_net_setup(NULL, e->data_dir, "second", vm2.ledger, second, &tap), SV_EBUSY);
	assert_string_equal(sv_last_error(), "setting up networking of VM \"second\": network_interfaces[0].host_dev_name "
					     "\"tapshared\": already used by VM \"first\" (eth0)");
	assert_int_equal(ledger_size(&vm2), 0);
	svn_ok(svn_vm_cleanup(&vm2));
	/* The first VM's device is untouched by the refusal. */
	assert_true(svn_link_exists("tapshared"));
	svn_ok(svn_vm_cleanup(&vm1));
	svn_assert_all_gone(e->data_dir, "svbr0");
	assert_false(svn_link_exists("tapshared"));
	svn_cfg_free(first);
	svn_cfg_free(second);
}

static void test_full_subnet_is_a_clear_error(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	/* A /29 has 5 guest addresses (.2 to .6). */
	sv_manager_options opts = {.version = SV_MANAGER_OPTIONS_VERSION, .subnet = "192.168.50.0/29"};
	sv_vm_config *cfg = svn_cfg_new(5, NULL);
	svn_vm vm = svn_vm_open(e->runtime_dir, "filler");
	sv_tap_device taps[5];
	svn_ok(sv_vm_net_setup(&opts, e->data_dir, "filler", vm.ledger, cfg, taps));
	assert_string_equal(taps[4].guest_ip, "192.168.50.6");

	sv_vm_config *more = svn_cfg_new(1, NULL);
	svn_vm vm2 = svn_vm_open(e->runtime_dir, "onemore");
	assert_int_equal(sv_vm_net_setup(&opts, e->data_dir, "onemore", vm2.ledger, more, taps), SV_EBUSY);
	assert_string_equal(sv_last_error(), "setting up networking of VM \"onemore\": subnet 192.168.50.0/29: no free guest "
					     "address (all 5 in use on bridge svbr0)");
	assert_int_equal(ledger_size(&vm2), 0);
	assert_int_equal(svn_count_taps(), 5);
	svn_ok(svn_vm_cleanup(&vm2));
	svn_ok(svn_vm_cleanup(&vm));
	svn_assert_all_gone(e->data_dir, "svbr0");

	/* Too many interfaces for an empty subnet: nothing is created at all. */
	sv_manager_options tiny = {.version = SV_MANAGER_OPTIONS_VERSION, .subnet = "192.168.60.0/30"};
	sv_vm_config *two = svn_cfg_new(2, NULL);
	expect_refused(e, &tiny, two, SV_EBUSY,
		       "setting up networking of VM \"bad\": subnet 192.168.60.0/30: no free guest address (all 1 in use "
		       "on bridge svbr0)");
	svn_cfg_free(cfg);
	svn_cfg_free(more);
	svn_cfg_free(two);
}

static void test_other_subnet_on_a_bridge_in_use_is_refused(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	svn_vm vm = svn_vm_open(e->runtime_dir, "holder");
	sv_tap_device tap;
	svn_ok(sv_vm_net_setup(NULL, e->data_dir, "holder", vm.ledger, cfg, &tap));
	sv_manager_options opts = {.version = SV_MANAGER_OPTIONS_VERSION, .subnet = "10.1.0.0/24"};
	sv_vm_config *other = svn_cfg_new(1, NULL);
	svn_vm vm2 = svn_vm_open(e->runtime_dir, "other");
	assert_int_equal(sv_vm_net_setup(&opts, e->data_dir, "other", vm2.ledger, other, &tap), SV_EBUSY);
	assert_string_equal(sv_last_error(), "setting up networking of VM \"other\": subnet \"10.1.0.0/24\": bridge svbr0 is "
					     "in use by 1 lease(s) with subnet 172.30.0.0/24");
	svn_ok(svn_vm_cleanup(&vm2));
	svn_ok(svn_vm_cleanup(&vm));
	svn_assert_all_gone(e->data_dir, "svbr0");
	svn_cfg_free(cfg);
	svn_cfg_free(other);
}

/* A TAP of the VM's derived name that exists already (here: another VM's,
 * as when two ids hash alike) is refused, never adopted, and survives the
 * failed VM's cleanup. */
static void test_tap_name_in_use_is_refused_and_left_alone(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	char name[16], alias[SV_NET_ALIAS_MAX];
	assert_int_equal(sv_net_tap_name(name, "clash", "eth0"), 0);
	assert_int_equal(sv_net_tap_alias(alias, "other", "eth0"), 0);
	svn_ok(sv_tap_create(name, alias));
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	svn_vm vm = svn_vm_open(e->runtime_dir, "clash");
	sv_tap_device tap;
	assert_int_equal(sv_vm_net_setup(NULL, e->data_dir, "clash", vm.ledger, cfg, &tap), SV_EEXISTS);
	char want[512];
	snprintf(want, sizeof(want),
		 "setting up networking of VM \"clash\": creating TAP %s: a device of that name exists already "
		 "(another VM's, other software's, or left behind: `smartvm net gc` removes those of dead VMs)",
		 name);
	assert_string_equal(sv_last_error(), want);
	svn_ok(svn_vm_cleanup(&vm));
	sv_nl_link link;
	assert_int_equal(sv_nl_link_get(name, &link), 0);
	assert_string_equal(link.alias, alias);
	assert_int_equal(link.master, 0);
	svn_assert_all_gone_but_taps(e->data_dir, "svbr0");
	svn_cfg_free(cfg);
}

/* Another VM's TAP, on another bridge (where no lease of this bridge shows
 * it), given as host_dev_name: refused, not shared. */
static void test_host_dev_name_of_a_tap_of_another_bridge_is_refused(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	sv_manager_options one = {
	    .version = SV_MANAGER_OPTIONS_VERSION, .bridge_name = "br1", .subnet = "10.81.0.0/24"};
	sv_vm_config *first = svn_cfg_new(1, NULL);
	svn_vm vm1 = svn_vm_open(e->runtime_dir, "first");
	sv_tap_device tap;
	svn_ok(sv_vm_net_setup(&one, e->data_dir, "first", vm1.ledger, first, &tap));

	sv_manager_options two = {
	    .version = SV_MANAGER_OPTIONS_VERSION, .bridge_name = "br2", .subnet = "10.82.0.0/24"};
	sv_vm_config *second = svn_cfg_new(1, NULL);
	((sv_net_iface_config *)second->network_interfaces)[0].host_dev_name = strdup(tap.tap_name);
	char want[256];
	snprintf(want, sizeof(want),
		 "setting up networking of VM \"bad\": network_interfaces[0].host_dev_name \"%s\": already used by VM "
		 "\"first\" (eth0)",
		 tap.tap_name);
	svn_vm vm2 = svn_vm_open(e->runtime_dir, "bad");
	assert_int_equal(sv_vm_net_setup(&two, e->data_dir, "bad", vm2.ledger, second, &tap), SV_EBUSY);
	assert_string_equal(sv_last_error(), want);
	assert_int_equal(ledger_size(&vm2), 0);
	svn_ok(svn_vm_cleanup(&vm2));
	assert_false(svn_link_exists("br2"));
	svn_ok(svn_vm_cleanup(&vm1));
	svn_assert_all_gone(e->data_dir, "br1");
	svn_cfg_free(first);
	svn_cfg_free(second);
}

/* Two guests with one MAC on a bridge would take each other's frames. */
static void test_guest_mac_of_another_vm_is_refused(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	sv_vm_config *first = svn_cfg_new(1, NULL);
	((sv_net_iface_config *)first->network_interfaces)[0].guest_mac = strdup("02:aa:bb:cc:dd:ee");
	svn_vm vm1 = svn_vm_open(e->runtime_dir, "first");
	sv_tap_device tap;
	svn_ok(sv_vm_net_setup(NULL, e->data_dir, "first", vm1.ledger, first, &tap));

	sv_vm_config *second = svn_cfg_new(1, NULL);
	((sv_net_iface_config *)second->network_interfaces)[0].guest_mac = strdup("02:AA:BB:CC:DD:EE");
	svn_vm vm2 = svn_vm_open(e->runtime_dir, "second");
	assert_int_equal(sv_vm_net_setup(NULL, e->data_dir, "second", vm2.ledger, second, &tap), SV_EBUSY);
	assert_string_equal(sv_last_error(), "setting up networking of VM \"second\": guest MAC 02:AA:BB:CC:DD:EE of "
					     "interface eth0: already used by VM \"first\" (eth0) on bridge svbr0");
	assert_int_equal(ledger_size(&vm2), 0);
	svn_ok(svn_vm_cleanup(&vm2));
	assert_int_equal(svn_count_taps(), 1);
	svn_ok(svn_vm_cleanup(&vm1));
	svn_assert_all_gone(e->data_dir, "svbr0");
	svn_cfg_free(first);
	svn_cfg_free(second);
}

/* A lease directory others may write to is refused before anything is made. */
static void test_untrusted_lease_directory_is_refused(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	char *net_dir = sv_path_join(e->data_dir, "net");
	assert_int_equal(mkdir(net_dir, 0755), 0);
	assert_int_equal(chmod(net_dir, 0777), 0);
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	char want[1024];
	snprintf(want, sizeof(want),
		 "setting up networking of VM \"bad\": leases of bridge svbr0: lease directory %s: it is writable by "
		 "group or others (mode 0777); run `chmod go-w %s` or choose another directory",
		 net_dir, net_dir);
	expect_refused(e, NULL, cfg, SV_EUNSAFE, want);
	svn_cfg_free(cfg);
	free(net_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_subnet_31_creates_nothing, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_subnet_0_creates_nothing, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_subnet_loopback_creates_nothing, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_subnet_ipv6_creates_nothing, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_subnet_garbage_creates_nothing, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_bridge_name_too_long_creates_nothing, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_host_dev_name_with_space_creates_nothing, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_host_dev_name_too_long_creates_nothing, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_host_dev_name_in_one_vm_creates_nothing,
						svn_dirs_setup, svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_host_dev_name_of_another_vm_is_refused, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_full_subnet_is_a_clear_error, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_other_subnet_on_a_bridge_in_use_is_refused,
						svn_dirs_setup, svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_tap_name_in_use_is_refused_and_left_alone, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_host_dev_name_of_a_tap_of_another_bridge_is_refused,
						svn_dirs_setup, svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_guest_mac_of_another_vm_is_refused, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_lease_directory_is_refused, svn_dirs_setup,
						svn_dirs_teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
