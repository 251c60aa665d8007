/* WireGuard egress through the library with the userspace backend
 * (wireguard-go; this kernel has no WireGuard module), a veth standing in
 * for the VM's TAP, entirely inside namespaces the test makes:
 *   G ("guest"): vg1 with the leased address and MAC; vh1 in H is its device.
 *   H ("host"):  the test's fresh namespace: bridge, tables, the VM's tunnel,
 *                vx0 198.51.100.1/24 with the default route towards O.
 *   O ("peer"):  vo0 198.51.100.2/24 and the tunnel's other end (wireguard-go
 *                set up with `wg`, an implementation of its own), 10.99.0.1,
 *                listening on TCP 8080 and UDP 5353 on every address.
 * 10.99.0.1 is reachable only through the tunnel; 198.51.100.2 also through
 * H's default route, which VM traffic must never take. The same is checked
 * from a real guest in test_realvm_wireguard.c. */
#include "test_net_fixture.h"
#include "test_wg_peer.h"
#include "test_net_probe.h"

#include "net/net_route.h"
#include "net/net_wg.h"
#include <sys/stat.h>

#define PEER_OUT "198.51.100.2"
#define HOST_OUT "198.51.100.1"
#define GATEWAY "172.30.0.1"

/* wireguard-go instances this test started, killed by teardown if a failed
 * check left them (they would keep the test's namespaces alive). */
static char started[2][16];

static int teardown(void **state)
{
	for (int i = 0; i < 2; i++) {
		svw_kill_wireguard_go(started[i]);
		started[i][0] = '\0';
	}
	return svn_dirs_teardown(state);
}

static void test_vm_egress_leaves_only_through_its_tunnel(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	int outside = svn_netns_new(), guest = svn_netns_new();
	svn_veth_add("vx0", "vo0", outside);
	svn_veth_add("vh1", "vg1", guest);
	ns_cfg host = {HOST_OUT, 24, "vx0", PEER_OUT, NULL, NULL},
	       out = {PEER_OUT, 24, "vo0", NULL, NULL, NULL};
	assert_int_equal(configure(&host), 0);
	assert_int_equal(svn_run_in(outside, configure, &out, 5000), 0);

	/* Keys: the VM's and the peer's; the peer up in O. */
	svw_peer p;
	char *conf_path = svw_peer_start(&p, started[0], outside, e->data_dir, "wgpeer", PEER_OUT);
	sv_vm_net_options no = SV_VM_NET_OPTIONS_INIT;
	no.wireguard_config = conf_path;
	/* Egress rules apply before the tunnel. */
	sv_egress_rule deny = {
	    .action = SV_EGRESS_DENY, .destination = PEER_IN "/32", .protocol = SV_PROTO_UDP};
	sv_manager_options opts = {
	    .version = SV_MANAGER_OPTIONS_VERSION, .egress_rules = &deny, .n_egress_rules = 1};
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	((sv_net_iface_config *)cfg->network_interfaces)[0].host_dev_name = strdup("vh1");
	cfg->net = &no;
	svn_vm vm = svn_vm_open(e->runtime_dir, "tunnelled");
	sv_tap_device tap;
	svn_ok(sv_vm_net_setup(&opts, e->data_dir, "tunnelled", vm.ledger, cfg, &tap));
	ns_cfg g = {tap.guest_ip, 24, "vg1", GATEWAY, tap.mac, NULL};
	assert_int_equal(svn_run_in(guest, configure, &g, 5000), 0);

	/* The tunnel's interface: svwgN, marked as the VM's, up. */
	char wg[16];
	uint32_t n = 0;
	svw_link_with_alias("smartvm wg tunnelled", wg);
	assert_true(sv_wg_name_number(wg, &n));
	snprintf(started[1], sizeof(started[1]), "%s", wg);
	char sock[64];
	sv_wg_uapi_path(sock, wg);
	assert_true(sv_path_exists(sock));

	listener l = listen_in(outside, 8080, 5353, "peer");
	probe inner = {.ip = PEER_IN, .port = 8080}, outer = {.ip = PEER_OUT, .port = 8080};
	assert_int_equal(probe_in(guest, &inner), CONNECTED);
	char *seen = reports(&l, "T " VM_IN "\n");
	assert_string_equal(seen, "T " VM_IN "\n");
	free(seen);
	/* Even an address the host's default route reaches goes through it. */
	assert_int_equal(probe_in(guest, &outer), CONNECTED);
	seen = reports(&l, "T " VM_IN "\n");
	assert_string_equal(seen, "T " VM_IN "\n");
	free(seen);
	probe denied = {.ip = PEER_IN, .port = 5353, .udp = true};
	assert_int_equal(probe_in(guest, &denied), CONNECTED); /* sent, and dropped by the egress rule */
	probe udp_out = {.ip = PEER_OUT, .port = 5353, .udp = true};
	assert_int_equal(probe_in(guest, &udp_out), CONNECTED);
	seen = reports(&l, "U " VM_IN "\n");
	assert_string_equal(seen, "U " VM_IN "\n");
	free(seen);

	/* The peer's interface down: nothing from the guest reaches O. */
	assert_int_equal(svn_run_in(outside, svn_link_down, p.name, 5000), 0);
	assert_int_equal(probe_in(guest, &outer), NO_ANSWER);
	assert_int_equal(probe_in(guest, &udp_out), CONNECTED);
	seen = reports(&l, NULL);
	assert_string_equal(seen, "");
	free(seen);
	/* Our own tunnel down: its route goes, the unreachable one answers. */
	assert_int_equal(svn_link_down(wg), 0);
	assert_int_equal(probe_in(guest, &outer), NO_ANSWER);
	assert_int_equal(probe_in(guest, &udp_out), CONNECTED);
	seen = reports(&l, NULL);
	assert_string_equal(seen, "");
	free(seen);
	listener_stop(&l);

	/* Cleanup takes the tunnel, its wireguard-go, its socket and routing. */
	svn_ok(svn_vm_cleanup(&vm));
	assert_false(svn_link_exists(wg));
	assert_false(sv_path_exists(sock));
	bool used = true;
	assert_int_equal(sv_nl_table_in_use(SV_WG_TABLE_BASE + n, &used), 0);
	assert_false(used);
	svn_assert_all_gone_but_taps(e->data_dir, "svbr0");

	assert_int_equal(svn_run_in(outside, svw_peer_delete, p.name, 5000), 0);
	char peer_sock[64];
	sv_wg_uapi_path(peer_sock, p.name);
	long long deadline = sv_now_ms() + 5000;
	while (sv_path_exists(peer_sock) && sv_now_ms() < deadline)
		usleep(20000);
	unlink(peer_sock);
	cfg->net = NULL;
	svn_cfg_free(cfg);
	free(conf_path);
	close(outside);
	close(guest);
}

/* No wireguard-go: the userspace backend says what is missing. */
static void test_missing_wireguard_go_is_named(void **state)
{
	svn_dirs *e = *state;
	svn_enter_fresh_netns();
	setenv("SMARTVM_WIREGUARD_GO", "/nonexistent/wireguard-go", 1);
	char *conf_path = svt_write(
	    e->data_dir, "wg0.conf",
	    "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
	    "Address = 10.99.0.2/24\n[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n");
	sv_vm_net_options no = SV_VM_NET_OPTIONS_INIT;
	no.wireguard_config = conf_path;
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	cfg->net = &no;
	svn_vm vm = svn_vm_open(e->runtime_dir, "nogo");
	sv_tap_device tap;
	assert_int_equal(sv_vm_net_setup(NULL, e->data_dir, "nogo", vm.ledger, cfg, &tap), SV_EUNSUPPORTED);
	svt_assert_contains(sv_last_error(),
			    "setting up networking of VM \"nogo\": bringing up WireGuard interface svwg");
	svt_assert_contains(sv_last_error(), ": starting /nonexistent/wireguard-go for svwg");
	svt_assert_contains(sv_last_error(), " (the wireguard-go package): ");
	unsetenv("SMARTVM_WIREGUARD_GO");
	svn_ok(svn_vm_cleanup(&vm));
	svn_assert_all_gone(e->data_dir, "svbr0");
	cfg->net = NULL;
	svn_cfg_free(cfg);
	free(conf_path);
}

int main(void)
{
	if (!svn_have_wireguard())
		return svt_skip_program(SVT_NEED_PACKAGE, "wireguard-go or wg is not installed (make deps)");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_vm_egress_leaves_only_through_its_tunnel, svn_dirs_setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_missing_wireguard_go_is_named, svn_dirs_setup,
					    svn_dirs_teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
