/* Real traffic through the bridge, NAT and egress rules, entirely inside
 * namespaces this test creates:
 *   G ("guest"): veth vg0, holding the leased address; its peer vh0 in H is the
 *                VM's host device (adopted through host_dev_name).
 *   H ("host"):  the test's own fresh namespace: bridge, nft table, and vx0
 *                (198.51.100.1/24, default route) towards O.
 *   O ("outside"): vo0 198.51.100.2/24 with TCP and UDP servers that answer
 *                with the peer address they saw (so NAT is visible).
 * 198.51.100.0/24 is a documentation range that exists only inside O. */
#include "test_net_fixture.h"

#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/socket.h>

#define OUTSIDE_IP "198.51.100.2"
#define HOST_OUT_IP "198.51.100.1"

static const uint16_t tcp_ports[] = { 8080, 9090, 7070 };
static const uint16_t udp_ports[] = { 5353, 5354 };

typedef struct {
	const char *ip;
	int prefix;
	const char *dev;
	const char *gateway; /* NULL = no default route */
	const char *mac;     /* NULL = keep the device's */
} ns_addr;

static int configure_ns(void *arg)
{
	const ns_addr *a = arg;
	uint32_t ip;
	if (!sv_ipv4_parse(a->ip, &ip) || sv_nl_link_set_up("lo") || (a->mac && svn_set_mac(a->dev, a->mac)) ||
	    sv_nl_addr_add(a->dev, ip, a->prefix) || sv_nl_link_set_up(a->dev))
		return 1;
	if (a->gateway) {
		uint32_t gw;
		if (!sv_ipv4_parse(a->gateway, &gw) || svn_default_route(gw) != 0)
			return 2;
	}
	return 0;
}

static int bind_socket(int type, uint16_t port)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || (type == SOCK_STREAM && listen(fd, 8) != 0))
		_exit(3);
	return fd;
}

/* Serves until killed (at most 60 s): each answer is the peer's address. */
static void serve(int ready_fd)
{
	alarm(60);
	enum { N = sizeof(tcp_ports) / sizeof(tcp_ports[0]) + sizeof(udp_ports) / sizeof(udp_ports[0]) };
	struct pollfd p[N];
	int n = 0;
	for (size_t i = 0; i < sizeof(tcp_ports) / sizeof(tcp_ports[0]); i++)
		p[n++] = (struct pollfd){ .fd = bind_socket(SOCK_STREAM, tcp_ports[i]), .events = POLLIN };
	int first_udp = n;
	for (size_t i = 0; i < sizeof(udp_ports) / sizeof(udp_ports[0]); i++)
		p[n++] = (struct pollfd){ .fd = bind_socket(SOCK_DGRAM, udp_ports[i]), .events = POLLIN };
	if (write(ready_fd, "r", 1) != 1)
		_exit(4);
	for (;;) {
		if (poll(p, (nfds_t)n, -1) < 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (!p[i].revents)
				continue;
			struct sockaddr_in peer;
			socklen_t len = sizeof(peer);
			char text[INET_ADDRSTRLEN] = "";
			if (i < first_udp) {
				int c = accept4(p[i].fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
				if (c < 0)
					continue;
				inet_ntop(AF_INET, &peer.sin_addr, text, sizeof(text));
				if (write(c, text, strlen(text)) < 0) {
				}
				close(c);
			} else {
				char buf[64];
				if (recvfrom(p[i].fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &len) < 0)
					continue;
				inet_ntop(AF_INET, &peer.sin_addr, text, sizeof(text));
				sendto(p[i].fd, text, strlen(text), 0, (struct sockaddr *)&peer, len);
			}
		}
	}
}

typedef struct {
	int type;
	uint16_t port;
} probe;

enum { REACHED_NATED = 0, REACHED_NOT_NATED = 1, NO_ANSWER = 2 };

static int answer_verdict(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[64] = "";
	if (poll(&p, 1, 1000) != 1)
		return NO_ANSWER;
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return NO_ANSWER;
	buf[n] = '\0';
	return strcmp(buf, HOST_OUT_IP) ? REACHED_NOT_NATED : REACHED_NATED;
}

/* In G: one TCP connection or UDP exchange with O. */
static int run_probe(void *arg)
{
	const probe *pr = arg;
	int fd = socket(AF_INET, pr->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(pr->port) };
	inet_pton(AF_INET, OUTSIDE_IP, &sa.sin_addr);
	if (pr->type == SOCK_DGRAM) {
		if (sendto(fd, "?", 1, 0, (struct sockaddr *)&sa, sizeof(sa)) != 1)
			return NO_ANSWER;
		return answer_verdict(fd);
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS)
		return NO_ANSWER;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof(err);
	if (poll(&p, 1, 1000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err)
		return NO_ANSWER;
	return answer_verdict(fd);
}

static int probe_from(int guest_ns, int type, uint16_t port)
{
	probe pr = { type, port };
	return svn_run_in(guest_ns, run_probe, &pr, 10000);
}

/* In G: waits (at most 5 s) until the gateway answers a TCP SYN with a reset,
 * i.e. until the bridge forwards, so that the probes measure policy only. */
static int wait_for_gateway(void *arg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(1) };
	inet_pton(AF_INET, arg, &sa.sin_addr);
	long long deadline = sv_now_ms() + 5000;
	while (sv_now_ms() < deadline) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		int err = 0;
		socklen_t len = sizeof(err);
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno == EINPROGRESS && poll(&p, 1, 200) == 1)
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		close(fd);
		if (err == ECONNREFUSED)
			return 0;
	}
	return 1;
}

/* The test's network: G (guest_ns) behind veth vh0/vg0, vh0 standing in for
 * the VM's TAP; O (outside_ns) behind vx0/vo0, the host routing between
 * them. The VM's networking is set up through the library (vm.ledger) or
 * through `smartvm run` (via_cli: a detached VM of the fake Firecracker). */
typedef struct {
	char *data_dir, *runtime_dir;
	int guest_ns, outside_ns;
	sv_vm_config *cfg;
	svn_vm vm;
	bool via_cli;
	pid_t server;
} world;

/* In a fresh namespace: builds G and O and the host's side of both. */
static void world_begin(world *w)
{
	memset(w, 0, sizeof(*w));
	svn_enter_fresh_netns();
	w->data_dir = svt_tmpdir();
	w->runtime_dir = svt_tmpdir();
	w->guest_ns = svn_netns_new();
	w->outside_ns = svn_netns_new();
	svn_veth_add("vh0", "vg0", w->guest_ns);
	svn_veth_add("vx0", "vo0", w->outside_ns);
	ns_addr host_side = { HOST_OUT_IP, 24, "vx0", OUTSIDE_IP, NULL };
	assert_int_equal(configure_ns(&host_side), 0);
	ns_addr outside = { OUTSIDE_IP, 24, "vo0", NULL, NULL };
	assert_int_equal(svn_run_in(w->outside_ns, configure_ns, &outside, 5000), 0);
}

/* Gives G the leased address and MAC and waits until its gateway answers,
 * then starts serve() in O and waits until it listens. */
static void world_finish(world *w, const char *guest_ip, const char *gateway_ip, const char *mac)
{
	ns_addr guest = { guest_ip, 24, "vg0", gateway_ip, mac };
	assert_int_equal(svn_run_in(w->guest_ns, configure_ns, &guest, 5000), 0);
	assert_int_equal(svn_run_in(w->guest_ns, wait_for_gateway, (void *)gateway_ip, 10000), 0);

	int ready[2];
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	w->server = fork();
	assert_true(w->server >= 0);
	if (w->server == 0) {
		if (setns(w->outside_ns, CLONE_NEWNET) != 0)
			_exit(5);
		serve(ready[1]);
	}
	close(ready[1]);
	struct pollfd rp = { .fd = ready[0], .events = POLLIN };
	char r;
	assert_int_equal(poll(&rp, 1, 5000), 1);
	assert_int_equal(read(ready[0], &r, 1), 1);
	close(ready[0]);
}

/* The world, with the VM's networking set up by the library with opts on vh0. */
static void world_up(world *w, const sv_manager_options *opts)
{
	world_begin(w);
	w->cfg = svn_cfg_new(1, NULL);
	((sv_net_iface_config *)w->cfg->network_interfaces)[0].host_dev_name = strdup("vh0");
	w->vm = svn_vm_open(w->runtime_dir, "guest");
	sv_tap_device tap;
	svn_ok(sv_vm_net_setup(opts, w->data_dir, "guest", w->vm.ledger, w->cfg, &tap));
	world_finish(w, tap.guest_ip, tap.gateway_ip, tap.mac);
}

/* Runs the CLI with the world's directories and the NULL-terminated args;
 * returns the exit code, showing stderr when it is not 0. *out is this run's
 * stdout (freed first). */
static int world_cli(world *w, char **out, ...)
{
	char *err = NULL;
	va_list ap;
	va_start(ap, out);
	int code = svt_run_cli_dirs_v(w->data_dir, w->runtime_dir, NULL, out, &err, ap);
	va_end(ap);
	if (code != 0)
		print_message("smartvm exited %d: %s\n", code, err);
	free(err);
	return code;
}

/* The world, with VM "guest" started by `smartvm run --config` (its
 * interface adopts vh0) and the networking flags in net_args (up to 12). */
static void world_up_cli(world *w, const char *const *net_args)
{
	world_begin(w);
	w->via_cli = true;
	char *kernel = svt_write(w->data_dir, "vmlinux", "not really a kernel\n");
	char json[1024];
	snprintf(json, sizeof(json),
		 "{\"boot-source\": {\"kernel_image_path\": \"%s\"},"
		 " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64},"
		 " \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"vh0\"}]}",
		 kernel);
	char *config = svt_write(w->data_dir, "vm.json", json);
	const char *a[12] = { 0 };
	for (size_t i = 0; net_args[i]; i++) {
		assert_true(i < 12);
		a[i] = net_args[i];
	}
	char *out = NULL;
	assert_int_equal(world_cli(w, &out, "run", "--config", config, "--id", "guest", "--firecracker-bin",
				   svt_fake_firecracker(), "--detach", a[0], a[1], a[2], a[3], a[4], a[5],
				   a[6], a[7], a[8], a[9], a[10], a[11], NULL),
			 0);
	assert_int_equal(world_cli(w, &out, "inspect", "guest", "--json", NULL), 0);
	json_t *desc = json_loads(out, 0, NULL);
	json_t *nic = json_array_get(json_object_get(desc, "network"), 0);
	char guest_ip[16], gateway_ip[16], mac[18];
	snprintf(guest_ip, sizeof(guest_ip), "%s", json_string_value(json_object_get(nic, "guest_ip")));
	snprintf(gateway_ip, sizeof(gateway_ip), "%s", json_string_value(json_object_get(nic, "gateway_ip")));
	snprintf(mac, sizeof(mac), "%s", json_string_value(json_object_get(nic, "mac")));
	json_decref(desc);
	free(out);
	free(config);
	free(kernel);
	world_finish(w, guest_ip, gateway_ip, mac);
}

/* Removes the VM's networking, as `smartvm stop` or the ledger replay does. */
static void world_vm_down(world *w)
{
	if (w->via_cli) {
		char *out = NULL;
		assert_int_equal(world_cli(w, &out, "stop", "guest", NULL), 0);
		free(out);
	} else {
		svn_ok(svn_vm_cleanup(&w->vm));
	}
}

static void world_stop_server(world *w)
{
	kill(w->server, SIGKILL);
	int status;
	sv_reap(w->server, 5000, &status);
}

/* After the test's checks: closes the namespaces, frees the config and
 * removes the directories. */
static void world_free(world *w)
{
	close(w->guest_ns);
	close(w->outside_ns);
	svn_cfg_free(w->cfg);
	svt_rm_tmpdir(w->data_dir);
	svt_rm_tmpdir(w->runtime_dir);
}

static void test_egress_rules_allow_and_drop_with_nat(void **state)
{
	(void)state;
	sv_egress_rule rules[] = {
		{ .action = SV_EGRESS_ALLOW, .destination = OUTSIDE_IP "/32", .protocol = SV_PROTO_TCP, .port_from = 8080 },
		{ .action = SV_EGRESS_DENY, .destination = "198.51.100.0/24", .protocol = SV_PROTO_TCP, .port_from = 9000,
		  .port_to = 9999 },
		{ .action = SV_EGRESS_ALLOW, .destination = "198.51.100.0/24", .protocol = SV_PROTO_UDP, .port_from = 5353 },
	};
	sv_manager_options opts = {.version = SV_MANAGER_OPTIONS_VERSION,
				   .egress_rules = rules,
				   .n_egress_rules = 3,
				   .egress_default = SV_EGRESS_DENY};
	world w;
	world_up(&w, &opts);

	/* Allowed by rule 1, and the server saw the host's address: NAT. */
	int tcp_allowed = probe_from(w.guest_ns, SOCK_STREAM, 8080);
	int tcp_denied = probe_from(w.guest_ns, SOCK_STREAM, 9090);
	int tcp_default = probe_from(w.guest_ns, SOCK_STREAM, 7070);
	int udp_allowed = probe_from(w.guest_ns, SOCK_DGRAM, 5353);
	int udp_default = probe_from(w.guest_ns, SOCK_DGRAM, 5354);

	/* With the VM's networking gone, nothing forwards any more. */
	world_vm_down(&w);
	int after_cleanup = probe_from(w.guest_ns, SOCK_STREAM, 8080);

	world_stop_server(&w);

	assert_int_equal(tcp_allowed, REACHED_NATED);
	assert_int_equal(tcp_denied, NO_ANSWER);
	assert_int_equal(tcp_default, NO_ANSWER);
	assert_int_equal(udp_allowed, REACHED_NATED);
	assert_int_equal(udp_default, NO_ANSWER);
	assert_int_equal(after_cleanup, NO_ANSWER);
	svn_assert_all_gone(w.data_dir, "svbr0");

	world_free(&w);
}

static void test_default_allow_passes_what_no_rule_denies(void **state)
{
	(void)state;
	sv_egress_rule rules[] = {
		{ .action = SV_EGRESS_DENY, .destination = OUTSIDE_IP "/32", .protocol = SV_PROTO_UDP },
	};
	/* The outbound interface is given explicitly this time. */
	sv_manager_options opts = {.version = SV_MANAGER_OPTIONS_VERSION,
				   .egress_rules = rules,
				   .n_egress_rules = 1,
				   .outbound_interface = "vx0"};
	world w;
	world_up(&w, &opts);

	int tcp = probe_from(w.guest_ns, SOCK_STREAM, 7070);
	int udp = probe_from(w.guest_ns, SOCK_DGRAM, 5353);
	world_stop_server(&w);
	world_vm_down(&w);

	assert_int_equal(tcp, REACHED_NATED);
	assert_int_equal(udp, NO_ANSWER);
	svn_assert_all_gone(w.data_dir, "svbr0");
	world_free(&w);
}

/* `smartvm run` with repeated --egress-rule: the rules apply in the order
 * given and the first match wins, a deny before an allow and an allow before
 * a deny alike; what no rule matches gets the default (allow). */
static void test_cli_egress_rules_first_match_wins(void **state)
{
	(void)state;
	static const char *const net_args[] = {
		"--egress-rule", "deny:" OUTSIDE_IP "/32:tcp:9090", /* before the allow that also matches */
		"--egress-rule", "allow:198.51.100.0/24:tcp",
		"--egress-rule", "allow:" OUTSIDE_IP "/32:udp:5353", /* before the deny that also matches */
		"--egress-rule", "deny:0.0.0.0/0:udp",
		"--egress-default", "allow",
		NULL,
	};
	world w;
	world_up_cli(&w, net_args);
	char *rules = svn_forward_rules("svbr0");

	int tcp_denied_first = probe_from(w.guest_ns, SOCK_STREAM, 9090);
	int tcp_allowed = probe_from(w.guest_ns, SOCK_STREAM, 8080);
	int udp_allowed_first = probe_from(w.guest_ns, SOCK_DGRAM, 5353);
	int udp_denied = probe_from(w.guest_ns, SOCK_DGRAM, 5354);

	world_vm_down(&w);
	int after_stop = probe_from(w.guest_ns, SOCK_STREAM, 8080);
	world_stop_server(&w);

	assert_string_equal(
	    rules,
	    "iifname \"svbr0\" ip saddr 172.30.0.0/24 ip daddr 198.51.100.2 tcp dport 9090 drop\n"
	    "iifname \"svbr0\" ip saddr 172.30.0.0/24 ip daddr 198.51.100.0/24 meta l4proto tcp accept\n"
	    "iifname \"svbr0\" ip saddr 172.30.0.0/24 ip daddr 198.51.100.2 udp dport 5353 accept\n"
	    "iifname \"svbr0\" ip saddr 172.30.0.0/24 meta l4proto udp drop\n"
	    "iifname \"svbr0\" ip saddr 172.30.0.0/24 accept\n");
	assert_int_equal(tcp_denied_first, NO_ANSWER);
	assert_int_equal(tcp_allowed, REACHED_NATED);
	assert_int_equal(udp_allowed_first, REACHED_NATED);
	assert_int_equal(udp_denied, NO_ANSWER);
	assert_int_equal(after_stop, NO_ANSWER);
	svn_assert_all_gone(w.data_dir, "svbr0");
	free(rules);
	world_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_egress_rules_allow_and_drop_with_nat),
		cmocka_unit_test(test_default_allow_passes_what_no_rule_denies),
		cmocka_unit_test(test_cli_egress_rules_first_match_wins),
	};
	return svt_run_group(tests, NULL, NULL);
}
