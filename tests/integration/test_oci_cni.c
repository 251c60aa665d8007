/* smartvm-oci's pod networking and cgroups on a real guest (QEMU under
 * TCG, the minimal image's kernel), as an engine with CNI drives it:
 * containernetworking-plugins' bridge + host-local plugins (run with the
 * CNI_* environment, as podman's and containerd's CNI library runs them)
 * make the container's network namespace, and the container, created with
 * that namespace's path in config.json, answers ping and TCP at the
 * address CNI gave it. Delete puts the namespace back as CNI left it (the
 * address on eth0, no qdisc, no TAP), CNI DEL then succeeds, and nothing is
 * left. Hostile paths are refused with messages naming them; cgroup limits
 * land on the VMM's cgroup and the cgroup goes with delete.
 *
 * Everything runs in a network namespace of the test's own (the CNI bridge
 * is made there, and podman's), plus the namespaces it makes with `ip netns
 * add`. podman 4.3 here uses netavark, not CNI: its default network is
 * tested too, since its namespace reaches smartvm-oci the same way. */
#include "svtest.h"
#include "ocifixture.h"
#include "leftovers.h"

#include "util/file.h"
#include "util/spawn.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CNI_DIR "/usr/lib/cni"
#define CREATE_TIMEOUT_MS 240000
#define ANSWER_TIMEOUT_MS 120000
#define TCP_PORT 8080

static svo_env env;
static char ns_name[64], ns_path[128], cni_conf[512], cni_ip[32];

/* Runs argv (no shell); returns its exit code, output in *out (may be NULL). */
static int run(const char *const *argv, const char *const *envp, const char *in, char **out, char **err)
{
	int code = -1;
	char *o = NULL, *e = NULL;
	if (envp) {
		/* sv_run inherits the environment: CNI's goes through a wrapper env. */
		const char *full[32];
		size_t n = 0;
		full[n++] = "/usr/bin/env";
		for (size_t i = 0; envp[i] && n < 20; i++)
			full[n++] = envp[i];
		for (size_t i = 0; argv[i] && n < 31; i++)
			full[n++] = argv[i];
		full[n] = NULL;
		assert_int_equal(sv_run(full, in, 60000, &code, &o, &e), 0);
	} else {
		assert_int_equal(sv_run(argv, in, 60000, &code, &o, &e), 0);
	}
	if (out)
		*out = o ? o : strdup("");
	else
		free(o);
	if (err)
		*err = e ? e : strdup("");
	else
		free(e);
	return code;
}

static void run_ok(const char *const *argv)
{
	char *err;
	int code = run(argv, NULL, NULL, NULL, &err);
	if (code != 0)
		fail_msg("%s %s: exit %d: %s", argv[0], argv[1], code, err);
	free(err);
}

/* `ip -n NS ARGS...` output. */
static char *ip_in_ns(const char *a1, const char *a2, const char *a3, const char *a4)
{
	const char *argv[] = {"/usr/sbin/ip", "-n", ns_name, a1, a2, a3, a4, NULL};
	char *out;
	assert_int_equal(run(argv, NULL, NULL, &out, NULL), 0);
	return out;
}

static char *qdiscs(void)
{
	const char *argv[] = {"/usr/sbin/tc", "-n", ns_name, "qdisc", "show", NULL};
	char *out;
	assert_int_equal(run(argv, NULL, NULL, &out, NULL), 0);
	return out;
}

/* CNI ADD or DEL of the bridge plugin for container id, in ns_path. */
static int cni(const char *command, char **out, char **err)
{
	char cmd[64], netns[200];
	snprintf(cmd, sizeof(cmd), "CNI_COMMAND=%s", command);
	snprintf(netns, sizeof(netns), "CNI_NETNS=%s", ns_path);
	const char *envp[] = {cmd, "CNI_CONTAINERID=ocicni", netns, "CNI_IFNAME=eth0", "CNI_PATH=" CNI_DIR,
			      NULL};
	const char *argv[] = {CNI_DIR "/bridge", NULL};
	return run(argv, envp, cni_conf, out, err);
}

static void netns_add(const char *name)
{
	const char *argv[] = {"/usr/sbin/ip", "netns", "add", name, NULL};
	run_ok(argv);
}

static void netns_del(const char *name)
{
	const char *argv[] = {"/usr/sbin/ip", "netns", "del", name, NULL};
	run(argv, NULL, NULL, NULL, NULL);
}

static int setup(void **state)
{
	(void)state;
	svo_env_init(&env);
	svo_need_image(&env);
	struct stat st;
	if (stat(CNI_DIR "/bridge", &st) != 0 || stat(CNI_DIR "/host-local", &st) != 0)
		svt_skip(SVT_NEED_PACKAGE,
			 "no CNI plugins in " CNI_DIR " (package containernetworking-plugins)");
	snprintf(ns_name, sizeof(ns_name), "svocicni%d", (int)getpid());
	snprintf(ns_path, sizeof(ns_path), "/var/run/netns/%s", ns_name);
	snprintf(
	    cni_conf, sizeof(cni_conf),
	    "{\"cniVersion\":\"1.0.0\",\"name\":\"svocicni\",\"type\":\"bridge\",\"bridge\":\"svocibr0\","
	    "\"isGateway\":true,\"ipMasq\":false,\"ipam\":{\"type\":\"host-local\","
	    "\"subnet\":\"10.231.7.0/24\",\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dataDir\":\"%s/ipam\"}}",
	    env.dir);
	return 0;
}

static void netns_del(const char *name);

/* What a failed case may have left of the test's own (its namespace, its
 * cgroups), removed before the leftover check that fails the program. */
static void remove_own_cgroups(void)
{
	static const char *const ctl[] = {"memory", "cpu", "pids"};
	for (size_t i = 0; i < 3; i++) {
		char dir[128], leaf[160];
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s/svocitest%d", ctl[i], (int)getpid());
		snprintf(leaf, sizeof(leaf), "%s/c1", dir);
		rmdir(leaf);
		rmdir(dir);
	}
}

static int teardown(void **state)
{
	(void)state;
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
	netns_del(ns_name);
	remove_own_cgroups();
	svo_env_done(&env);
	return 0;
}

/* A namespace with CNI's eth0 in it; cni_ip is its address. */
static void cni_add(void)
{
	netns_add(ns_name);
	char *out, *err;
	int code = cni("ADD", &out, &err);
	if (code != 0)
		fail_msg("CNI ADD: exit %d: %s %s", code, out, err);
	json_t *r = json_loads(out, 0, NULL);
	assert_non_null(r);
	const char *addr =
	    json_string_value(json_object_get(json_array_get(json_object_get(r, "ips"), 0), "address"));
	assert_non_null(addr);
	snprintf(cni_ip, sizeof(cni_ip), "%.*s", (int)strcspn(addr, "/"), addr);
	json_decref(r);
	free(out);
	free(err);
}

static void cni_del(void)
{
	char *out, *err;
	int code = cni("DEL", &out, &err);
	if (code != 0)
		fail_msg("CNI DEL: exit %d: %s %s", code, out, err);
	free(out);
	free(err);
	netns_del(ns_name);
}

static void write_config(const char *args_json, const char *netns, const char *linux_extra)
{
	char *extra = NULL;
	assert_true(asprintf(&extra, ",\"linux\":{\"namespaces\":[{\"type\":\"pid\"}%s%s%s]%s}",
			     netns ? ",{\"type\":\"network\",\"path\":\"" : "", netns ? netns : "",
			     netns ? "\"}" : "", linux_extra ? linux_extra : "") > 0);
	svo_write_config(&env, args_json, extra);
	free(extra);
}

/* create ID with the given global flags (may be NULL); the container's
 * stdio goes to /dev/null. Returns create's exit code, its stderr in *err. */
static int create(const char *id, const char *flag, char **err)
{
	char *err_path = NULL;
	assert_true(asprintf(&err_path, "%s/create-%s.err", env.dir, id) > 0);
	int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	const char *argv[20] = {svo_program(), "--root", env.root,  "--data-dir", env.data,
				"--vmm",       "qemu",	 "--accel", "tcg"};
	size_t n = 9;
	if (flag)
		argv[n++] = flag;
	const char *tail[] = {"create", "--bundle", env.bundle, id, NULL};
	for (size_t i = 0; tail[i]; i++)
		argv[n++] = tail[i];
	argv[n] = NULL;
	sv_spawn_opts o = {.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = fd};
	pid_t pid;
	int status = -1;
	assert_int_equal(sv_spawn(&o, &pid, NULL), 0);
	close(fd);
	assert_int_equal(sv_reap(pid, CREATE_TIMEOUT_MS, &status), 0);
	assert_int_equal(sv_read_file(err_path, 1 << 20, err, NULL), 0);
	free(err_path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void create_ok(const char *id, const char *flag)
{
	char *err;
	int code = create(id, flag, &err);
	if (code != 0)
		fail_msg("create %s: exit %d: %s", id, code, err);
	free(err);
}

static void oci_ok(const char *cmd, const char *a1, const char *a2)
{
	const char *args[] = {cmd, a1, a2, NULL};
	char *out, *err;
	int code = svo_run(&env, args, &out, &err);
	if (code != 0)
		fail_msg("smartvm-oci %s %s: exit %d: %s", cmd, a1, code, err);
	free(out);
	free(err);
}

/* delete --force ID, reaping the container process as it dies, as the
 * engine (conmon, a shim) would: its cgroup goes only once it is reaped. */
static void delete_reaping(const char *id)
{
	const char *argv[] = {svo_program(), "--root", env.root, "delete", "--force", id, NULL};
	sv_spawn_opts o = {.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	pid_t pid, got;
	int status = -1;
	assert_int_equal(sv_spawn(&o, &pid, NULL), 0);
	alarm(120);
	while ((got = waitpid(-1, &status, 0)) != pid)
		assert_true(got > 0);
	alarm(0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	char *dir = NULL;
	struct stat st;
	assert_true(asprintf(&dir, "%s/%s", env.root, id) > 0);
	assert_int_equal(lstat(dir, &st), -1); /* its state dir is gone */
	free(dir);
}

static bool ping_once(const char *ip)
{
	const char *argv[] = {"/bin/busybox", "ping", "-c", "1", "-W", "2", ip, NULL};
	return run(argv, NULL, NULL, NULL, NULL) == 0;
}

/* Connects to ip:port and reads what the guest's process says. */
static char *tcp_read(const char *ip, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return NULL;
	}
	char buf[256];
	size_t n = 0;
	long long until = sv_now_ms() + 30000;
	while (n < sizeof(buf) - 1 && sv_now_ms() < until) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 1000) != 1)
			continue;
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return strdup(buf);
}

static void test_guest_answers_at_the_cni_address_and_delete_restores_the_namespace(void **state)
{
	(void)state;
	cni_add();
	char *before = ip_in_ns("-4", "addr", "show", "eth0");
	svt_assert_contains(before, cni_ip);
	char *cmd = NULL;
	assert_true(
	    asprintf(&cmd, "[\"sh\",\"-c\",\"echo cni-ok | busybox nc -l -p %d; sleep 600\"]", TCP_PORT) > 0);
	write_config(cmd, ns_path, NULL);
	create_ok("n1", NULL);
	oci_ok("start", "n1", NULL);

	/* While it runs: eth0 redirects to the VM's TAP and owns no address. */
	char *q = qdiscs(), *addr = ip_in_ns("-4", "addr", "show", "eth0"),
	     *links = ip_in_ns("-o", "link", "show", NULL);
	svt_assert_contains(q, "qdisc ingress ffff: dev eth0");
	svt_assert_contains(links, ": svt");
	if (strstr(addr, cni_ip))
		fail_msg("eth0 still holds the guest's address: %s", addr);

	bool answered = false;
	for (long long until = sv_now_ms() + ANSWER_TIMEOUT_MS; !answered && sv_now_ms() < until;)
		answered = ping_once(cni_ip);
	assert_true(answered);
	char *got = NULL;
	for (long long until = sv_now_ms() + ANSWER_TIMEOUT_MS; !got && sv_now_ms() < until;)
		if (!(got = tcp_read(cni_ip, TCP_PORT)))
			usleep(500000);
	assert_non_null(got);
	assert_string_equal(got, "cni-ok\n");

	delete_reaping("n1");
	assert_int_equal(svt_dir_entries(env.root), 0);
	svt_assert_no_processes_with(env.dir);
	/* As CNI left it: the address and default route back, no qdisc, no TAP. */
	char *after = ip_in_ns("-4", "addr", "show", "eth0"), *route = ip_in_ns("-4", "route", "show", NULL),
	     *q2 = qdiscs(), *links2 = ip_in_ns("-o", "link", "show", NULL);
	svt_assert_contains(after, cni_ip);
	svt_assert_contains(route, "default via 10.231.7.1 dev eth0");
	if (strstr(q2, "ingress") || strstr(links2, ": svt"))
		fail_msg("left behind: %s %s", q2, links2);
	cni_del();
	free(before);
	free(cmd);
	free(q);
	free(addr);
	free(links);
	free(got);
	free(after);
	free(route);
	free(q2);
	free(links2);
}

/* A Kubernetes pod: the engine creates the sandbox ("pause") container in
 * the pod's namespace first, then the app container in the same one. The
 * sandbox's VM leaves the namespace alone; the app's takes its interface. */
static void test_a_pod_sandbox_leaves_the_network_to_the_pods_container(void **state)
{
	(void)state;
	cni_add();
	char *extra = NULL;
	assert_true(asprintf(&extra,
			     ",\"annotations\":{\"io.kubernetes.cri.container-type\":\"sandbox\"},"
			     "\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"%s\"}]}",
			     ns_path) > 0);
	svo_write_config(&env, "[\"sleep\",\"600\"]", extra);
	create_ok("pause", NULL);
	oci_ok("start", "pause", NULL);
	char *q = qdiscs(), *addr = ip_in_ns("-4", "addr", "show", "eth0");
	if (strstr(q, "ingress"))
		fail_msg("the sandbox container took the pod's interface: %s", q);
	svt_assert_contains(addr, cni_ip);

	write_config("[\"sleep\",\"600\"]", ns_path, NULL);
	create_ok("app", NULL);
	oci_ok("start", "app", NULL);
	bool answered = false;
	for (long long until = sv_now_ms() + ANSWER_TIMEOUT_MS; !answered && sv_now_ms() < until;)
		answered = ping_once(cni_ip);
	assert_true(answered);

	delete_reaping("app");
	delete_reaping("pause");
	assert_int_equal(svt_dir_entries(env.root), 0);
	char *q2 = qdiscs(), *after = ip_in_ns("-4", "addr", "show", "eth0");
	if (strstr(q2, "ingress"))
		fail_msg("left behind: %s", q2);
	svt_assert_contains(after, cni_ip);
	cni_del();
	free(extra);
	free(q);
	free(addr);
	free(q2);
	free(after);
}

/* Every process of the container killed at once (the runtime, the
 * supervisor, the VMM: a crash nothing of smartvm saw): the namespace stays
 * as the VM had it until delete replays the VM's ledger. */
static void test_a_crash_is_undone_by_delete(void **state)
{
	(void)state;
	cni_add();
	write_config("[\"sleep\",\"600\"]", ns_path, NULL);
	create_ok("n2", NULL);
	pid_t pids[16];
	int n = svt_scope_processes(env.dir, pids, 16);
	assert_true(n >= 3); /* container process, supervisor, QEMU */
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		assert_true(svt_wait_exited(pids[i], 10000));
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
	char *during = ip_in_ns("-4", "addr", "show", "eth0"), *q = qdiscs();
	if (strstr(during, cni_ip) || !strstr(q, "ingress"))
		fail_msg("expected the VM's redirect still in place: %s %s", during, q);
	delete_reaping("n2");
	assert_int_equal(svt_dir_entries(env.root), 0);
	char *after = ip_in_ns("-4", "addr", "show", "eth0"), *q2 = qdiscs(),
	     *links = ip_in_ns("-o", "link", "show", NULL);
	svt_assert_contains(after, cni_ip);
	if (strstr(q2, "ingress") || strstr(links, ": svt"))
		fail_msg("left behind: %s %s", q2, links);
	svt_assert_no_processes_with(env.dir);
	cni_del();
	free(during);
	free(q);
	free(after);
	free(q2);
	free(links);
}

/* create with netns must fail with want in its message, leaving nothing. */
static void assert_refused(const char *netns, const char *linux_extra, const char *flag, const char *want)
{
	write_config("[\"true\"]", netns, linux_extra);
	char *err;
	assert_int_equal(create("bad", flag, &err), 1);
	svt_assert_contains(err, want);
	free(err);
	assert_int_equal(svt_dir_entries(env.root), 0);
	svt_assert_no_processes_with(env.dir);
}

/* A child (running as uid) in a user and network namespace of its own. */
static pid_t hold_namespace(uid_t uid)
{
	int ready[2];
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(300);
		if (uid && (setgid(uid) || setuid(uid) || prctl(PR_SET_DUMPABLE, 1) != 0))
			_exit(1);
		/* Another user's process is refused whether or not it may
		 * make namespaces; root's must have made them. */
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0 && !uid)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	char r;
	if (read(ready[0], &r, 1) != 1)
		svt_skip(SVT_NEED_HOST, "unshare(CLONE_NEWUSER | CLONE_NEWNET) as root failed here");
	close(ready[0]);
	return pid;
}

static void release(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_hostile_network_paths_are_refused(void **state)
{
	(void)state;
	char *plain = svt_write(env.dir, "plain", "x"), *link = NULL, *msg = NULL;
	assert_true(asprintf(&link, "%s/nslink", env.dir) > 0);
	netns_add(ns_name);
	assert_int_equal(symlink(ns_path, link), 0);
	assert_true(asprintf(&msg, "linux.namespaces: network path %s: not a network namespace", plain) > 0);
	assert_refused(plain, NULL, NULL, msg);
	free(msg);
	assert_true(asprintf(&msg, "linux.namespaces: network path %s: a symlink", link) > 0);
	assert_refused(link, NULL, NULL, msg);
	free(msg);
	/* The runtime's own (the test's, here): the host's, for an engine. */
	assert_refused(
	    "/proc/self/ns/net", NULL, NULL,
	    "linux.namespaces: network path /proc/self/ns/net: is the host's own network namespace");
	assert_refused("relative/ns", NULL, NULL,
		       "linux.namespaces: network path \"relative/ns\": must be an absolute path");
	/* The engine's plugin made nothing there. */
	assert_true(
	    asprintf(&msg, "linux.namespaces: network path %s: has no interface besides lo", ns_path) > 0);
	assert_refused(ns_path, NULL, NULL, msg);
	free(msg);
	/* An eth0 without an address. */
	const char *veth[] = {"/usr/sbin/ip", "-n",   ns_name, "link", "add",	"name", "eth0",
			      "type",	      "veth", "peer",  "name", "peer0", NULL};
	run_ok(veth);
	assert_true(asprintf(&msg, "linux.namespaces: network path %s: eth0: has no IPv4 address", ns_path) >
		    0);
	assert_refused(ns_path, NULL, NULL, msg);
	free(msg);
	netns_del(ns_name);
	/* A namespace in another user namespace is that namespace's owner's;
	 * one a process of another user holds is that user's. */
	pid_t holder = hold_namespace(0);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)holder);
	assert_true(
	    asprintf(&msg, "linux.namespaces: network path %s: belongs to another user namespace", path) > 0);
	assert_refused(path, NULL, NULL, msg);
	free(msg);
	release(holder);
	holder = hold_namespace(65534);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)holder);
	assert_true(asprintf(&msg, "linux.namespaces: network path %s", path) > 0);
	assert_refused(path, NULL, NULL, msg);
	assert_refused(path, NULL, NULL, "uid 65534");
	free(msg);
	release(holder);
	assert_refused(ns_path, NULL, NULL, "No such file or directory");
	assert_refused(NULL, ",\"resources\":{\"memory\":{\"limit\":\"1G\"}}", NULL,
		       "config.json: linux.resources.memory.limit: expected an integer");
	assert_refused(NULL, ",\"cgroupsPath\":\"/a/../b\"", NULL,
		       "config.json: linux.cgroupsPath: \"a/../b\": a component is empty, \".\", \"..\"");
	assert_refused(NULL, ",\"cgroupsPath\":\"/a/b\"", "--systemd-cgroup",
		       "config.json: linux.cgroupsPath: \"/a/b\" is not slice:prefix:name");
	free(plain);
	free(link);
}

/* The pids in dir/cgroup.procs include a QEMU (the VMM). */
static bool holds_vmm(const char *dir)
{
	char *procs = NULL, *path = NULL;
	assert_true(asprintf(&path, "%s/cgroup.procs", dir) > 0);
	bool found = false;
	if (sv_read_file(path, 1 << 20, &procs, NULL) == 0) {
		for (char *save = NULL, *l = strtok_r(procs, "\n", &save); l && !found;
		     l = strtok_r(NULL, "\n", &save)) {
			char comm_path[64], *comm = NULL;
			snprintf(comm_path, sizeof(comm_path), "/proc/%s/comm", l);
			if (sv_read_file(comm_path, 256, &comm, NULL) == 0)
				found = !strncmp(comm, "qemu-system", 11);
			free(comm);
		}
	}
	free(procs);
	free(path);
	return found;
}

static char *read_text(const char *dir, const char *file)
{
	char *path = NULL, *text = NULL;
	assert_true(asprintf(&path, "%s/%s", dir, file) > 0);
	assert_int_equal(sv_read_file(path, 4096, &text, NULL), 0);
	free(path);
	return text;
}

static void test_cgroup_limits_land_on_the_vmm_and_go_with_delete(void **state)
{
	(void)state;
	struct stat st;
	if (stat("/sys/fs/cgroup/memory/tasks", &st) != 0)
		svt_skip(SVT_NEED_HOST,
			 "no cgroup v1 memory controller at /sys/fs/cgroup/memory on this host");
	char top[64], extra[512], mem[128], pids[128], cpu[128];
	snprintf(top, sizeof(top), "/sys/fs/cgroup/memory/svocitest%d", (int)getpid());
	snprintf(extra, sizeof(extra),
		 ",\"cgroupsPath\":\"/svocitest%d/c1\",\"resources\":{\"memory\":{\"limit\":1073741824},"
		 "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000},\"pids\":{\"limit\":400}}",
		 (int)getpid());
	snprintf(mem, sizeof(mem), "%s/c1", top);
	snprintf(pids, sizeof(pids), "/sys/fs/cgroup/pids/svocitest%d/c1", (int)getpid());
	snprintf(cpu, sizeof(cpu), "/sys/fs/cgroup/cpu/svocitest%d/c1", (int)getpid());
	write_config("[\"sleep\",\"600\"]", NULL, extra);
	create_ok("g1", NULL);
	assert_true(holds_vmm(mem));
	assert_true(holds_vmm(pids));
	assert_true(holds_vmm(cpu));
	char *limit = read_text(mem, "memory.limit_in_bytes"), *pmax = read_text(pids, "pids.max"),
	     *quota = read_text(cpu, "cpu.cfs_quota_us"), *shares = read_text(cpu, "cpu.shares");
	assert_string_equal(limit, "1073741824\n");
	assert_string_equal(pmax, "400\n");
	assert_string_equal(quota, "50000\n");
	assert_string_equal(shares, "512\n");
	delete_reaping("g1");
	assert_int_equal(stat(top, &st), -1);
	assert_int_equal(svt_dir_entries(env.root), 0);

	/* systemd's form: slice:prefix:name, a-b.slice under a.slice. */
	snprintf(
	    extra, sizeof(extra),
	    ",\"cgroupsPath\":\"svoci-t%d.slice:svoci:g2\",\"resources\":{\"memory\":{\"limit\":805306368}}",
	    (int)getpid());
	write_config("[\"sleep\",\"600\"]", NULL, extra);
	create_ok("g2", "--systemd-cgroup");
	snprintf(mem, sizeof(mem), "/sys/fs/cgroup/memory/svoci.slice/svoci-t%d.slice/svoci-g2.scope",
		 (int)getpid());
	assert_true(holds_vmm(mem));
	char *limit2 = read_text(mem, "memory.limit_in_bytes");
	assert_string_equal(limit2, "805306368\n");
	delete_reaping("g2");
	assert_int_equal(svt_dir_entries(env.root), 0);
	assert_int_equal(stat("/sys/fs/cgroup/memory/svoci.slice", &st), -1);
	free(limit);
	free(pmax);
	free(quota);
	free(shares);
	free(limit2);
}

/* podman (Debian's 4.3, whose network backend here is netavark, not CNI)
 * with its default network: its namespace path in config.json is joined
 * the same way. Run in this test's own network namespace, so podman's
 * bridge and firewall rules are made there. */
static int podman(const char *const *args, char **out)
{
	char *store = NULL, *run_root = NULL, *tmp = NULL, *data_flag = NULL, *err = NULL;
	assert_true(asprintf(&store, "%s/store", env.dir) > 0 && asprintf(&run_root, "%s/run", env.dir) > 0 &&
		    asprintf(&tmp, "%s/podman-tmp", env.dir) > 0 &&
		    asprintf(&data_flag, "data-dir=%s", env.data) > 0);
	const char *argv[48] = {
	    "podman",	"--root",	    store,	   "--runroot",	       run_root,   "--tmpdir",
	    tmp,	"--storage-driver", "vfs",	   "--cgroup-manager", "cgroupfs", "--events-backend",
	    "none",	"--runtime",	    svo_program(), "--runtime-flag",   data_flag,  "--runtime-flag",
	    "vmm=qemu", "--runtime-flag",   "accel=tcg"};
	size_t n = 21;
	for (size_t i = 0; args[i] && n < 47; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int code = -1;
	char *o = NULL;
	assert_int_equal(sv_run(argv, NULL, 300000, &code, &o, &err), 0);
	if (code != 0)
		fail_msg("podman %s: exit %d: %s", args[0], code, err ? err : "");
	if (out)
		*out = o ? o : strdup("");
	else
		free(o);
	free(err);
	free(store);
	free(run_root);
	free(tmp);
	free(data_flag);
	return code;
}

static void test_podman_default_network_reaches_the_guest(void **state)
{
	(void)state;
	if (access("/usr/bin/podman", X_OK) != 0)
		svt_skip(SVT_NEED_PACKAGE, "no podman (a `make deps` package)");
	char *tar = NULL, *out = NULL;
	assert_true(asprintf(&tar, "%s/image.tar", env.dir) > 0);
	const char *tar_argv[] = {"/usr/bin/tar", "-C", env.rootfs, "-cf", tar, ".", NULL};
	run_ok(tar_argv);
	const char *import[] = {"import", tar, "localhost/smartvm-oci-cni:1", NULL};
	podman(import, NULL);
	const char *run_args[] = {"run",
				  "-d",
				  "--ulimit",
				  "nofile=1024:1024",
				  "--ulimit",
				  "nproc=1024:1024",
				  "localhost/smartvm-oci-cni:1",
				  "sh",
				  "-c",
				  "echo podman-ok | busybox nc -l -p 8080; sleep 600",
				  NULL};
	podman(run_args, &out);
	char id[80];
	snprintf(id, sizeof(id), "%.*s", (int)strcspn(out, "\n"), out);
	free(out);
	const char *inspect[] = {"inspect", "-f", "{{.NetworkSettings.IPAddress}}", id, NULL};
	podman(inspect, &out);
	char ip[32];
	snprintf(ip, sizeof(ip), "%.*s", (int)strcspn(out, "\n"), out);
	free(out);
	assert_true(ip[0] != '\0');
	bool answered = false;
	for (long long until = sv_now_ms() + ANSWER_TIMEOUT_MS; !answered && sv_now_ms() < until;)
		answered = ping_once(ip);
	assert_true(answered);
	char *got = NULL;
	for (long long until = sv_now_ms() + ANSWER_TIMEOUT_MS; !got && sv_now_ms() < until;)
		if (!(got = tcp_read(ip, TCP_PORT)))
			usleep(500000);
	assert_non_null(got);
	assert_string_equal(got, "podman-ok\n");
	const char *rm[] = {"rm", "-f", "-t", "0", id, NULL};
	podman(rm, NULL);
	const char *ps[] = {"ps", "-a", "-q", NULL};
	podman(ps, &out);
	assert_string_equal(out, "");
	free(out);
	long long until = sv_now_ms() + 30000;
	while (svt_count_processes_with(env.dir) > 0 && sv_now_ms() < until)
		usleep(200000);
	svt_assert_no_processes_with(env.dir);
	/* smartvm-oci's default root (podman's cleanup passes no --root). */
	char state_dir[160];
	struct stat st;
	snprintf(state_dir, sizeof(state_dir), "/run/smartvm-oci/%s", id);
	until = sv_now_ms() + 30000;
	while (stat(state_dir, &st) == 0 && sv_now_ms() < until)
		usleep(200000);
	assert_int_equal(stat(state_dir, &st), -1);
	free(got);
	free(tar);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hostile_network_paths_are_refused),
	    cmocka_unit_test(test_guest_answers_at_the_cni_address_and_delete_restores_the_namespace),
	    cmocka_unit_test(test_a_crash_is_undone_by_delete),
	    cmocka_unit_test(test_a_pod_sandbox_leaves_the_network_to_the_pods_container),
	    cmocka_unit_test(test_cgroup_limits_land_on_the_vmm_and_go_with_delete),
	    cmocka_unit_test(test_podman_default_network_reaches_the_guest),
	};
	if (!svt_private_netns())
		return svt_skip_program(SVT_NEED_ROOT, "CNI namespaces and VMs need root");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return svt_skip_program(SVT_NEED_HOST, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	return svt_run_group(tests, setup, teardown);
}
