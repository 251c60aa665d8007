/* The firewall and published ports from inside real guests: QEMU under TCG
 * booting the minimal image on smartvm's own bridge, TAPs, leases and
 * nftables, in the test process's fresh network namespace (H); O, behind
 * vx0, listens on TCP 8080 and UDP 5353 and reports what arrived (see
 * realvm_net.h). Three guests, booted together and shared by the cases:
 *   open   allow_vm_to_vm, publishes 8080:80 (serves there with busybox nc)
 *   dns    allow_vm_to_vm, allow_host_dns
 *   closed no options
 * The guests are driven through the agent (virtio-serial), so what they send
 * on eth0 is only what a case makes them send. Negative checks are followed
 * by a positive one on the same path where there is one (what was dropped
 * would have arrived first). The same properties, checked with veths standing
 * in for guests (faster, more corner cases), are in test_net_firewall.c. */
#include "test_net_fixture.h"
#include "test_net_probe.h"
#include "realvm_fixture.h"
#include "leftovers.h"
#include "realvm_net.h"

#include "net/net_nft.h"
#include <smartvm/agent.h>

#define GATEWAY "172.31.7.1"

enum { OPEN, DNS, CLOSED, N_VMS };
static const char *const ids[N_VMS] = {"open", "dns", "closed"};

static svr_env env;
static int outside = -1;
static sv_vm *vm[N_VMS];
static char ip[N_VMS][16], mac[N_VMS][18];
static rvn_bg web; /* the published service in "open" */
static const char *const publish[] = {"8080:80"};

/* The listeners of the case under way, stopped by its teardown even when a
 * check failed (one left would hold its ports for the next case). */
static listener live[2];

static listener *start_listener(int i, int ns, uint16_t tcp, uint16_t udp, const char *hello)
{
	live[i] = listen_in(ns, tcp, udp, hello);
	return &live[i];
}

static int stop_listeners(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++)
		if (live[i].pid > 0)
			listener_stop(&live[i]);
	memset(live, 0, sizeof(live));
	return 0;
}

/* The guest's eth0 address and MAC, as the guest itself sees them. */
static void read_identity(int i)
{
	char *out = rvn_sh(vm[i], "ip -4 -o addr show dev eth0; cat /sys/class/net/eth0/address", NULL);
	const char *inet = strstr(out, "inet ");
	assert_non_null(inet);
	assert_int_equal(sscanf(inet, "inet %15[0-9.]", ip[i]), 1);
	const char *nl = strrchr(out, '\n');
	assert_non_null(nl);
	const char *line = nl - 17;
	assert_true(line > out && line[-1] == '\n');
	snprintf(mac[i], sizeof(mac[i]), "%.17s", line);
	free(out);
}

static int group_setup(void **state)
{
	(void)state;
	svr_env_init(&env, true);
	outside = rvn_outside_new();
	static sv_vm_net_options opts[N_VMS];
	for (int i = 0; i < N_VMS; i++)
		opts[i] = (sv_vm_net_options)SV_VM_NET_OPTIONS_INIT;
	opts[OPEN].allow_vm_to_vm = true;
	opts[OPEN].publish = publish;
	opts[OPEN].n_publish = 1;
	opts[DNS].allow_vm_to_vm = true;
	opts[DNS].allow_host_dns = true;
	for (int i = 0; i < N_VMS; i++)
		vm[i] = rvn_start(&env, ids[i], &opts[i]);
	for (int i = 0; i < N_VMS; i++) {
		rvn_wait_agent(vm[i]);
		read_identity(i);
	}
	rvn_bg_start(&web, vm[OPEN],
		     (const char *const[]){"nc", "-ll", "-p", "80", "-e", "echo", "guest web", NULL});
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	rvn_bg_end(&web);
	for (int i = 0; i < N_VMS; i++) {
		if (vm[i] && sv_vm_stop(vm[i], 30000) != 0)
			fprintf(stderr, "stopping %s: %s\n", ids[i], sv_last_error());
		sv_vm_free(vm[i]);
		vm[i] = NULL;
	}
	sv_manager_free(env.mgr);
	env.mgr = NULL;
	rvn_assert_nothing_left(&env);
	svr_env_done(&env);
	if (outside >= 0)
		close(outside);
	return 0;
}

/* Sends one datagram (a DNS query: busybox nc has no UDP) from guest i to
 * O:5353, with the shell's commands before it (they change eth0) and undo
 * after it. */
static void send_datagram(int i, const char *before, const char *undo)
{
	char script[1024];
	snprintf(script, sizeof(script),
		 "%s || exit 9; nslookup -type=a -timeout=1 -retry=1 probe " RVN_OUTSIDE
		 ":5353 >/dev/null; %s",
		 before, undo);
	int status = -1;
	char *out = rvn_sh(vm[i], script, &status);
	if (status != 0)
		fail_msg("%s: %s: exit %d: %s", ids[i], script, status, out);
	free(out);
}

/* Nothing arrived at l within WAIT_MS. */
static void expect_nothing(listener *l, const char *what)
{
	char *seen = reports(l, NULL);
	if (*seen)
		fail_msg("%s: the outside saw \"%s\"", what, seen);
	free(seen);
}

/* Exactly one datagram from the host's outside address (masqueraded) has
 * arrived at l; with the guest's view of its network when not. */
static void expect_one_datagram(listener *l)
{
	char *seen = reports(l, "U " RVN_HOST_OUT "\n");
	if (strcmp(seen, "U " RVN_HOST_OUT "\n") != 0) {
		char *view = rvn_sh(vm[CLOSED], "ip addr; ip route; ip neigh", NULL);
		fail_msg("the outside saw \"%s\"; the guest has:\n%s", seen, view);
	}
	free(seen);
	seen = reports(l, NULL);
	assert_string_equal(seen, "");
	free(seen);
}

/* A guest may send only with its own address and MAC, not another VM's or
 * one nobody has. */
static void test_guest_cannot_send_with_another_address_or_mac(void **state)
{
	(void)state;
	listener *l = start_listener(0, outside, 8080, 5353, "outside");
	/* Its own address and MAC first: this arrives (masqueraded). */
	send_datagram(CLOSED, "true", "true");
	expect_one_datagram(l);
	char before[256], undo[256];
	/* Another VM's address (and one nobody leased) as the source. */
	const char *spoofed[] = {ip[OPEN], "172.31.7.200"};
	for (int k = 0; k < 2; k++) {
		snprintf(before, sizeof(before),
			 "ip addr add %s/32 dev eth0 && ip route add " RVN_OUTSIDE "/32 via " GATEWAY
			 " dev eth0 src %s",
			 spoofed[k], spoofed[k]);
		snprintf(undo, sizeof(undo), "ip route del " RVN_OUTSIDE "/32 && ip addr del %s/32 dev eth0",
			 spoofed[k]);
		send_datagram(CLOSED, before, undo);
		expect_nothing(l, spoofed[k]);
	}
	/* Another VM's MAC. */
	snprintf(before, sizeof(before), "ip link set eth0 address %s", mac[OPEN]);
	snprintf(undo, sizeof(undo), "ip link set eth0 address %s", mac[CLOSED]);
	send_datagram(CLOSED, before, undo);
	expect_nothing(l, mac[OPEN]);
	/* Its own again: this one arrives, and only this one. */
	send_datagram(CLOSED, "true", "true");
	expect_one_datagram(l);
}

/* Only DNS on the gateway, and only for the guest that allows it: every
 * other service of the host is closed, on every host address. */
static void test_guest_reaches_no_host_service_but_allowed_dns(void **state)
{
	(void)state;
	listener *svc = start_listener(0, -1, 8081, 8082, "host service");
	listener *resolver = start_listener(1, -1, 53, 53, "resolver");
	int status = -1;
	char *out = rvn_sh(vm[CLOSED],
			   "nc -w 5 " GATEWAY " 8081 </dev/null; nc -w 5 " GATEWAY
			   " 53 </dev/null; nc -w 5 " RVN_HOST_OUT " 8081 </dev/null",
			   &status);
	assert_string_equal(out, "nc: can't connect to remote host (" GATEWAY "): Connection refused\n"
				 "nc: can't connect to remote host (" GATEWAY "): Connection refused\n"
				 "nc: can't connect to remote host (" RVN_HOST_OUT "): Connection refused\n");
	free(out);
	out = rvn_sh(vm[DNS], "nc -w 5 " GATEWAY " 8081 </dev/null; nc -w 5 " GATEWAY " 53 </dev/null",
		     &status);
	assert_string_equal(out, "nc: can't connect to remote host (" GATEWAY "): Connection refused\n"
				 "resolver");
	free(out);
	char want[64];
	snprintf(want, sizeof(want), "T %s\n", ip[DNS]);
	char *seen = reports(resolver, want);
	assert_string_equal(seen, want); /* the allowed one only */
	free(seen);
	seen = reports(svc, NULL);
	assert_string_equal(seen, "");
	free(seen);
}

/* "open" and "dns" both allow VM-to-VM traffic: they talk directly. */
static void test_vms_that_both_allow_it_talk_to_each_other(void **state)
{
	(void)state;
	rvn_bg server;
	rvn_bg_start(&server, vm[DNS], (const char *const[]){"nc", "-l", "-p", "8080", NULL});
	char script[128];
	snprintf(script, sizeof(script), "echo hello from open | nc -w 5 %s 8080", ip[DNS]);
	/* The server may not listen yet when the first try comes. */
	bool ended = false;
	for (int tries = 0; tries < 20 && !ended; tries++) {
		free(rvn_sh(vm[OPEN], script, NULL));
		ended = rvn_bg_poll(&server, 3000);
	}
	assert_true(ended);
	assert_string_equal(server.out.text, "hello from open\n");
	rvn_bg_end(&server);
}

/* "closed" allows nothing: it cannot reach "open" (which allows it), and
 * sees nothing of what "open" sends it, not even its ARP. */
static void test_a_vm_that_does_not_allow_it_sees_nothing_of_another(void **state)
{
	(void)state;
	rvn_bg server;
	rvn_bg_start(&server, vm[CLOSED], (const char *const[]){"nc", "-l", "-p", "8080", NULL});
	char script[256];
	snprintf(script, sizeof(script), "ping -c 2 -W 2 %s; echo x | nc -w 3 %s 8080; ip neigh show %s",
		 ip[CLOSED], ip[CLOSED], ip[CLOSED]);
	int status = -1;
	char *out = rvn_sh(vm[OPEN], script, &status);
	/* Not refused: nothing answered, not even ARP (no link-layer address). */
	svt_assert_contains(out, "2 packets transmitted, 0 packets received, 100% packet loss");
	assert_true(strstr(out, "nc: timed out\n") || strstr(out, "No route to host\n"));
	svt_assert_contains(out, ip[CLOSED]);
	assert_null(strstr(out, "lladdr"));
	free(out);
	/* The web service "open" publishes, from "closed": nothing. */
	snprintf(script, sizeof(script), "nc -w 3 %s 80 </dev/null; ip neigh show %s", ip[OPEN], ip[OPEN]);
	out = rvn_sh(vm[CLOSED], script, &status);
	assert_null(strstr(out, "guest web"));
	assert_true(strstr(out, "nc: timed out\n") || strstr(out, "No route to host\n"));
	assert_null(strstr(out, "lladdr"));
	free(out);
	/* "closed" never heard of "open": no neighbour entry, no connection. */
	snprintf(script, sizeof(script), "ip neigh show %s", ip[OPEN]);
	out = rvn_sh(vm[CLOSED], script, &status);
	assert_null(strstr(out, mac[OPEN]));
	free(out);
	assert_false(rvn_bg_poll(&server, 1000));
	assert_string_equal(server.out.text, "");
	rvn_bg_end(&server);
}

static int probe_published_from_outside(void *arg)
{
	(void)arg;
	char *a = rvn_tcp_talk(RVN_HOST_OUT, 8080, NULL);
	int ok = !strcmp(a, "guest web\n");
	if (!ok)
		fprintf(stderr, "from outside: \"%s\"\n", a);
	free(a);
	return ok ? 0 : 1;
}

/* -p 8080:80 reaches the guest's own server from the host (127.0.0.1, the
 * gateway) and from outside; another VM asking for the same host port is
 * refused before anything of it is made. */
static void test_published_port_reaches_the_guest_and_is_exclusive(void **state)
{
	(void)state;
	const char *from[] = {"127.0.0.1", GATEWAY, RVN_HOST_OUT};
	for (size_t i = 0; i < 3; i++) {
		char *a = NULL;
		/* The server may still be coming up on the first try. */
		for (int tries = 0; tries < 50; tries++) {
			free(a);
			a = rvn_tcp_talk(from[i], 8080, NULL);
			if (!strcmp(a, "guest web\n"))
				break;
			usleep(200000);
		}
		assert_string_equal(a, "guest web\n");
		free(a);
	}
	assert_int_equal(svn_run_in(outside, probe_published_from_outside, NULL, 30000), 0);

	static const char *const same[] = {"127.0.0.1:8080:81"};
	sv_vm_net_options taken = SV_VM_NET_OPTIONS_INIT;
	taken.publish = same;
	taken.n_publish = 1;
	svq_config c;
	svr_config(&c, &env);
	c.nets[0] = (sv_net_iface_config){.iface_id = "eth0"};
	c.cfg.network_interfaces = c.nets;
	c.cfg.n_network_interfaces = 1;
	c.cfg.net = &taken;
	c.cfg.id = "second";
	sv_vm *second = NULL;
	assert_int_equal(sv_manager_create_vm(&second, env.mgr, &c.cfg), 0);
	assert_int_equal(sv_vm_start(second), SV_EBUSY);
	svt_assert_contains(sv_last_error(),
			    "net.publish[0] \"127.0.0.1:8080:81\": the host port is published by VM \"open\" "
			    "(tcp 0.0.0.0:8080 -> ");
	sv_vm_free(second);
	char *vm_dir = sv_path_join(env.runtime_dir, "second");
	assert_false(sv_path_exists(vm_dir));
	free(vm_dir);
	assert_int_equal(svn_count_taps(), N_VMS);
}

/* The published port goes with its VM: connection refused, no rule, no
 * registry entry; the other VMs' firewall stays. */
static void test_published_port_is_gone_after_the_vm_ends(void **state)
{
	(void)state;
	rvn_bg_end(&web);
	assert_int_equal(sv_vm_stop(vm[OPEN], 30000), 0);
	sv_vm_free(vm[OPEN]);
	vm[OPEN] = NULL;
	char *a = rvn_tcp_talk("127.0.0.1", 8080, NULL);
	assert_string_equal(a, "error: Connection refused");
	free(a);
	char table[32];
	sv_nft_table_name(table, env.bridge);
	const char *const argv[] = {"nft", "list", "table", "ip", table, NULL};
	int code = -1;
	char *out = NULL;
	assert_int_equal(sv_run(argv, NULL, 10000, &code, &out, NULL), 0);
	assert_int_equal(code, 0); /* the other VMs keep the table */
	assert_null(strstr(out, "8080"));
	assert_null(strstr(out, ip[OPEN]));
	free(out);
	char *ports = sv_path_join(env.data_dir, "net/ports");
	assert_false(sv_path_exists(ports));
	free(ports);
	assert_int_equal(svn_count_taps(), N_VMS - 1);
	/* "closed" is still held to its own address. */
	listener *l = start_listener(0, outside, 8080, 5353, "outside");
	char before[256], undo[256];
	snprintf(before, sizeof(before),
		 "ip addr add %s/32 dev eth0 && ip route add " RVN_OUTSIDE "/32 via " GATEWAY
		 " dev eth0 src %s",
		 ip[OPEN], ip[OPEN]);
	snprintf(undo, sizeof(undo), "ip route del " RVN_OUTSIDE "/32 && ip addr del %s/32 dev eth0",
		 ip[OPEN]);
	send_datagram(CLOSED, before, undo);
	expect_nothing(l, ip[OPEN]);
	send_datagram(CLOSED, "true", "true");
	expect_one_datagram(l);
}

int main(void)
{
	const svq_image *img = NULL;
	const char *why = NULL;
	if (!svq_image_get(&img, &why))
		return svt_skip_program(SVT_NEED_IMAGE, "%s", why);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_guest_cannot_send_with_another_address_or_mac, stop_listeners),
	    cmocka_unit_test_teardown(test_guest_reaches_no_host_service_but_allowed_dns, stop_listeners),
	    cmocka_unit_test_teardown(test_vms_that_both_allow_it_talk_to_each_other, stop_listeners),
	    cmocka_unit_test_teardown(test_a_vm_that_does_not_allow_it_sees_nothing_of_another,
				      stop_listeners),
	    cmocka_unit_test_teardown(test_published_port_reaches_the_guest_and_is_exclusive, stop_listeners),
	    cmocka_unit_test_teardown(test_published_port_is_gone_after_the_vm_ends, stop_listeners),
	};
	return svt__run_group("realvm_firewall", tests, sizeof(tests) / sizeof(tests[0]),
				       group_setup, group_teardown);
}
