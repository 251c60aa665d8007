/* Real guests on smartvm's own networking (bridge, TAPs, leases, nftables),
 * for the real-guest network tests: the test process's fresh namespace H is
 * the host; an "outside" namespace O sits behind the veth vx0 (H,
 * RVN_HOST_OUT) / vo0 (O, RVN_OUTSIDE), H's default route pointing there.
 * Guests run the agent (smartvm.exec=agent): commands go over virtio-serial,
 * never over the network under test. Include after svtest.h,
 * realvm_fixture.h, test_net_fixture.h and test_net_probe.h. */
#ifndef SVTEST_REALVM_NET_H
#define SVTEST_REALVM_NET_H

#include <smartvm/agent.h>

#define RVN_OUTSIDE "198.51.100.2"
#define RVN_HOST_OUT "198.51.100.1"
#define RVN_AGENT_WAIT_MS 180000
#define RVN_CMD_MS 60000

/* O (an fd) with its veth, addresses and H's default route. */
SVN_UNUSED static int rvn_outside_new(void)
{
	int outside = svn_netns_new();
	svn_veth_add("vx0", "vo0", outside);
	ns_cfg host = {RVN_HOST_OUT, 24, "vx0", RVN_OUTSIDE, NULL, NULL};
	assert_int_equal(configure(&host), 0);
	ns_cfg out = {RVN_OUTSIDE, 24, "vo0", NULL, NULL, NULL};
	assert_int_equal(svn_run_in(outside, configure, &out, 5000), 0);
	return outside;
}

/* Creates and starts VM id with one interface on the manager's bridge, net
 * options no (may be NULL) and the agent, without waiting for it. */
SVN_UNUSED static sv_vm *rvn_start(svr_env *env, const char *id, const sv_vm_net_options *no)
{
	svq_config c;
	svr_config(&c, env);
	c.nets[0] = (sv_net_iface_config){.iface_id = "eth0"};
	c.cfg.network_interfaces = c.nets;
	c.cfg.n_network_interfaces = 1;
	c.cfg.net = no;
	c.cfg.id = id;
	sv_vm *vm = NULL;
	if (sv_manager_create_vm(&vm, env->mgr, &c.cfg) != 0)
		fail_msg("create %s: %s", id, sv_last_error());
	if (sv_vm_set_agent_exec(vm, true) != 0 || sv_vm_start(vm) != 0)
		fail_msg("start %s: %s", id, sv_last_error());
	return vm;
}

SVN_UNUSED static void rvn_wait_agent(sv_vm *vm)
{
	if (sv_vm_agent_wait(vm, RVN_AGENT_WAIT_MS, NULL) != 0)
		fail_msg("agent of %s: %s", sv_vm_id(vm), sv_last_error());
}

/* A command's stdout and stderr, interleaved as they came. */
typedef struct {
	char *text;
	size_t len;
} rvn_output;

SVN_UNUSED static int rvn_collect(void *ctx, int stream, const void *data, size_t len)
{
	(void)stream;
	rvn_output *o = ctx;
	char *grown = realloc(o->text, o->len + len + 1);
	if (!grown)
		return -1;
	memcpy(grown + o->len, data, len);
	o->len += len;
	grown[o->len] = '\0';
	o->text = grown;
	return 0;
}

/* Runs `sh -c script` in the guest (its shell, not the host's) to the end;
 * returns its output (malloc'd, "" if none) and sets *status. */
SVN_UNUSED static char *rvn_sh(sv_vm *vm, const char *script, int *status)
{
	rvn_output o = {calloc(1, 1), 0};
	sv_exec_options eo = SV_EXEC_OPTIONS_INIT;
	eo.on_output = rvn_collect;
	eo.ctx = &o;
	const char *argv[] = {"sh", "-c", script, NULL};
	int st = -1;
	if (sv_vm_exec(vm, argv, &eo, RVN_CMD_MS, &st) != 0)
		fail_msg("%s: sh -c '%s': %s", sv_vm_id(vm), script, sv_last_error());
	if (status)
		*status = st;
	return o.text;
}

/* A command left running in the guest (a server), its output collected. */
typedef struct {
	sv_exec *exec;
	rvn_output out;
} rvn_bg;

SVN_UNUSED static void rvn_bg_start(rvn_bg *b, sv_vm *vm, const char *const *argv)
{
	memset(b, 0, sizeof(*b));
	b->out.text = calloc(1, 1);
	sv_exec_options eo = SV_EXEC_OPTIONS_INIT;
	eo.on_output = rvn_collect;
	eo.ctx = &b->out;
	if (sv_exec_start(&b->exec, vm, argv, &eo) != 0)
		fail_msg("%s: starting %s: %s", sv_vm_id(vm), argv[0], sv_last_error());
}

/* Delivers what arrived so far; true once the command ended. */
SVN_UNUSED static bool rvn_bg_poll(rvn_bg *b, int timeout_ms)
{
	int status = 0;
	int rc = sv_exec_wait(b->exec, timeout_ms, &status);
	if (rc != 0 && rc != SV_ETIMEOUT)
		fail_msg("waiting for a guest command: %s", sv_last_error());
	return rc == 0;
}

/* Kills the command (if it still runs) and frees it. */
SVN_UNUSED static void rvn_bg_end(rvn_bg *b)
{
	sv_exec_free(b->exec);
	free(b->out.text);
	memset(b, 0, sizeof(*b));
}

/* In the caller's namespace: connects to ip:port, sends request (may be
 * NULL) and returns everything said until the peer closed (malloc'd), or
 * "error: <why>". */
SVN_UNUSED static char *rvn_tcp_talk(const char *ip, uint16_t port, const char *request)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, ip, &sa.sin_addr);
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	char buf[512] = "";
	size_t len = 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(buf, sizeof(buf), "error: %s", strerror(errno));
	} else {
		if (request && write(fd, request, strlen(request)) < 0) {
		}
		ssize_t n;
		while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
			len += (size_t)n;
		buf[len] = '\0';
	}
	close(fd);
	return strdup(buf);
}

/* What the scope leaves (see leftovers.h), failing the test if anything. */
SVN_UNUSED static void rvn_assert_nothing_left(const svr_env *env)
{
	static const char *const keep[] = {"vx0", NULL};
	svt_scope s = {.root = env->runtime_dir,
		       .runtime_dir = env->runtime_dir,
		       .data_dir = env->data_dir,
		       .netns = true,
		       .net_down = true,
		       .keep_links = keep};
	char *left = svt_leftovers_settled(&s, 10000);
	if (*left)
		fail_msg("left behind:\n%s", left);
	free(left);
}

#endif
