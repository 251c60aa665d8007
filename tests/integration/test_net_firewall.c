/* The firewall a VM's port gets (anti-spoofing, VM isolation, the gateway's
 * services) and published ports, with veths standing in for the VMs' TAPs,
 * entirely inside namespaces the test makes:
 *   G1, G2 ("guests"): vg1/vg2 with the leased address and MAC; their peers
 *                      vh1/vh2 in H are the VMs' host devices.
 *   H ("host"): the test's own fresh namespace: bridge, nft tables, vx0
 *               (198.51.100.1/24) towards O, services on the gateway.
 *   O ("outside"): vo0 198.51.100.2/24, listening on TCP 8080 and UDP 5353,
 *                  telling the test what arrived and from where.
 * Negative checks wait for a positive one sent after them on the same path
 * where there is one (what was dropped would have arrived first); otherwise
 * for at most WAIT_MS. The same properties are checked from real guests in
 * test_realvm_firewall.c. */
#include "test_net_fixture.h"
#include "test_net_probe.h"

#include "net/net_options.h"
#include "net/net_ports.h"
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#define OUTSIDE_IP "198.51.100.2"
#define HOST_OUT_IP "198.51.100.1"
#define GATEWAY "172.30.0.1"

/* The world: H with O behind vx0, and n guests behind veths on the bridge,
 * set up through the library with options net[i]. */
typedef struct {
	svn_dirs *dirs;
	int outside;
	int guest[2];
	sv_vm_config *cfg[2];
	svn_vm vm[2];
	sv_tap_device tap[2];
	int n;
} world;

static void world_begin(world *w, svn_dirs *dirs)
{
	memset(w, 0, sizeof(*w));
	w->dirs = dirs;
	svn_enter_fresh_netns();
	w->outside = svn_netns_new();
	svn_veth_add("vx0", "vo0", w->outside);
	ns_cfg host = {HOST_OUT_IP, 24, "vx0", OUTSIDE_IP, NULL, NULL};
	assert_int_equal(configure(&host), 0);
	ns_cfg out = {OUTSIDE_IP, 24, "vo0", NULL, NULL, NULL};
	assert_int_equal(svn_run_in(w->outside, configure, &out, 5000), 0);
}

/* Adds guest i ("vm<i>") with net options no (may be NULL); extra_ip: a
 * second address it gets for spoofing. Returns the library's result. */
static int world_add(world *w, const sv_vm_net_options *no, const char *extra_ip)
{
	int i = w->n++;
	char host[16], guest[16], id[16];
	snprintf(host, sizeof(host), "vh%d", i + 1);
	snprintf(guest, sizeof(guest), "vg%d", i + 1);
	snprintf(id, sizeof(id), "vm%d", i);
	w->guest[i] = svn_netns_new();
	svn_veth_add(host, guest, w->guest[i]);
	w->cfg[i] = svn_cfg_new(1, NULL);
	((sv_net_iface_config *)w->cfg[i]->network_interfaces)[0].host_dev_name = strdup(host);
	w->cfg[i]->net = no;
	w->vm[i] = svn_vm_open(w->dirs->runtime_dir, id);
	int rc = sv_vm_net_setup(NULL, w->dirs->data_dir, id, w->vm[i].ledger, w->cfg[i], &w->tap[i]);
	if (rc)
		return rc;
	ns_cfg g = {w->tap[i].guest_ip, 24, guest, GATEWAY, w->tap[i].mac, extra_ip};
	assert_int_equal(svn_run_in(w->guest[i], configure, &g, 5000), 0);
	return 0;
}

static void world_end(world *w)
{
	for (int i = 0; i < w->n; i++) {
		if (w->vm[i].ledger)
			svn_ok(svn_vm_cleanup(&w->vm[i]));
		w->cfg[i]->net = NULL;
		svn_cfg_free(w->cfg[i]);
		close(w->guest[i]);
	}
	svn_assert_all_gone_but_taps(w->dirs->data_dir, "svbr0");
	close(w->outside);
}

static int spoof_mac(void *arg) { return svn_set_mac(arg, "06:66:66:66:66:66") ? 1 : 0; }

/* A guest may send only with its own address and MAC. */
static void test_guest_cannot_send_with_another_address_or_mac(void **state)
{
	world w;
	world_begin(&w, *state);
	svn_ok(world_add(&w, NULL, "172.30.0.50"));
	listener out = listen_in(w.outside, 8080, 5353, "outside");

	probe spoofed = {.ip = OUTSIDE_IP, .port = 5353, .src = "172.30.0.50", .udp = true};
	assert_int_equal(probe_in(w.guest[0], &spoofed), CONNECTED); /* sent */
	probe real = {.ip = OUTSIDE_IP, .port = 5353, .udp = true};
	assert_int_equal(probe_in(w.guest[0], &real), CONNECTED);
	char *seen = reports(&out, "U " HOST_OUT_IP "\n");
	assert_string_equal(seen, "U " HOST_OUT_IP "\n"); /* the real one only (masqueraded) */
	free(seen);

	/* Another MAC: nothing passes. */
	assert_int_equal(svn_run_in(w.guest[0], spoof_mac, "vg1", 5000), 0);
	assert_int_equal(probe_in(w.guest[0], &real), CONNECTED);
	seen = reports(&out, NULL);
	assert_string_equal(seen, "");
	free(seen);

	listener_stop(&out);
	world_end(&w);
}

/* Another VM's address is spoofing too, and the second VM sees nothing of
 * the first (not even its ARP), unless both allow VM-to-VM traffic. */
static void test_vms_are_isolated_unless_both_allow_it(void **state)
{
	world w;
	world_begin(&w, *state);
	svn_ok(world_add(&w, NULL, "172.30.0.3")); /* vm1's address, before vm1 has it */
	svn_ok(world_add(&w, NULL, NULL));
	assert_string_equal(w.tap[1].guest_ip, "172.30.0.3");
	listener out = listen_in(w.outside, 8080, 5353, "outside");
	listener first = listen_in(w.guest[0], 8080, 5353, "vm0");

	probe as_other = {.ip = OUTSIDE_IP, .port = 5353, .src = "172.30.0.3", .udp = true};
	probe real = {.ip = OUTSIDE_IP, .port = 5353, .udp = true};
	assert_int_equal(probe_in(w.guest[0], &as_other), CONNECTED);
	assert_int_equal(probe_in(w.guest[0], &real), CONNECTED);
	char *seen = reports(&out, "U " HOST_OUT_IP "\n");
	assert_string_equal(seen, "U " HOST_OUT_IP "\n");
	free(seen);

	/* vm1 to vm0: nothing, not even its ARP. */
	probe to_vm0 = {.ip = "172.30.0.2", .port = 8080};
	assert_int_equal(probe_in(w.guest[1], &to_vm0), NO_ANSWER);
	probe udp_vm0 = {.ip = "172.30.0.2", .port = 5353, .udp = true};
	assert_int_equal(probe_in(w.guest[1], &udp_vm0), CONNECTED);
	seen = reports(&first, NULL);
	assert_string_equal(seen, "");
	free(seen);
	listener_stop(&first);
	listener_stop(&out);
	world_end(&w);

	/* Both allow it: they reach each other directly. */
	sv_vm_net_options open = SV_VM_NET_OPTIONS_INIT;
	open.allow_vm_to_vm = true;
	world_begin(&w, *state);
	svn_ok(world_add(&w, &open, NULL));
	svn_ok(world_add(&w, &open, NULL));
	listener second = listen_in(w.guest[1], 8080, 5353, "vm1");
	probe tcp = {.ip = w.tap[1].guest_ip, .port = 8080};
	assert_int_equal(probe_in(w.guest[0], &tcp), CONNECTED);
	char want[64];
	snprintf(want, sizeof(want), "T %s\n", w.tap[0].guest_ip);
	seen = reports(&second, want);
	assert_string_equal(seen, want);
	free(seen);
	listener_stop(&second);
	world_end(&w);
}

/* The host's services are not the guests': only ICMP echo and, when
 * allowed, DNS (port 53) answer on the gateway. */
static void test_guest_reaches_no_host_service_but_allowed_dns(void **state)
{
	sv_vm_net_options dns = SV_VM_NET_OPTIONS_INIT;
	dns.allow_host_dns = true;
	world w;
	world_begin(&w, *state);
	svn_ok(world_add(&w, NULL, NULL));
	svn_ok(world_add(&w, &dns, NULL));
	listener svc = listen_in(-1, 8081, 8082, "host service");
	listener resolver = listen_in(-1, 53, 53, "dns");
	probe service = {.ip = GATEWAY, .port = 8081}, name = {.ip = GATEWAY, .port = 53};
	assert_int_equal(probe_in(w.guest[0], &service), REFUSED);
	assert_int_equal(probe_in(w.guest[0], &name), REFUSED);
	assert_int_equal(probe_in(w.guest[1], &service), REFUSED);
	assert_int_equal(probe_in(w.guest[1], &name), CONNECTED);
	/* Nor on the host's other addresses. */
	probe other = {.ip = HOST_OUT_IP, .port = 8081};
	assert_int_equal(probe_in(w.guest[0], &other), REFUSED);
	char *seen = reports(&svc, NULL);
	assert_string_equal(seen, "");
	free(seen);
	listener_stop(&resolver);
	listener_stop(&svc);
	world_end(&w);
}

/* In the host namespace: connects to ip:port and returns what was said. */
static char *tcp_answer(const char *ip, uint16_t port)
{
	probe p = {.ip = ip, .port = port};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, ip, &sa.sin_addr);
	struct timeval tv = {.tv_sec = 3};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		ssize_t n = read(fd, p.answer, sizeof(p.answer) - 1);
		p.answer[n > 0 ? n : 0] = '\0';
	} else {
		snprintf(p.answer, sizeof(p.answer), "error: %s", strerror(errno));
	}
	close(fd);
	return strdup(p.answer);
}

static int probe_outside_published(void *arg)
{
	char *answer = tcp_answer(HOST_OUT_IP, 8080);
	int ok = !strcmp(answer, arg);
	free(answer);
	return ok ? 0 : 1;
}

/* -p 8080:80 reaches the guest from the host itself (127.0.0.1 and the
 * gateway) and from outside; a second VM cannot take the same host port,
 * not from another process either; the port goes with the VM. */
static void test_published_port_is_reachable_exclusive_and_removed(void **state)
{
	static const char *const pub[] = {"8080:80", "5300:53/udp"};
	sv_vm_net_options no = SV_VM_NET_OPTIONS_INIT;
	no.publish = pub;
	no.n_publish = 2;
	world w;
	world_begin(&w, *state);
	svn_ok(world_add(&w, &no, NULL));
	listener web = listen_in(w.guest[0], 80, 53, "guest web");
	char *a = tcp_answer("127.0.0.1", 8080);
	assert_string_equal(a, "guest web");
	free(a);
	a = tcp_answer(GATEWAY, 8080);
	assert_string_equal(a, "guest web");
	free(a);
	assert_int_equal(svn_run_in(w.outside, probe_outside_published, "guest web", 10000), 0);

	/* Another VM, here and in another process. */
	static const char *const same[] = {"127.0.0.1:8080:81"};
	sv_vm_net_options taken = SV_VM_NET_OPTIONS_INIT;
	taken.publish = same;
	taken.n_publish = 1;
	assert_int_equal(world_add(&w, &taken, NULL), SV_EBUSY);
	assert_string_equal(
	    sv_last_error(),
	    "setting up networking of VM \"vm1\": net.publish[0] \"127.0.0.1:8080:81\": the host port is "
	    "published by VM \"vm0\" (tcp 0.0.0.0:8080 -> 172.30.0.2:80)");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sv_vm_config *cfg = svn_cfg_new(1, NULL);
		cfg->net = &taken;
		svn_vm vm = svn_vm_open(w.dirs->runtime_dir, "vm9");
		sv_tap_device tap;
		int rc = sv_vm_net_setup(NULL, w.dirs->data_dir, "vm9", vm.ledger, cfg, &tap);
		bool busy = rc == SV_EBUSY && strstr(sv_last_error(), "published by VM \"vm0\"");
		_exit(svn_vm_cleanup(&vm) == 0 && busy ? 0 : 1);
	}
	int status = -1;
	assert_int_equal(sv_reap(pid, 30000, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	listener_stop(&web);
	svn_ok(svn_vm_cleanup(&w.vm[0]));
	svn_ok(svn_vm_cleanup(&w.vm[1]));
	char *ports = sv_path_join(w.dirs->data_dir, "net/ports");
	assert_false(sv_path_exists(ports));
	free(ports);
	a = tcp_answer("127.0.0.1", 8080);
	assert_string_equal(a, "error: Connection refused");
	free(a);
	world_end(&w);
}

/* Bad published ports are refused before anything is made, naming them. */
static void test_bad_published_ports_are_refused(void **state)
{
	(void)state;
	const char *specs[] = {"80",	 "a:80", "8080:0", "8080:80/sctp", "1.2.3:8080:80", "0.0.0.0:8080:80",
			       "1:2:3:4"};
	const char *want[] = {
	    "net.publish[0]: published port \"80\": expected [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|udp]",
	    "net.publish[0]: published port \"a:80\": host port \"a\" is not a number from 1 to 65535",
	    "net.publish[0]: published port \"8080:0\": guest port \"0\" is not a number from 1 to 65535",
	    "net.publish[0]: published port \"8080:80/sctp\": protocol \"sctp\" is not tcp or udp",
	    "net.publish[0]: published port \"1.2.3:8080:80\": host address \"1.2.3\" is not an IPv4 address",
	    "net.publish[0]: published port \"0.0.0.0:8080:80\": leave 0.0.0.0 out to publish on every "
	    "address",
	    "net.publish[0]: published port \"1:2:3:4\": expected [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|udp]",
	};
	for (size_t i = 0; i < sizeof(specs) / sizeof(*specs); i++) {
		sv_vm_net_options no = SV_VM_NET_OPTIONS_INIT;
		no.publish = &specs[i];
		no.n_publish = 1;
		sv_vm_config *cfg = svn_cfg_new(1, NULL);
		cfg->net = &no;
		assert_int_equal(sv_net_check_vm_options(cfg), SV_EINVAL);
		assert_string_equal(sv_last_error(), want[i]);
		cfg->net = NULL;
		svn_cfg_free(cfg);
	}
	static const char *const twice[] = {"8080:80", "127.0.0.1:8080:81/tcp"};
	sv_vm_net_options no = SV_VM_NET_OPTIONS_INIT;
	no.publish = twice;
	no.n_publish = 2;
	sv_vm_config *cfg = svn_cfg_new(1, NULL);
	cfg->net = &no;
	assert_int_equal(sv_net_check_vm_options(cfg), SV_EINVAL);
	assert_string_equal(
	    sv_last_error(),
	    "net.publish[1] \"127.0.0.1:8080:81/tcp\": takes the same host port as net.publish[0]");
	cfg->n_network_interfaces = 0;
	assert_int_equal(sv_net_check_vm_options(cfg), SV_EINVAL);
	assert_string_equal(
	    sv_last_error(),
	    "net: the networking options need a network interface (network_interfaces is empty)");
	cfg->n_network_interfaces = 1;
	cfg->net = NULL;
	svn_cfg_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_guest_cannot_send_with_another_address_or_mac,
					    svn_dirs_setup, svn_dirs_teardown),
	    cmocka_unit_test_setup_teardown(test_vms_are_isolated_unless_both_allow_it, svn_dirs_setup,
					    svn_dirs_teardown),
	    cmocka_unit_test_setup_teardown(test_guest_reaches_no_host_service_but_allowed_dns,
					    svn_dirs_setup, svn_dirs_teardown),
	    cmocka_unit_test_setup_teardown(test_published_port_is_reachable_exclusive_and_removed,
					    svn_dirs_setup, svn_dirs_teardown),
	    cmocka_unit_test(test_bad_published_ports_are_refused),
	};
	return svt_run_group(tests, NULL, NULL);
}
