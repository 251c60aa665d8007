/* Crafted ledger entries of the networking kinds: a replay acts only on what
 * smartvm made, with its identity checked (a TAP that carries its VM's mark
 * or derived name, a lease file in a trusted lease directory, a bridge smartvm
 * created and marked), and refuses anything else with an error that names
 * the entry, leaving the object alone. Each test runs in a network namespace
 * of its own. */
#include "test_net_fixture.h"

#include "net/net_names.h"
#include <linux/if_tun.h>
#include <sys/ioctl.h>

/* A persistent tun/tap device made the way other software makes one (no
 * smartvm mark). */
static void add_tun(const char *name, short kind)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	struct ifreq ifr = { 0 };
	ifr.ifr_flags = (short)(kind | IFF_NO_PI);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
}

/* Writes the entries (kind, arg1, arg2 triples, NULL-terminated) into a fresh
 * VM directory's ledger and replays it; returns the replay's result. */
static int replay_entries(svn_dirs *e, const char *const *entries)
{
	svn_vm vm = svn_vm_open(e->runtime_dir, "crafted");
	for (size_t i = 0; entries[i]; i += 3)
		assert_int_equal(sv_ledger_record(vm.ledger, entries[i], entries[i + 1], entries[i + 2]), 0);
	return svn_vm_cleanup(&vm);
}

/* A tmpdir others may write to (mode 0777), as a planted directory would be. */
static char *open_dir(void)
{
	char *dir = svt_tmpdir();
	assert_int_equal(chmod(dir, 0777), 0);
	return dir;
}

static void test_tap_entry_leaves_a_tun_device_of_other_software_alone(void **state)
{
	svn_enter_fresh_netns();
	add_tun("tun0", IFF_TUN);
	add_tun("tap0", IFF_TAP);
	const char *entries[] = { "tap", "tun0", NULL, "tap", "tap0", "crafted/eth0", NULL };
	assert_int_equal(replay_entries(*state, entries), SV_EUNSAFE);
	svt_assert_contains(sv_last_error(), "tap tap0: tap0 is not a TAP smartvm created for VM \"crafted\" "
					     "interface \"eth0\"; left alone");
	assert_true(svn_link_exists("tun0"));
	assert_true(svn_link_exists("tap0"));

	const char *old_style[] = { "tap", "tun0", NULL, NULL };
	assert_int_equal(replay_entries(*state, old_style), SV_EUNSAFE);
	svt_assert_contains(sv_last_error(), "tap tun0: tun0 is not a TAP smartvm created; left alone");
	assert_true(svn_link_exists("tun0"));
}

static void test_tap_entry_leaves_a_device_that_is_no_tap_alone(void **state)
{
	svn_enter_fresh_netns();
	int other = svn_netns_new();
	svn_veth_add("svt0123456789ab", "peer0", other);
	const char *entries[] = { "tap", "svt0123456789ab", NULL, NULL };
	assert_int_equal(replay_entries(*state, entries), SV_EUNSAFE);
	svt_assert_contains(sv_last_error(), "tap svt0123456789ab: svt0123456789ab is a veth, not a TAP; left alone");
	assert_true(svn_link_exists("svt0123456789ab"));
	close(other);
}

/* Another VM's TAP under the name: ours is gone, theirs stays. */
static void test_tap_entry_leaves_another_vms_tap_alone(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	svn_vm owner = svn_vm_open(e->runtime_dir, "owner");
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	sv_tap_device tap;
	svn_ok(sv_vm_net_setup(NULL, e->data_dir, "owner", owner.ledger, cfg, &tap));
	const char *entries[] = { "tap", tap.tap_name, "crafted/eth0", NULL };
	svn_ok(replay_entries(e, entries));
	assert_true(svn_link_exists(tap.tap_name));
	svn_ok(svn_vm_cleanup(&owner));
	svn_assert_all_gone(e->data_dir, "svbr0");
	svn_cfg_free(cfg);
}

/* A TAP with the VM's derived name but no mark (setup died between creating
 * and marking it) is the VM's own. */
static void test_tap_entry_removes_its_unmarked_derived_tap(void **state)
{
	svn_enter_fresh_netns();
	char name[16];
	assert_int_equal(sv_net_tap_name(name, "crafted", "eth0"), 0);
	add_tun(name, IFF_TAP);
	const char *entries[] = { "tap", name, "crafted/eth0", NULL };
	svn_ok(replay_entries(*state, entries));
	assert_false(svn_link_exists(name));
}

static void test_lease_entry_in_an_untrusted_directory_is_refused(void **state)
{
	svn_enter_fresh_netns();
	char *dir = open_dir();
	const char *text = "subnet 172.30.0.0/24\n"
			   "lease 172.30.0.2 crafted eth0 svt0123456789ab 06:00:00:00:00:01 1 0 0\n";
	char *file = svt_write(dir, "svbr0.leases", text);
	const char *entries[] = { "lease", file, "172.30.0.2,crafted,eth0", NULL };
	assert_int_equal(replay_entries(*state, entries), SV_EUNSAFE);
	char want[512];
	snprintf(want, sizeof(want), "lease directory %s: it is writable by group or others (mode 0777)", dir);
	svt_assert_contains(sv_last_error(), want);
	char *now = NULL;
	assert_int_equal(sv_read_file(file, 4096, &now, NULL), 0);
	assert_string_equal(now, text);
	free(now);
	free(file);
	svt_rm_tmpdir(dir);
}

static void test_lease_entry_naming_another_file_is_refused(void **state)
{
	svn_enter_fresh_netns();
	const char *entries[] = { "lease", "/etc/passwd", "172.30.0.2,crafted,eth0", NULL };
	assert_int_equal(replay_entries(*state, entries), SV_EINVAL);
	svt_assert_contains(sv_last_error(), "lease entry: \"/etc/passwd\" is not a <bridge>.leases file");
	const char *odd[] = { "lease", "/tmp/x/no bridge.leases", "172.30.0.2,crafted,eth0", NULL };
	assert_int_equal(replay_entries(*state, odd), SV_EINVAL);
	svt_assert_contains(sv_last_error(), "lease entry: \"/tmp/x/no bridge.leases\" is not a <bridge>.leases file");
}

/* The state file says smartvm created the bridge, but the bridge there now
 * carries no mark of smartvm's: it is someone else's. */
static void test_bridge_entry_leaves_an_unmarked_bridge_alone(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	assert_int_equal(sv_nl_bridge_add("usrbr"), 0);
	char *net_dir = sv_path_join(e->data_dir, "net");
	assert_int_equal(sv_mkdir_p(net_dir, 0755), 0);
	free(svt_write(net_dir, "usrbr.bridge", "created 1\n"));
	const char *entries[] = { "bridge", "usrbr", net_dir, NULL };
	assert_int_equal(replay_entries(e, entries), SV_EUNSAFE);
	svt_assert_contains(sv_last_error(), "bridge usrbr: not the bridge smartvm created (it carries no "
					     "\"smartvm bridge\" alias); left alone");
	assert_true(svn_link_exists("usrbr"));
	free(net_dir);
}

static void test_bridge_and_nft_entries_in_an_untrusted_directory_are_refused(void **state)
{
	svn_enter_fresh_netns();
	assert_int_equal(sv_nl_bridge_add("usrbr"), 0);
	char *dir = open_dir();
	free(svt_write(dir, "usrbr.bridge", "created 1\n"));
	const char *entries[] = { "bridge", "usrbr", dir, NULL };
	assert_int_equal(replay_entries(*state, entries), SV_EUNSAFE);
	char want[512];
	snprintf(want, sizeof(want), "lease directory %s: it is writable by group or others (mode 0777)", dir);
	svt_assert_contains(sv_last_error(), want);
	assert_true(svn_link_exists("usrbr"));
	const char *nft[] = { "nft", "usrbr", dir, NULL };
	assert_int_equal(replay_entries(*state, nft), SV_EUNSAFE);
	svt_assert_contains(sv_last_error(), want);
	svt_rm_tmpdir(dir);
}

static void test_bridge_and_nft_entries_with_a_bad_name_are_refused(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	char *net_dir = sv_path_join(e->data_dir, "net");
	assert_int_equal(sv_mkdir_p(net_dir, 0755), 0);
	const char *entries[] = { "nft", "../../etc", net_dir, NULL };
	assert_int_equal(replay_entries(e, entries), SV_EINVAL);
	svt_assert_contains(sv_last_error(), "ledger entry for bridge \"../../etc\": only letters, digits, '_', '.' "
					     "and '-' are allowed");
	free(net_dir);
}

/* A device attached to a bridge smartvm does not run (no table of its) stays
 * attached. */
static void test_port_entry_leaves_a_foreign_bridge_alone(void **state)
{
	svn_enter_fresh_netns();
	int other = svn_netns_new();
	assert_int_equal(sv_nl_bridge_add("usrbr"), 0);
	svn_veth_add("uplink0", "peer0", other);
	sv_nl_link br, dev;
	assert_int_equal(sv_nl_link_get("usrbr", &br), 0);
	assert_int_equal(sv_nl_link_set_master("uplink0", br.index), 0);
	const char *entries[] = { "port", "uplink0", "usrbr", NULL };
	assert_int_equal(replay_entries(*state, entries), SV_EUNSAFE);
	svt_assert_contains(sv_last_error(), "port uplink0: usrbr is not a bridge smartvm uses (no nftables table "
					     "smartvm_usrbr); left alone");
	assert_int_equal(sv_nl_link_get("uplink0", &dev), 0);
	assert_int_equal(dev.master, br.index);
	close(other);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, svn_dirs_setup, svn_dirs_teardown)
	const struct CMUnitTest tests[] = {
		T(test_tap_entry_leaves_a_tun_device_of_other_software_alone),
		T(test_tap_entry_leaves_a_device_that_is_no_tap_alone),
		T(test_tap_entry_leaves_another_vms_tap_alone),
		T(test_tap_entry_removes_its_unmarked_derived_tap),
		T(test_lease_entry_in_an_untrusted_directory_is_refused),
		T(test_lease_entry_naming_another_file_is_refused),
		T(test_bridge_entry_leaves_an_unmarked_bridge_alone),
		T(test_bridge_and_nft_entries_in_an_untrusted_directory_are_refused),
		T(test_bridge_and_nft_entries_with_a_bad_name_are_refused),
		T(test_port_entry_leaves_a_foreign_bridge_alone),
	};
#undef T
	return svt_run_group(tests, NULL, NULL);
}
