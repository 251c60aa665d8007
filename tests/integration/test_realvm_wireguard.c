/* WireGuard egress from a real guest: QEMU under TCG booting the minimal
 * image with net.wireguard_config, in the test's fresh namespace H. The peer
 * is wireguard-go in namespace O (behind vx0, see realvm_net.h), set up with
 * `wg` (an implementation of its own), 10.99.0.1 on its tunnel, listening on
 * TCP 8080 and UDP 5353 on every address and reporting what arrived from
 * where. 10.99.0.1 is reachable only through the tunnel; 198.51.100.2 also
 * through H's default route, which the guest's traffic must never take: with
 * the peer's tunnel down, or the VM's own, nothing of the guest's reaches O.
 * The guest is driven through the agent (virtio-serial). The veth stand-in
 * for the same checks is test_net_wireguard.c. */
#include "test_net_fixture.h"
#include "test_wg_peer.h"
#include "test_net_probe.h"
#include "realvm_fixture.h"
#include "leftovers.h"
#include "realvm_net.h"

#include "net/net_wg.h"


/* The VM's tunnel: the link marked with its alias. */
static void vm_tunnel(const char *vm_id, char name[16])
{
	char alias[64];
	snprintf(alias, sizeof(alias), "smartvm wg %s", vm_id);
	svw_link_with_alias(alias, name);
}

static svw_peer p;
static char vm_wg[16];
/* What a failed check leaves, for the teardown. */
static svr_env env;
static sv_vm *vm;
static int outside = -1;

/* The guest's TCP connection to ip:8080 and one datagram to ip:5353 (a DNS
 * query: busybox nc has no UDP). */
static char *guest_sends(sv_vm *vm, const char *ip)
{
	char script[256];
	snprintf(script, sizeof(script),
		 "nc -w 5 %s 8080 </dev/null; nslookup -type=a -timeout=1 -retry=1 probe %s:5353 >/dev/null",
		 ip, ip);
	return rvn_sh(vm, script, NULL);
}

static void test_guest_egress_leaves_only_through_its_tunnel(void **state)
{
	(void)state;
	svr_env_init(&env, true);
	outside = rvn_outside_new();
	char *keys = svt_tmpdir();

	char *conf_path = svw_peer_start(&p, NULL, outside, keys, "wgrpeer", RVN_OUTSIDE);
	chmod(conf_path, 0600);
	sv_vm_net_options no = SV_VM_NET_OPTIONS_INIT;
	no.wireguard_config = conf_path;
	vm = rvn_start(&env, "tunnelled", &no);
	vm_tunnel("tunnelled", vm_wg);
	assert_true(vm_wg[0]);
	rvn_wait_agent(vm);

	listener l = listen_in(outside, 8080, 5353, "peer");
	/* Only the peer reaches 10.99.0.1; the guest does, through the tunnel. */
	char *out = guest_sends(vm, PEER_IN);
	assert_string_equal(out, "peer");
	free(out);
	char *seen = reports(&l, "U " VM_IN "\n");
	assert_string_equal(seen, "T " VM_IN "\nU " VM_IN "\n");
	free(seen);
	/* The address H's default route reaches: through the tunnel too. */
	out = guest_sends(vm, RVN_OUTSIDE);
	assert_string_equal(out, "peer");
	free(out);
	seen = reports(&l, "U " VM_IN "\n");
	assert_string_equal(seen, "T " VM_IN "\nU " VM_IN "\n");
	free(seen);

	/* The peer's tunnel down: nothing of the guest's reaches O any way. */
	assert_int_equal(svn_run_in(outside, svn_link_down, p.name, 5000), 0);
	out = guest_sends(vm, RVN_OUTSIDE);
	assert_string_equal(out, "nc: timed out\n"); /* dropped, not refused */
	free(out);
	out = guest_sends(vm, PEER_IN);
	assert_string_equal(out, "nc: timed out\n"); /* dropped, not refused */
	free(out);
	seen = reports(&l, NULL);
	assert_string_equal(seen, "");
	free(seen);
	/* The VM's own tunnel down (its route goes with it): still nothing. */
	assert_int_equal(svn_link_down(vm_wg), 0);
	out = guest_sends(vm, RVN_OUTSIDE);
	/* Its routing table's unreachable route answers. */
	assert_string_equal(out, "nc: can't connect to remote host (" RVN_OUTSIDE "): No route to host\n");
	free(out);
	seen = reports(&l, NULL);
	assert_string_equal(seen, "");
	free(seen);
	listener_stop(&l);

	/* The VM ends: its tunnel, wireguard-go, socket and table go with it. */
	assert_int_equal(sv_vm_stop(vm, 30000), 0);
	sv_vm_free(vm);
	vm = NULL;
	assert_false(svn_link_exists(vm_wg));
	char sock[64];
	sv_wg_uapi_path(sock, vm_wg);
	assert_false(sv_path_exists(sock));
	vm_wg[0] = '\0';
	sv_manager_free(env.mgr);
	env.mgr = NULL;
	rvn_assert_nothing_left(&env);
	svr_env_done(&env);

	assert_int_equal(svn_run_in(outside, svw_peer_delete, p.name, 5000), 0);
	char peer_sock[64];
	sv_wg_uapi_path(peer_sock, p.name);
	for (long long end = sv_now_ms() + 5000; sv_path_exists(peer_sock) && sv_now_ms() < end;)
		usleep(20000);
	unlink(peer_sock);
	p.name[0] = '\0';
	close(outside);
	outside = -1;
	svt_rm_tmpdir(keys);
	free(conf_path);
}

static int teardown(void **state)
{
	(void)state;
	if (vm) {
		sv_vm_kill(vm);
		sv_vm_free(vm);
		vm = NULL;
	}
	if (env.mgr)
		svr_env_done(&env); /* stops what is left */
	svw_kill_wireguard_go(p.name);
	svw_kill_wireguard_go(vm_wg);
	if (outside >= 0)
		close(outside);
	outside = -1;
	return 0;
}

int main(void)
{
	if (!svn_have_wireguard())
		return svt_skip_program(SVT_NEED_PACKAGE, "wireguard-go or wg is not installed (make deps)");
	const svq_image *img = NULL;
	const char *why = NULL;
	if (!svq_image_get(&img, &why))
		return svt_skip_program(SVT_NEED_IMAGE, "%s", why);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_guest_egress_leaves_only_through_its_tunnel, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
