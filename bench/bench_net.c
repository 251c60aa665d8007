/* #14 networking: what smartvm's host networking costs.
 *
 * 1. Set-up and tear-down of 50 VMs' networking at once through the library
 *    (sv_vm_net_setup and the ledger replay: bridge, TAP, lease, nftables
 *    elements; no VMM is booted), plain and with a published port each,
 *    against the same per-VM work done by hand with `ip` and `nft` (a TAP,
 *    attached and up, and the VM's anti-spoofing element in a bridge table
 *    of the same shape): what a script would do, and the floor for anything
 *    that spawns the standard tools.
 * 2. Guest-to-outside TCP throughput through the host datapath smartvm
 *    builds (bridge, the firewall's bridge and ip tables, conntrack,
 *    masquerade; and with WireGuard, wireguard-go on both ends), against the
 *    same transfer between two plain network namespaces over a veth. The
 *    guest is a network namespace behind a veth standing in for the TAP: a
 *    real guest under TCG (no KVM here) moves a few MB/s, the emulator's
 *    limit, not the datapath's, so it would measure nothing of smartvm.
 *
 * Everything runs in a private network namespace (unshare) and namespaces
 * held by child processes; nothing touches the host's interfaces. */
#include "bench.h"

#include "net/net_link.h"
#include "util/file.h"
#include "util/ledger.h"
#include "util/spawn.h"
#include "vm/vm_net.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ID "14"
#define NAME "networking"
#define N_VMS 50
#define ROUNDS 3
#define TOOL_MS 10000

/* ---- small helpers ---- */

static int run(const char *const *argv, const char *input)
{
	int code = -1;
	char *err = NULL;
	int rc = sv_run(argv, input, TOOL_MS, &code, NULL, &err);
	if (rc || code) {
		fprintf(stderr, "bench #14: %s %s: %s\n", argv[0], argv[1] ? argv[1] : "",
			rc    ? sv_last_error()
			: err ? err
			      : "failed");
		rc = -1;
	}
	free(err);
	return rc;
}

static char *run_out(const char *const *argv, const char *input)
{
	int code = -1;
	char *out = NULL;
	if (sv_run(argv, input, TOOL_MS, &code, &out, NULL) || code) {
		free(out);
		return NULL;
	}
	size_t n = strlen(out);
	while (n && out[n - 1] == '\n')
		out[--n] = '\0';
	return out;
}

/* A network namespace held by a child that waits to be killed. */
typedef struct {
	pid_t pid;
	char path[64];
	char nsenter[80]; /* --net=<path> */
} held_ns;

static int held_ns_new(held_ns *h)
{
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) != 0)
		return -1;
	h->pid = fork();
	if (h->pid < 0)
		return -1;
	if (h->pid == 0) {
		alarm(1800);
		if (unshare(CLONE_NEWNET) != 0 || write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	char r;
	int ok = read(ready[0], &r, 1) == 1;
	close(ready[0]);
	snprintf(h->path, sizeof(h->path), "/proc/%d/ns/net", (int)h->pid);
	snprintf(h->nsenter, sizeof(h->nsenter), "--net=%s", h->path);
	return ok ? 0 : -1;
}

static void held_ns_free(held_ns *h)
{
	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		sv_reap(h->pid, 5000, NULL);
	}
	h->pid = 0;
}

/* `ip ARGS` in namespace h (NULL = here). */
static int ip_in(const held_ns *h, const char *const *args)
{
	const char *argv[24];
	size_t n = 0;
	if (h) {
		argv[n++] = "nsenter";
		argv[n++] = h->nsenter;
	}
	argv[n++] = "ip";
	for (size_t i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return run(argv, NULL);
}

/* ---- 1. set-up and tear-down of 50 VMs ---- */

typedef struct {
	char *dir;
	sv_ledger *ledger;
	sv_vm_config *cfg;
	sv_net_iface_config nic;
	sv_vm_net_options no;
	char publish[32];
	const char *pub[1];
} lib_vm;

/* Sets up N_VMS VMs' networking, then tears it down; the two wall times. */
static int library_round(const char *root, bool publish, double *setup_ms, double *teardown_ms)
{
	lib_vm *vms = calloc(N_VMS, sizeof(*vms));
	char *data = sv_path_join(root, "data"), *runtime = sv_path_join(root, "runtime");
	int rc = vms && data && runtime && sv_mkdir_p(runtime, 0700) == 0 ? 0 : -1;
	for (int i = 0; i < N_VMS && !rc; i++) {
		char id[16];
		snprintf(id, sizeof(id), "vm%d", i);
		lib_vm *v = &vms[i];
		v->dir = sv_path_join(runtime, id);
		v->cfg = calloc(1, sizeof(*v->cfg));
		if (!v->dir || !v->cfg || sv_mkdir_p(v->dir, 0700) || sv_ledger_open(&v->ledger, v->dir))
			rc = -1;
		else {
			v->nic = (sv_net_iface_config){.iface_id = strdup("eth0")};
			v->cfg->network_interfaces = &v->nic;
			v->cfg->n_network_interfaces = 1;
			v->no = (sv_vm_net_options)SV_VM_NET_OPTIONS_INIT;
			snprintf(v->publish, sizeof(v->publish), "%d:80", 20000 + i);
			v->pub[0] = v->publish;
			v->no.publish = v->pub;
			v->no.n_publish = 1;
			v->cfg->net = publish ? &v->no : NULL;
		}
	}
	double t0 = bench_now_ms();
	for (int i = 0; i < N_VMS && !rc; i++) {
		char id[16];
		snprintf(id, sizeof(id), "vm%d", i);
		sv_tap_device tap;
		if ((rc = sv_vm_net_setup(NULL, data, id, vms[i].ledger, vms[i].cfg, &tap)))
			fprintf(stderr, "bench #14: %s\n", sv_last_error());
	}
	*setup_ms = bench_now_ms() - t0;
	sv_vm_net_register_undo();
	t0 = bench_now_ms();
	for (int i = 0; vms && i < N_VMS; i++) {
		if (vms[i].ledger) {
			sv_ledger_close(vms[i].ledger);
			vms[i].ledger = NULL;
			if (sv_ledger_replay(vms[i].dir)) {
				fprintf(stderr, "bench #14: cleanup: %s\n", sv_last_error());
				rc = -1;
			}
		}
	}
	*teardown_ms = bench_now_ms() - t0;
	for (int i = 0; vms && i < N_VMS; i++) {
		if (vms[i].cfg) {
			free((char *)vms[i].nic.iface_id);
			free((char *)vms[i].nic.host_dev_name);
			free((char *)vms[i].nic.guest_mac);
			free((char *)vms[i].cfg->boot_source.boot_args);
			free(vms[i].cfg);
		}
		free(vms[i].dir);
	}
	free(vms);
	bench_rm_rf(runtime);
	bench_rm_rf(data);
	free(runtime);
	free(data);
	return rc;
}

#define RAW_TABLE                                                                                            \
	"add table bridge raw\n"                                                                             \
	"add set bridge raw ports { type ifname; }\n"                                                        \
	"add set bridge raw addrs { type ifname . ether_addr . ipv4_addr; }\n"                               \
	"add chain bridge raw prerouting { type filter hook prerouting priority filter; policy accept; }\n"  \
	"add rule bridge raw prerouting iifname @ports iifname . ether saddr . ip saddr != @addrs drop\n"

/* The same per-VM work by hand: ip tuntap, ip link (master, up), one nft
 * run for the VM's elements; then the reverse. */
static int raw_round(double *setup_ms, double *teardown_ms)
{
	const char *br_add[] = {"link", "add", "rawbr0", "type", "bridge", NULL};
	const char *br_addr[] = {"addr", "add", "172.29.0.1/24", "dev", "rawbr0", NULL};
	const char *br_up[] = {"link", "set", "rawbr0", "up", NULL};
	const char *nft_f[] = {"nft", "-f", "-", NULL};
	if (ip_in(NULL, br_add) || ip_in(NULL, br_addr) || ip_in(NULL, br_up) || run(nft_f, RAW_TABLE))
		return -1;
	int rc = 0;
	double t0 = bench_now_ms();
	for (int i = 0; i < N_VMS && !rc; i++) {
		char tap[16], elems[256];
		snprintf(tap, sizeof(tap), "rawtap%d", i);
		snprintf(elems, sizeof(elems),
			 "add element bridge raw ports { \"%s\" }\n"
			 "add element bridge raw addrs { \"%s\" . 06:00:ac:1d:00:%02x . 172.29.0.%d }\n",
			 tap, tap, i + 2, i + 2);
		const char *add[] = {"tuntap", "add", "dev", tap, "mode", "tap", NULL};
		const char *attach[] = {"link", "set", tap, "master", "rawbr0", "up", NULL};
		rc = ip_in(NULL, add) || ip_in(NULL, attach) || run(nft_f, elems) ? -1 : 0;
	}
	*setup_ms = bench_now_ms() - t0;
	t0 = bench_now_ms();
	for (int i = 0; i < N_VMS; i++) {
		char tap[16], elems[256];
		snprintf(tap, sizeof(tap), "rawtap%d", i);
		snprintf(elems, sizeof(elems),
			 "delete element bridge raw addrs { \"%s\" . 06:00:ac:1d:00:%02x . 172.29.0.%d }\n"
			 "delete element bridge raw ports { \"%s\" }\n",
			 tap, i + 2, i + 2, tap);
		const char *del[] = {"link", "del", tap, NULL};
		if (run(nft_f, elems) || ip_in(NULL, del))
			rc = -1;
	}
	*teardown_ms = bench_now_ms() - t0;
	const char *br_del[] = {"link", "del", "rawbr0", NULL};
	if (run(nft_f, "delete table bridge raw\n") || ip_in(NULL, br_del))
		rc = -1;
	return rc;
}

static void bench_setup_teardown(const bench_env *env, bench_report *rep)
{
	int rounds = env->quick ? 1 : ROUNDS;
	double lib_s[ROUNDS], lib_t[ROUNDS], pub_s[ROUNDS], pub_t[ROUNDS], raw_s[ROUNDS], raw_t[ROUNDS];
	char *root = bench_mkdtemp("/dev/shm", "smartvm-bench-net");
	if (!root) {
		bench_skip(rep, ID, NAME, "creating a scratch directory under /dev/shm failed");
		return;
	}
	/* Interleaved, so that a slow phase of the machine hits all three. */
	for (int r = 0; r < rounds; r++) {
		if (library_round(root, false, &lib_s[r], &lib_t[r]) || raw_round(&raw_s[r], &raw_t[r]) ||
		    library_round(root, true, &pub_s[r], &pub_t[r])) {
			bench_skip(rep, ID, NAME " (set-up and tear-down)", "a round failed (see stderr)");
			bench_rm_rf(root);
			free(root);
			return;
		}
	}
	bench_rm_rf(root);
	free(root);
	double rs = bench_median(raw_s, rounds), rt = bench_median(raw_t, rounds);
	struct {
		const char *metric;
		double value, baseline;
		json_t *detail;
	} rows[] = {
	    {"50 VMs' networking set up (TAP, lease, firewall)", bench_median(lib_s, rounds), rs,
	     bench_stats_json(lib_s, rounds)},
	    {"50 VMs' networking torn down", bench_median(lib_t, rounds), rt,
	     bench_stats_json(lib_t, rounds)},
	    {"50 VMs set up, each publishing a port", bench_median(pub_s, rounds), rs,
	     bench_stats_json(pub_s, rounds)},
	    {"50 VMs torn down, each publishing a port", bench_median(pub_t, rounds), rt,
	     bench_stats_json(pub_t, rounds)},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		bench_add(rep, &(bench_row){.id = ID,
					    .benchmark = NAME,
					    .metric = rows[i].metric,
					    .unit = "ms",
					    .value = rows[i].value,
					    .baseline = rows[i].baseline,
					    .baseline_name = "ip tuntap/link + nft by hand",
					    .target_met = -1,
					    .detail = rows[i].detail});
}

/* ---- 2. throughput ---- */

/* In namespace ns: accepts one connection on port, reads to EOF, and
 * writes "<bytes> <ms from first byte to EOF>" to fd. */
static pid_t sink_start(const held_ns *ns, uint16_t port, int report_fd, int ready_fd)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	alarm(300);
	int nsfd = open(ns->path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0)
		_exit(1);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 1) || write(ready_fd, "r", 1) != 1)
		_exit(2);
	int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		_exit(3);
	static char buf[1 << 16];
	long long total = 0;
	double t0 = 0;
	for (ssize_t n; (n = read(c, buf, sizeof(buf))) > 0;) {
		if (!total)
			t0 = bench_now_ms();
		total += n;
	}
	char line[64];
	int len = snprintf(line, sizeof(line), "%lld %.3f\n", total, bench_now_ms() - t0);
	_exit(write(report_fd, line, (size_t)len) == len ? 0 : 4);
}

/* In namespace ns: sends bytes to ip:port. */
static int source_run(const held_ns *ns, const char *ip, uint16_t port, long long bytes)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		alarm(300);
		int nsfd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0)
			_exit(1);
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
		inet_pton(AF_INET, ip, &sa.sin_addr);
		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			_exit(2);
		static char buf[1 << 16];
		memset(buf, 'x', sizeof(buf));
		for (long long left = bytes; left > 0;) {
			ssize_t n = write(s, buf, left < (long long)sizeof(buf) ? (size_t)left : sizeof(buf));
			if (n <= 0)
				_exit(3);
			left -= n;
		}
		close(s);
		_exit(0);
	}
	int status = 0;
	if (sv_reap(pid, 300000, &status) != 0) {
		kill(pid, SIGKILL);
		sv_reap(pid, 5000, NULL);
		return -1;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* MB/s of one transfer from `from` to ip:port served in `to`; < 0 on failure. */
static double transfer(const held_ns *from, const held_ns *to, const char *ip, uint16_t port, long long bytes)
{
	int rep[2], ready[2];
	if (pipe2(rep, O_CLOEXEC) || pipe2(ready, O_CLOEXEC))
		return -1;
	pid_t sink = sink_start(to, port, rep[1], ready[1]);
	close(rep[1]);
	close(ready[1]);
	char r, line[64] = "";
	double mbs = -1;
	if (sink > 0 && read(ready[0], &r, 1) == 1 && source_run(from, ip, port, bytes) == 0) {
		ssize_t n = read(rep[0], line, sizeof(line) - 1);
		long long got = 0;
		double ms = 0;
		if (n > 0 && sscanf(line, "%lld %lf", &got, &ms) == 2 && got == bytes && ms > 0)
			mbs = (double)bytes / (1 << 20) / (ms / 1e3);
	}
	if (sink > 0) {
		kill(sink, SIGKILL);
		sv_reap(sink, 5000, NULL);
	}
	close(rep[0]);
	close(ready[0]);
	return mbs;
}

typedef struct {
	held_ns g, o;
	char *root;
	char *dir;
	sv_ledger *ledger;
	sv_vm_config cfg;
	sv_net_iface_config nic;
	sv_vm_net_options no;
	char wg_peer[16];
	char vm_pub[64];
	char *peer_key_path;
} datapath;

static int configure_guest(datapath *d, const sv_tap_device *t)
{
	char addr[32];
	snprintf(addr, sizeof(addr), "%s/24", t->guest_ip);
	const char *mac[] = {"link", "set", "eth0", "address", t->mac, "up", NULL};
	const char *a[] = {"addr", "add", addr, "dev", "eth0", NULL};
	const char *lo[] = {"link", "set", "lo", "up", NULL};
	const char *route[] = {"route", "add", "default", "via", t->gateway_ip, NULL};
	return ip_in(&d->g, mac) || ip_in(&d->g, a) || ip_in(&d->g, lo) || ip_in(&d->g, route) ? -1 : 0;
}

/* H (here) with O behind vx0/vo0 (198.51.100.1/.2) and G behind the veth
 * vh0/eth0 set up by the library as the VM "bench" (options no). */
static int datapath_up(datapath *d, const sv_vm_net_options *no)
{
	if (held_ns_new(&d->o) || held_ns_new(&d->g))
		return -1;
	char opid[16], gpid[16];
	snprintf(opid, sizeof(opid), "%d", (int)d->o.pid);
	snprintf(gpid, sizeof(gpid), "%d", (int)d->g.pid);
	const char *vx[] = {"link", "add", "vx0", "type", "veth", "peer", "name", "vo0", "netns", opid, NULL};
	const char *vxa[] = {"addr", "add", "198.51.100.1/24", "dev", "vx0", NULL};
	const char *vxu[] = {"link", "set", "vx0", "up", NULL};
	const char *voa[] = {"addr", "add", "198.51.100.2/24", "dev", "vo0", NULL};
	const char *vou[] = {"link", "set", "vo0", "up", NULL};
	const char *olo[] = {"link", "set", "lo", "up", NULL};
	const char *dflt[] = {"route", "add", "default", "via", "198.51.100.2", NULL};
	const char *vh[] = {"link", "add",  "vh0",   "type", "veth", "peer",
			    "name", "eth0", "netns", gpid,   NULL};
	if (ip_in(NULL, vx) || ip_in(NULL, vxa) || ip_in(NULL, vxu) || ip_in(&d->o, voa) ||
	    ip_in(&d->o, vou) || ip_in(&d->o, olo) || ip_in(NULL, dflt) || ip_in(NULL, vh))
		return -1;
	d->dir = sv_path_join(d->root, "runtime/bench");
	char *data = sv_path_join(d->root, "data");
	d->nic = (sv_net_iface_config){.iface_id = strdup("eth0"), .host_dev_name = strdup("vh0")};
	d->cfg = (sv_vm_config){.version = SV_VM_CONFIG_VERSION, .network_interfaces = &d->nic, .n_network_interfaces = 1, .net = no};
	sv_tap_device t;
	int rc = sv_mkdir_p(d->dir, 0700) || sv_ledger_open(&d->ledger, d->dir) ? -1 : 0;
	if (!rc && (rc = sv_vm_net_setup(NULL, data, "bench", d->ledger, &d->cfg, &t)))
		fprintf(stderr, "bench #14: %s\n", sv_last_error());
	free(data);
	return rc || configure_guest(d, &t) ? -1 : 0;
}

static void datapath_down(datapath *d)
{
	if (d->ledger) {
		sv_ledger_close(d->ledger);
		d->ledger = NULL;
		sv_vm_net_register_undo();
		if (sv_ledger_replay(d->dir))
			fprintf(stderr, "bench #14: cleanup: %s\n", sv_last_error());
	}
	if (d->wg_peer[0]) {
		const char *del[] = {"link", "del", d->wg_peer, NULL};
		ip_in(&d->o, del);
		char sock[64];
		snprintf(sock, sizeof(sock), "/var/run/wireguard/%s.sock", d->wg_peer);
		for (double end = bench_now_ms() + 5000; access(sock, F_OK) == 0 && bench_now_ms() < end;)
			usleep(20000);
		unlink(sock);
	}
	const char *vx[] = {"link", "del", "vx0", NULL};
	ip_in(NULL, vx);
	held_ns_free(&d->g);
	held_ns_free(&d->o);
	free(d->dir);
	free((char *)d->nic.iface_id);
	free((char *)d->nic.host_dev_name);
	free((char *)d->nic.guest_mac);
	free((char *)d->cfg.boot_source.boot_args);
	d->dir = NULL;
}

/* The tunnel's keys: the VM's wg-quick file at conf_path (its peer at
 * 198.51.100.2:51820) and the peer's private key in the scratch dir. */
static int wg_keys(datapath *d, const char *conf_path)
{
	const char *genkey[] = {"wg", "genkey", NULL}, *pubkey[] = {"wg", "pubkey", NULL};
	char *vm_key = run_out(genkey, NULL), *peer_key = run_out(genkey, NULL);
	char *vm_pub = vm_key ? run_out(pubkey, vm_key) : NULL;
	char *peer_pub = peer_key ? run_out(pubkey, peer_key) : NULL;
	d->peer_key_path = sv_path_join(d->root, "peer.key");
	int rc = vm_pub && peer_pub && d->peer_key_path &&
			 bench_write_text(d->peer_key_path, peer_key) == 0 &&
			 chmod(d->peer_key_path, 0600) == 0
		     ? 0
		     : -1;
	if (!rc) {
		snprintf(d->vm_pub, sizeof(d->vm_pub), "%s", vm_pub);
		char conf[512];
		snprintf(conf, sizeof(conf),
			 "[Interface]\nPrivateKey = %s\nAddress = 10.99.0.2/24\n\n[Peer]\nPublicKey = %s\n"
			 "Endpoint = 198.51.100.2:51820\nAllowedIPs = 0.0.0.0/0\n",
			 vm_key, peer_pub);
		rc = bench_write_text(conf_path, conf) || chmod(conf_path, 0600) ? -1 : 0;
	}
	free(vm_key);
	free(peer_key);
	free(vm_pub);
	free(peer_pub);
	return rc;
}

/* The peer: wireguard-go in O with 10.99.0.1, the VM's key allowed. */
static int wg_peer_up(datapath *d)
{
	snprintf(d->wg_peer, sizeof(d->wg_peer), "wgbench%d", (int)(getpid() % 100000));
	/* It daemonizes: its output is not captured (the pipe would stay open). */
	const char *go[] = {"nsenter", d->o.nsenter, "wireguard-go", d->wg_peer, NULL};
	int code = -1;
	if (sv_run(go, NULL, TOOL_MS, &code, NULL, NULL) || code)
		return -1;
	const char *set[] = {"nsenter",	    d->o.nsenter,     "wg",	      "set",   d->wg_peer,
			     "private-key", d->peer_key_path, "listen-port",  "51820", "peer",
			     d->vm_pub,	    "allowed-ips",    "10.99.0.2/32", NULL};
	const char *addr[] = {"addr", "add", "10.99.0.1/24", "dev", d->wg_peer, NULL};
	const char *up[] = {"link", "set", d->wg_peer, "up", NULL};
	return run(set, NULL) || ip_in(&d->o, addr) || ip_in(&d->o, up) ? -1 : 0;
}

/* The baseline: two namespaces and a veth, nothing else. */
static double plain_transfer(long long bytes)
{
	held_ns a = {0}, b = {0};
	double mbs = -1;
	if (!held_ns_new(&a) && !held_ns_new(&b)) {
		char bpid[16];
		snprintf(bpid, sizeof(bpid), "%d", (int)b.pid);
		const char *veth[] = {"link", "add", "pa",    "type", "veth", "peer",
				      "name", "pb",  "netns", bpid,   NULL};
		const char *aa[] = {"addr", "add", "10.77.0.1/24", "dev", "pa", NULL};
		const char *au[] = {"link", "set", "pa", "up", NULL};
		const char *ba[] = {"addr", "add", "10.77.0.2/24", "dev", "pb", NULL};
		const char *bu[] = {"link", "set", "pb", "up", NULL};
		const char *lo[] = {"link", "set", "lo", "up", NULL};
		if (!ip_in(&a, veth) && !ip_in(&a, aa) && !ip_in(&a, au) && !ip_in(&a, lo) &&
		    !ip_in(&b, ba) && !ip_in(&b, bu) && !ip_in(&b, lo))
			mbs = transfer(&a, &b, "10.77.0.2", 5001, bytes);
	}
	held_ns_free(&a);
	held_ns_free(&b);
	return mbs;
}

static void add_throughput(bench_report *rep, const char *metric, const double *v, const double *base, int n)
{
	json_t *detail = json_pack("{s:o,s:o}", "smartvm", bench_stats_json(v, (size_t)n), "baseline",
				   bench_stats_json(base, (size_t)n));
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = metric,
				    .unit = "MB/s",
				    .value = bench_median(v, (size_t)n),
				    .baseline = bench_median(base, (size_t)n),
				    .baseline_name = "veth between two namespaces",
				    .target_met = -1,
				    .detail = detail});
}

static void bench_throughput(const bench_env *env, bench_report *rep)
{
	long long bytes = (env->quick ? 16ll : 256ll) << 20;
	int rounds = env->quick ? 1 : ROUNDS;
	double plain[ROUNDS], nat[ROUNDS], wg[ROUNDS];
	bool have_wg = bench_have_program("wireguard-go") && bench_have_program("wg");
	for (int r = 0; r < rounds; r++) {
		plain[r] = plain_transfer(bytes);
		datapath d = {.root = bench_mkdtemp("/dev/shm", "smartvm-bench-net")};
		nat[r] = d.root && datapath_up(&d, NULL) == 0
			     ? transfer(&d.g, &d.o, "198.51.100.2", 5001, bytes)
			     : -1;
		datapath_down(&d);
		bench_rm_rf(d.root);
		free(d.root);
		wg[r] = -1;
		if (!have_wg)
			continue;
		datapath w = {.root = bench_mkdtemp("/dev/shm", "smartvm-bench-net")};
		char *conf = w.root ? sv_path_join(w.root, "wg0.conf") : NULL;
		w.no = (sv_vm_net_options)SV_VM_NET_OPTIONS_INIT;
		w.no.wireguard_config = conf;
		if (conf && wg_keys(&w, conf) == 0 && datapath_up(&w, &w.no) == 0 && wg_peer_up(&w) == 0)
			wg[r] = transfer(&w.g, &w.o, "10.99.0.1", 5001, bytes);
		datapath_down(&w);
		bench_rm_rf(w.root);
		free(w.root);
		free(w.peer_key_path);
		free(conf);
	}
	for (int r = 0; r < rounds; r++)
		if (plain[r] < 0 || nat[r] < 0 || (have_wg && wg[r] < 0)) {
			bench_skip(rep, ID, NAME " (throughput)", "a transfer failed (see stderr)");
			return;
		}
	add_throughput(rep, "guest to outside TCP, bridge + firewall + NAT (veth for the TAP)", nat, plain,
		       rounds);
	if (have_wg)
		add_throughput(rep, "guest to peer TCP through WireGuard (wireguard-go both ends)", wg, plain,
			       rounds);
}

void bench_net(const bench_env *env, bench_report *rep)
{
	if (geteuid() != 0) {
		bench_skip(rep, ID, NAME, "needs root: TAPs and namespaces");
		return;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		bench_skip(rep, ID, NAME, "unshare(CLONE_NEWNET) failed: %s", strerror(errno));
		return;
	}
	const char *lo[] = {"link", "set", "lo", "up", NULL};
	ip_in(NULL, lo);
	bench_setup_teardown(env, rep);
	bench_throughput(env, rep);
}
