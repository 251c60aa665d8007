/* Networking setup and cleanup through the VM seam, checked over netlink and
 * nft inside a network namespace each test creates. */
#include "test_net_fixture.h"

#include "imagesfixture.h"
#include "net/net_names.h"

static int net_setup(svn_dirs *e, svn_vm *vm, const char *id, sv_vm_config *cfg, sv_tap_device *taps,
		     const sv_manager_options *opts)
{
	*vm = svn_vm_open(e->runtime_dir, id);
	return sv_vm_net_setup(opts, e->data_dir, id, vm->ledger, cfg, taps);
}

static void test_three_vms_get_taps_addresses_and_macs_on_the_bridge(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	const char *ids[3] = { "web", "a-very-long-vm-identifier-that-shares-a-prefix-0001",
			       "a-very-long-vm-identifier-that-shares-a-prefix-0002" };
	svn_vm vms[3];
	sv_vm_config *cfgs[3];
	sv_tap_device taps[3];
	for (int i = 0; i < 3; i++) {
		cfgs[i] = svn_cfg_new(1, "console=ttyS0");
		svn_ok(net_setup(e, &vms[i], ids[i], cfgs[i], &taps[i], NULL));
	}

	sv_nl_link br;
	assert_int_equal(sv_nl_link_get("svbr0", &br), 0);
	assert_string_equal(br.kind, "bridge");
	assert_string_equal(br.alias, "smartvm bridge"); /* what lets cleanup delete it */
	assert_true(br.flags & IFF_UP);
	bool has_gw = false;
	assert_int_equal(sv_nl_addr_has(br.index, svn_ip("172.30.0.1"), &has_gw), 0);
	assert_true(has_gw);
	assert_true(svn_table_exists("svbr0"));

	const char *want_ip[3] = { "172.30.0.2", "172.30.0.3", "172.30.0.4" };
	for (int i = 0; i < 3; i++) {
		sv_tap_device *t = &taps[i];
		assert_string_equal(t->iface_id, "eth0");
		assert_string_equal(t->guest_ip, want_ip[i]);
		assert_string_equal(t->gateway_ip, "172.30.0.1");
		assert_string_equal(t->subnet_mask, "255.255.255.0");
		assert_true(strlen(t->tap_name) <= 15);
		char name[16], mac[18];
		assert_int_equal(sv_net_tap_name(name, ids[i], "eth0"), 0);
		assert_string_equal(t->tap_name, name);
		assert_int_equal(sv_net_guest_mac(mac, ids[i], "eth0"), 0);
		assert_string_equal(t->mac, mac);
		/* Locally administered, unicast. */
		unsigned first = (unsigned)strtoul(t->mac, NULL, 16);
		assert_int_equal(first & 3, 2);

		sv_nl_link tap;
		assert_int_equal(sv_nl_link_get(t->tap_name, &tap), 0);
		assert_string_equal(tap.kind, "tun");
		char alias[128];
		snprintf(alias, sizeof(alias), "smartvm tap %s/eth0", ids[i]);
		assert_string_equal(tap.alias, alias);
		assert_int_equal(tap.master, br.index);
		assert_true(tap.flags & IFF_UP);

		/* The VM's config now names the TAP and MAC, and the guest's address. */
		assert_string_equal(cfgs[i]->network_interfaces[0].host_dev_name, t->tap_name);
		assert_string_equal(cfgs[i]->network_interfaces[0].guest_mac, t->mac);
		char want_args[128];
		snprintf(want_args, sizeof(want_args), "console=ttyS0 ip=%s::172.30.0.1:255.255.255.0::eth0:off",
			 want_ip[i]);
		assert_string_equal(cfgs[i]->boot_source.boot_args, want_args);
	}
	assert_string_not_equal(taps[1].tap_name, taps[2].tap_name);
	assert_string_not_equal(taps[1].mac, taps[2].mac);

	/* Cleanup of the first two keeps the shared bridge and table. */
	for (int i = 0; i < 2; i++)
		svn_ok(svn_vm_cleanup(&vms[i]));
	assert_false(svn_link_exists(taps[0].tap_name));
	assert_true(svn_link_exists("svbr0"));
	assert_true(svn_table_exists("svbr0"));
	assert_true(svn_link_exists(taps[2].tap_name));

	svn_ok(svn_vm_cleanup(&vms[2]));
	svn_assert_all_gone(e->data_dir, "svbr0");
	for (int i = 0; i < 3; i++)
		svn_cfg_free(cfgs[i]);
}

static void test_cleanup_is_idempotent(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	sv_vm_config *cfg = svn_cfg_new(2, NULL);
	sv_tap_device taps[2];
	svn_vm vm;
	svn_ok(net_setup(e, &vm, "idem", cfg, taps, NULL));
	/* Keep a copy of the ledger, replay it, then replay the copy again. */
	char *ledger_path = sv_path_join(vm.dir, "ledger"), *text = NULL;
	size_t len = 0;
	assert_int_equal(sv_read_file(ledger_path, 1 << 20, &text, &len), 0);
	char *dir = strdup(vm.dir);
	svn_ok(svn_vm_cleanup(&vm));
	svn_assert_all_gone(e->data_dir, "svbr0");
	assert_int_equal(sv_mkdir_p(dir, 0755), 0);
	assert_int_equal(sv_write_file_atomic(ledger_path, text, len, 0644), 0);
	svn_ok(sv_ledger_replay(dir));
	svn_assert_all_gone(e->data_dir, "svbr0");
	/* One interface only gets ip=. */
	assert_string_equal(cfg->boot_source.boot_args, "ip=172.30.0.2::172.30.0.1:255.255.255.0::eth0:off");
	free(dir);
	free(text);
	free(ledger_path);
	svn_cfg_free(cfg);
}

/* The gateway's MAC stays what it was while VMs come and go: a running
 * guest's ARP entry for its gateway must stay right (a bridge's own MAC
 * follows the lowest of its ports'). */
static void test_gateway_mac_stays_while_vms_come_and_go(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	sv_vm_config *cfgs[3];
	svn_vm vms[3];
	sv_tap_device taps[3];
	const char *ids[3] = {"first", "second", "third"};
	sv_nl_link br;
	unsigned char mac[6];
	for (int i = 0; i < 3; i++) {
		cfgs[i] = svn_cfg_new(1, NULL);
		svn_ok(net_setup(e, &vms[i], ids[i], cfgs[i], &taps[i], NULL));
		assert_int_equal(sv_nl_link_get("svbr0", &br), 0);
		if (i == 0)
			memcpy(mac, br.mac, 6);
		assert_memory_equal(br.mac, mac, 6);
	}
	for (int i = 0; i < 2; i++) {
		svn_ok(svn_vm_cleanup(&vms[i]));
		assert_int_equal(sv_nl_link_get("svbr0", &br), 0);
		assert_memory_equal(br.mac, mac, 6);
	}
	svn_ok(svn_vm_cleanup(&vms[2]));
	svn_assert_all_gone(e->data_dir, "svbr0");
	for (int i = 0; i < 3; i++)
		svn_cfg_free(cfgs[i]);
}

static char read_ip_forward(void)
{
	char *text = NULL;
	assert_int_equal(sv_read_file("/proc/sys/net/ipv4/ip_forward", 16, &text, NULL), 0);
	char c = text[0];
	free(text);
	return c;
}

static void write_ip_forward(const char *value)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "w");
	assert_non_null(f);
	fputs(value, f);
	fclose(f);
}

static void test_forwarding_is_switched_back_only_if_smartvm_switched_it(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	for (int before = 0; before < 2; before++) {
		write_ip_forward(before ? "1\n" : "0\n");
		sv_vm_config *cfg = svn_cfg_new(1, NULL);
		sv_tap_device taps[1];
		svn_vm vm;
		svn_ok(net_setup(e, &vm, before ? "fwd-on" : "fwd-off", cfg, taps, NULL));
		assert_int_equal(read_ip_forward(), '1');
		svn_ok(svn_vm_cleanup(&vm));
		svn_assert_all_gone(e->data_dir, "svbr0");
		assert_int_equal(read_ip_forward(), before ? '1' : '0');
		svn_cfg_free(cfg);
	}
}

/* The last VM of one bridge leaves forwarding on while another bridge's
 * table is still there (the delete and the count are one nftables transaction). */
static void test_forwarding_stays_on_while_another_bridge_has_vms(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	write_ip_forward("0\n");
	sv_manager_options other = { .version = SV_MANAGER_OPTIONS_VERSION, .bridge_name = "svbr7", .subnet = "10.77.0.0/24" };
	sv_vm_config *c1 = svn_cfg_new(1, NULL), *c2 = svn_cfg_new(1, NULL);
	sv_tap_device t1[1], t2[1];
	svn_vm v1, v2;
	svn_ok(net_setup(e, &v1, "fwd-a", c1, t1, NULL));
	svn_ok(net_setup(e, &v2, "fwd-b", c2, t2, &other));
	svn_ok(svn_vm_cleanup(&v1));
	/* The shared pieces outlive the VM until `net down`. */
	assert_true(svn_link_exists("svbr0"));
	assert_true(svn_table_exists("svbr0"));
	svn_net_down(e->data_dir, "svbr0");
	assert_false(svn_link_exists("svbr0"));
	assert_false(svn_table_exists("svbr0"));
	assert_true(svn_table_exists("svbr7"));
	assert_int_equal(read_ip_forward(), '1');
	svn_ok(svn_vm_cleanup(&v2));
	svn_assert_all_gone(e->data_dir, "svbr7");
	assert_int_equal(read_ip_forward(), '0');
	svn_cfg_free(c1);
	svn_cfg_free(c2);
}

static void test_existing_bridge_is_reused_untouched(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	assert_int_equal(sv_nl_bridge_add("usrbr"), 0);
	sv_manager_options opts = {
	    .version = SV_MANAGER_OPTIONS_VERSION, .bridge_name = "usrbr", .subnet = "10.9.0.0/16"};
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	sv_tap_device tap;
	svn_vm vm;
	svn_ok(net_setup(e, &vm, "reuse", cfg, &tap, &opts));
	assert_string_equal(tap.guest_ip, "10.9.0.2");
	assert_string_equal(tap.subnet_mask, "255.255.0.0");
	sv_nl_link br, t;
	assert_int_equal(sv_nl_link_get("usrbr", &br), 0);
	bool has_gw = true;
	assert_int_equal(sv_nl_addr_has(br.index, svn_ip("10.9.0.1"), &has_gw), 0);
	assert_false(has_gw);
	assert_false(br.flags & IFF_UP);
	assert_int_equal(sv_nl_link_get(tap.tap_name, &t), 0);
	assert_int_equal(t.master, br.index);

	svn_ok(svn_vm_cleanup(&vm));
	assert_true(svn_table_exists("usrbr"));
	/* Taking it down, by down and by gc, removes smartvm's table only. */
	char *net_dir = sv_path_join(e->data_dir, "net");
	for (int round = 0; round < 2; round++) {
		if (round == 1) {
			svn_ok(net_setup(e, &vm, "reuse", cfg, &tap, &opts));
			svn_ok(svn_vm_cleanup(&vm));
			sv_net_admin_options o = SV_NET_ADMIN_OPTIONS_INIT;
			o.data_dir = e->data_dir;
			o.runtime_dir = e->runtime_dir;
			svn_ok(sv_net_gc(&o, NULL));
		} else {
			svn_net_down(e->data_dir, "usrbr");
		}
		sv_nl_link after;
		assert_int_equal(sv_nl_link_get("usrbr", &after), 0);
		assert_int_equal(after.index, br.index);
		assert_string_equal(after.alias, "");
		assert_false(svn_table_exists("usrbr"));
		assert_int_equal(svn_count_taps(), 0);
		assert_int_equal(svt_dir_entries(net_dir), 0);
	}
	free(net_dir);
	svn_cfg_free(cfg);
}

static void test_boot_args_with_ip_are_kept(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	sv_vm_config *cfg = svn_cfg_new(1, "ip=10.0.0.5::10.0.0.1:255.255.255.0::eth0:off quiet");
	sv_tap_device tap;
	svn_vm vm;
	svn_ok(net_setup(e, &vm, "userip", cfg, &tap, NULL));
	assert_string_equal(cfg->boot_source.boot_args, "ip=10.0.0.5::10.0.0.1:255.255.255.0::eth0:off quiet");
	svn_ok(svn_vm_cleanup(&vm));
	svn_assert_all_gone(e->data_dir, "svbr0");
	svn_cfg_free(cfg);
}

static void test_given_host_dev_name_is_created_when_absent_and_removed(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	((sv_net_iface_config *)cfg->network_interfaces)[0].host_dev_name = strdup("mytap0");
	((sv_net_iface_config *)cfg->network_interfaces)[0].guest_mac = strdup("02:aa:bb:cc:dd:ee");
	sv_tap_device tap;
	svn_vm vm;
	svn_ok(net_setup(e, &vm, "given", cfg, &tap, NULL));
	assert_string_equal(tap.tap_name, "mytap0");
	assert_string_equal(tap.mac, "02:aa:bb:cc:dd:ee");
	sv_nl_link t;
	assert_int_equal(sv_nl_link_get("mytap0", &t), 0);
	assert_string_equal(t.kind, "tun");
	svn_ok(svn_vm_cleanup(&vm));
	assert_false(svn_link_exists("mytap0"));
	svn_assert_all_gone(e->data_dir, "svbr0");
	svn_cfg_free(cfg);
}

static void test_existing_host_dev_is_attached_and_kept(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	int other = svn_netns_new();
	svn_veth_add("vhost0", "vguest0", other);
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	((sv_net_iface_config *)cfg->network_interfaces)[0].host_dev_name = strdup("vhost0");
	sv_tap_device tap;
	svn_vm vm;
	svn_ok(net_setup(e, &vm, "adopt", cfg, &tap, NULL));
	sv_nl_link br, v;
	assert_int_equal(sv_nl_link_get("svbr0", &br), 0);
	assert_int_equal(sv_nl_link_get("vhost0", &v), 0);
	assert_int_equal(v.master, br.index);
	svn_ok(svn_vm_cleanup(&vm));
	assert_int_equal(sv_nl_link_get("vhost0", &v), 0);
	assert_int_equal(v.master, 0);
	svn_assert_all_gone(e->data_dir, "svbr0");
	assert_int_equal(sv_nl_link_del("vhost0"), 0);
	close(other);
	svn_cfg_free(cfg);
}

static double ms_since(long long start)
{
	return (double)(sv_now_ms() - start);
}

/* Bridges whose names differ only in '-', '_' and '.' get one table each:
 * each VM's policy stays its own, and cleanup of one leaves the others'.
 * (All three once shared table smartvm_sv_a.) */
static void test_similar_bridge_names_get_separate_tables(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	const char *bridges[3] = { "sv-a", "sv_a", "sv.a" };
	const char *subnets[3] = { "10.71.1.0/24", "10.71.2.0/24", "10.71.3.0/24" };
	sv_egress_rule deny_ssh = { .action = SV_EGRESS_DENY, .destination = "192.0.2.0/24",
				    .protocol = SV_PROTO_TCP, .port_from = 22 };
	const sv_egress_action defaults[3] = { SV_EGRESS_DENY, SV_EGRESS_ALLOW, SV_EGRESS_DENY };
	svn_vm vms[3];
	sv_vm_config *cfgs[3];
	sv_tap_device taps[3];
	char *want[3];
	for (int i = 0; i < 3; i++) {
		sv_manager_options opts = {.version = SV_MANAGER_OPTIONS_VERSION,
					   .bridge_name = bridges[i],
					   .subnet = subnets[i],
					   .egress_rules = &deny_ssh,
					   .n_egress_rules = i == 1 ? 1 : 0,
					   .egress_default = defaults[i]};
		char id[8];
		snprintf(id, sizeof(id), "vm%d", i);
		cfgs[i] = svn_cfg_new(1, NULL);
		svn_ok(net_setup(e, &vms[i], id, cfgs[i], &taps[i], &opts));
		want[i] = svn_forward_rules(bridges[i]);
	}
	assert_string_equal(want[0], "iifname \"sv-a\" ip saddr 10.71.1.0/24 drop\n");
	assert_string_equal(want[1], "iifname \"sv_a\" ip saddr 10.71.2.0/24 ip daddr 192.0.2.0/24 tcp dport 22 drop\n"
				     "iifname \"sv_a\" ip saddr 10.71.2.0/24 accept\n");
	assert_string_equal(want[2], "iifname \"sv.a\" ip saddr 10.71.3.0/24 drop\n");

	/* Taking the middle one down takes its table only. */
	svn_ok(svn_vm_cleanup(&vms[1]));
	assert_true(svn_table_exists("sv_a"));
	svn_net_down(e->data_dir, "sv_a");
	assert_false(svn_table_exists("sv_a"));
	for (int i = 0; i < 3; i += 2) {
		char *now = svn_forward_rules(bridges[i]);
		assert_string_equal(now, want[i]);
		free(now);
	}
	svn_ok(svn_vm_cleanup(&vms[0]));
	char *last = svn_forward_rules("sv.a");
	assert_string_equal(last, want[2]);
	free(last);
	svn_ok(svn_vm_cleanup(&vms[2]));
	for (int i = 0; i < 3; i++)
		svn_net_down(e->data_dir, bridges[i]);
	for (int i = 0; i < 3; i++) {
		svn_assert_nothing_made(e->data_dir, bridges[i]);
		svn_cfg_free(cfgs[i]);
		free(want[i]);
	}
}

/* One process starting VMs one after another on the same bridge: each
 * start whose policy differs from the table's applies its own, however
 * recently this process found the table current (it remembers the last
 * table it saw, to skip rebuilding it), and one whose record `net down`
 * removed makes the table again. */
static void test_each_start_with_another_policy_applies_it(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	sv_egress_rule deny[2] = {{.action = SV_EGRESS_DENY,
				   .destination = "192.0.2.0/24",
				   .protocol = SV_PROTO_TCP,
				   .port_from = 22},
				  {.action = SV_EGRESS_DENY,
				   .destination = "192.0.2.0/24",
				   .protocol = SV_PROTO_TCP,
				   .port_from = 23}};
	/* Policies: allow but ssh, deny all, allow all, allow but telnet. */
	const char *const want[4] = {
	    "iifname \"svbr0\" ip saddr 172.30.0.0/24 ip daddr 192.0.2.0/24 tcp dport 22 drop\n"
	    "iifname \"svbr0\" ip saddr 172.30.0.0/24 accept\n",
	    "iifname \"svbr0\" ip saddr 172.30.0.0/24 drop\n",
	    "iifname \"svbr0\" ip saddr 172.30.0.0/24 accept\n",
	    "iifname \"svbr0\" ip saddr 172.30.0.0/24 ip daddr 192.0.2.0/24 tcp dport 23 drop\n"
	    "iifname \"svbr0\" ip saddr 172.30.0.0/24 accept\n"};
	/* Each change alone: a rule's port, rules and default, default, rules; one
	 * unchanged; after `net down` (at -1) the table made again. */
	const int order[] = {0, 3, 1, 2, 3, 3, -1, 1, 0};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		int k = order[i];
		if (k < 0) {
			svn_net_down(e->data_dir, "svbr0");
			assert_false(svn_table_exists("svbr0"));
			continue;
		}
		sv_manager_options opts = {.version = SV_MANAGER_OPTIONS_VERSION,
					   .egress_rules = &deny[k == 3],
					   .n_egress_rules = k == 0 || k == 3 ? 1 : 0,
					   .egress_default = k == 1 ? SV_EGRESS_DENY : SV_EGRESS_ALLOW};
		char id[8];
		snprintf(id, sizeof(id), "vm%zu", i);
		sv_vm_config *cfg = svn_cfg_new(1, NULL);
		sv_tap_device tap;
		svn_vm vm;
		svn_ok(net_setup(e, &vm, id, cfg, &tap, &opts));
		char *now = svn_forward_rules("svbr0");
		assert_string_equal(now, want[k]);
		free(now);
		svn_ok(svn_vm_cleanup(&vm));
		svn_cfg_free(cfg);
	}
	svn_net_down(e->data_dir, "svbr0");
	svn_assert_nothing_made(e->data_dir, "svbr0");
}

static void test_fifty_vms_set_up_and_torn_down(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	enum { N = 50 };
	svn_vm vms[N];
	sv_vm_config *cfgs[N];
	sv_tap_device taps[N];
	long long t0 = sv_now_ms();
	for (int i = 0; i < N; i++) {
		char id[16];
		snprintf(id, sizeof(id), "vm%02d", i);
		cfgs[i] = svn_cfg_new(1, NULL);
		svn_ok(net_setup(e, &vms[i], id, cfgs[i], &taps[i], NULL));
	}
	double setup_ms = ms_since(t0);
	assert_int_equal(svn_count_taps(), N);
	long long t1 = sv_now_ms();
	for (int i = 0; i < N; i++)
		svn_ok(svn_vm_cleanup(&vms[i]));
	double teardown_ms = ms_since(t1);
	svn_assert_all_gone(e->data_dir, "svbr0");
	print_message("networking for %d VMs: set up in %.0f ms (%.1f ms/VM), torn down in %.0f ms (%.1f ms/VM)\n", N,
		      setup_ms, setup_ms / N, teardown_ms, teardown_ms / N);
	for (int i = 0; i < N; i++)
		svn_cfg_free(cfgs[i]);
}

/* nftables runs in-process (libnftables): a batch the kernel refuses comes
 * back as the error, with nftables' own message, and nothing is printed
 * (the library writes to no stream; its messages are buffered). A refused
 * batch changes nothing: it is one transaction. */
static void test_a_refused_nft_batch_is_the_error_and_prints_nothing(void **state)
{
	(void)state;
	svn_enter_fresh_netns();
	const char *doc = "{\"nftables\":[{\"add\":{\"table\":{\"family\":\"ip\",\"name\":\"smartvm_t\"}}},"
			  "{\"add\":{\"element\":{\"family\":\"ip\",\"table\":\"smartvm_nosuch\","
			  "\"name\":\"vm_open\",\"elem\":[\"10.0.0.2\"]}}}]}";
	fflush(stdout);
	int saved_stdout = dup(STDOUT_FILENO);
	assert_true(saved_stdout >= 0);
	assert_int_equal(dup2(STDERR_FILENO, STDOUT_FILENO), STDOUT_FILENO);
	svt_stderr_begin(); /* stdout now goes to stderr, so both are captured */
	int rc = sv_nft_run(doc, "adding a VM's elements");
	fflush(stdout);
	char *printed = svt_stderr_end();
	assert_int_equal(dup2(saved_stdout, STDOUT_FILENO), STDOUT_FILENO);
	close(saved_stdout);
	assert_string_equal(printed, "");
	free(printed);
	assert_int_equal(rc, SV_ENETWORK);
	svt_assert_contains(sv_last_error(), "adding a VM's elements: nftables refused the batch: ");
	svt_assert_contains(sv_last_error(), "No such file or directory");
	/* The table of the same batch was not added. */
	assert_false(svn_table_exists("t"));
	/* A document that is not nft's JSON is refused the same way. */
	assert_int_equal(sv_nft_run("{\"nftables\":[{\"add\":{\"bogus\":{}}}]}", "x"), SV_ENETWORK);
	svt_assert_contains(sv_last_error(), "x: nftables refused the batch: ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_three_vms_get_taps_addresses_and_macs_on_the_bridge,
						svn_dirs_setup, svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_cleanup_is_idempotent, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_gateway_mac_stays_while_vms_come_and_go, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_forwarding_is_switched_back_only_if_smartvm_switched_it,
						svn_dirs_setup, svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_forwarding_stays_on_while_another_bridge_has_vms,
						svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_existing_bridge_is_reused_untouched, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_boot_args_with_ip_are_kept, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_given_host_dev_name_is_created_when_absent_and_removed,
						svn_dirs_setup, svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_existing_host_dev_is_attached_and_kept, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_similar_bridge_names_get_separate_tables, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_each_start_with_another_policy_applies_it, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test_setup_teardown(test_fifty_vms_set_up_and_torn_down, svn_dirs_setup,
						svn_dirs_teardown),
		cmocka_unit_test(test_a_refused_nft_batch_is_the_error_and_prints_nothing),
	};
	return svt_run_group(tests, NULL, NULL);
}
